package fault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// FillFile is the file FillDisk writes in a victim's data dir.
const FillFile = harness.DataDir + "/fill"

// DiskFull is the refusal that proves a data file system is full: the
// kernel's ENOSPC, as dd and etcd print it.
var DiskFull = record.Refusal{Reason: "no space left on device (ENOSPC)", Says: []string{"No space left on device", "no space left on device"}}

// Named targets the member called name: a drill that gave that member
// something of its own (a sized data volume) picks it by name.
func Named(name string) Target {
	return target{"member " + name, 1, "", func(_ context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		m := c.Member(name)
		if m == nil {
			return nil, fmt.Errorf("no member %s", name)
		}
		return []*harness.Member{m}, nil
	}}
}

// FillDisk fills the file system under each victim's data dir with zeros
// (busybox dd, inside the member, as an operator's runaway log file
// would) until the kernel answers ENOSPC. This is a real full disk, not
// etcd's NOSPACE quota alarm. The victims need a sized data volume
// (harness.WithDataVolume): an ordinary one is the Docker host's disk.
// Undo removes the fill file, from the member's container when it still
// runs, else from a one-off container with its data volume, and starts
// the member again when it had stopped.
func FillDisk(t Target) Fault { return fillDisk{t} }

type fillDisk struct{ t Target }

func (f fillDisk) Name() string            { return "fill-disk-" + targetSlug(f.t) }
func (f fillDisk) Target() Target          { return f.t }
func (f fillDisk) Available(env Env) error { return f.t.Available(env) }

func (f fillDisk) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := f.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	for _, m := range ms {
		if m.DataVolumeBytes() == 0 {
			return Injection{}, fmt.Errorf("fill the disk of %s: its data dir is not on a sized volume, it would fill the Docker host's disk", m.Name())
		}
	}
	var full time.Time
	for _, m := range ms {
		_, err := log.Refused(record.PhaseFault, "fill "+m.Name()+"'s data file system until ENOSPC", m.Name(), DiskFull, func() (record.Action, error) {
			return m.Exec(ctx, "dd", "if=/dev/zero", "of="+FillFile, "bs=1M")
		})
		if err != nil {
			return Injection{Victims: ms, Undo: freeDisk(ms, log)}, err
		}
		full = time.Now()
		// From a one-off container with the data volume: etcd may have
		// died of the full disk already, and its container with it.
		if err := log.Do(record.PhaseFault, m.Name()+"'s data file system is full", m.Name(), func() (record.Action, error) {
			return m.WithData(ctx, "df", "-k", harness.DataDir)
		}); err != nil {
			return Injection{Victims: ms, Undo: freeDisk(ms, log)}, err
		}
	}
	// The disk is full from the moment dd was refused; whether that costs
	// availability is what the drill observes.
	return Injection{Victims: ms, Undo: freeDisk(ms, log), At: full}, nil
}

// freeDisk removes the fill file as an operator would: inside etcd's
// container while it runs, otherwise with the data volume mounted in a
// one-off container; then starts etcd again where it had stopped.
func freeDisk(ms []*harness.Member, log *record.Log) Undo {
	return func(ctx context.Context) error {
		var errs []error
		for _, m := range ms {
			running := m.Running(ctx)
			err := log.Do(record.PhaseRecovery, "free the space on "+m.Name()+": remove the fill file", m.Name(), func() (record.Action, error) {
				if running {
					a, err := m.Exec(ctx, "rm", "-f", FillFile)
					a.Command = fmt.Sprintf("docker exec %s %s", m.ContainerName(), a.Command)
					return a, err
				}
				return m.WithData(ctx, "rm", "-f", FillFile)
			})
			if err == nil && !running {
				err = log.Do(record.PhaseRecovery, "start etcd on "+m.Name()+" again", m.Name(), func() (record.Action, error) {
					return record.Action{Command: "docker start " + m.ContainerName()}, m.Start(ctx)
				})
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
}
