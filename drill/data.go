package drill

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/workload"
)

// LargeQuota is the --quota-backend-bytes of a drill on production-sized
// data (a data profile or the operator's snapshot): etcd's largest
// supported quota, 8 GiB, so that the data, its history and a restore fit
// as they do on a production cluster.
const LargeQuota = 8 << 30

// data resolves the data options: the profile is parsed, the operator's
// snapshot must be a readable file, the two do not go together, and the
// drill's deadline grows with the data (loading, saving, restoring and
// verifying it each pass over it once or more).
func (c *Config) data(o Options) error {
	spec, err := workload.ParseDataSpec(o.Data)
	if err != nil {
		return fmt.Errorf("%w: --data %q: %w", ErrConfig, o.Data, err)
	}
	if spec.Seed == 0 {
		spec.Seed = c.Seed
	}
	c.Data, c.FromSnapshot = spec, o.FromSnapshot
	size := int64(0)
	if !spec.IsZero() {
		size = spec.Size()
	}
	if c.FromSnapshot != "" {
		if !spec.IsZero() {
			return fmt.Errorf("%w: --data and --from-snapshot: choose one; the snapshot is the data", ErrConfig)
		}
		fi, err := os.Stat(c.FromSnapshot)
		switch {
		case err != nil:
			return fmt.Errorf("%w: --from-snapshot: %w", ErrConfig, err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%w: --from-snapshot %s: not a regular file", ErrConfig, c.FromSnapshot)
		}
		size = fi.Size()
	}
	c.DataBytes = size
	if o.Timeout == 0 && size > 0 {
		c.Timeout += 8 * time.Duration(size) * time.Second / harness.MinThroughput
	}
	return nil
}

// large reports whether the drill runs on production-sized data.
func (c Config) large() bool { return !c.Data.IsZero() || c.FromSnapshot != "" }

// Data is the loaded data profile, kept with State: the dataset whose
// every key verification checks, and its traffic while the drill runs.
type Data struct {
	Set     *workload.Dataset
	Traffic *workload.Traffic
}

// Operator is the operator's snapshot the drill started from, kept with
// State: the file as read offline, whose every key must survive.
type Operator struct {
	File *recovery.SnapshotFile
}

// StartFromSnapshot checks the operator's snapshot offline and restores
// the fresh cluster from it with a new token: the operator's keyspace,
// revision and all, is the drill's starting state. A file refused offline
// (damaged, truncated, no snapshot) ends the drill before any fault.
func StartFromSnapshot(ctx context.Context, d *Drill) error {
	path := d.Config.FromSnapshot
	var f *recovery.SnapshotFile
	err := d.Log.Do(record.PhaseSetup, "check the operator's snapshot offline", "", func() (record.Action, error) {
		a := record.Action{Command: "etcdutl snapshot status " + harness.ShellJoin([]string{path}) + " --write-out=json  # read in process, with the file's sha256 and keyspace digest"}
		var err error
		if f, err = recovery.ReadSnapshotFile(path); err != nil {
			return a, err
		}
		if err := f.Accept(false); err != nil {
			return a, err
		}
		a.Output = fmt.Sprintf("%s: %d bytes, %s; %d live keys, keyspace sha256 %s", path, f.Size, f.Status, f.KeyCount, f.Digest)
		return a, nil
	})
	if err != nil {
		return err
	}
	State[Operator](d).File = f
	snap := f.Snapshot()
	return recovery.RestoreCluster(ctx, d.Log, d.Cluster, snap, recovery.NewToken(d.Cluster.Token()))
}

// LoadData bulk-loads the drill's data profile before the load starts.
// It is setup: its time is reported apart (Metrics.Load), not in the
// drill's.
func LoadData(ctx context.Context, d *Drill) error {
	spec := d.Config.Data
	ds := workload.NewDataset(spec)
	State[Data](d).Set = ds
	return d.Log.Do(record.PhaseSetup, "load "+spec.String()+" of data", "", func() (record.Action, error) {
		cli, err := d.Cluster.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		st, err := ds.Load(ctx, cli, workload.LoadOptions{})
		l := &record.Load{Profile: spec.String(), Keys: st.Keys, Bytes: st.Bytes, Txns: st.Txns, Clients: st.Workers, Start: st.Start, End: st.End}
		d.Record.Metrics.Load = l
		a := record.Action{
			Command: fmt.Sprintf("# %d keys under %s in transactions of up to 128 puts, %d clients at once (etcdctl txn, batched)", ds.Len(), spec.Prefix(), st.Workers),
			Output:  fmt.Sprintf("%d keys, %.1f MB in %d transactions, %s: %.1f MB/s", l.Keys, float64(l.Bytes)/1e6, l.Txns, l.Duration().Round(time.Millisecond), l.MBps()),
		}
		return a, err
	})
}

// peakRSS is the process's peak resident memory in bytes, 0 when unknown.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // Linux reports KiB
}

// trafficLine is one line on what the Kubernetes-shaped traffic did.
func trafficLine(t workload.TrafficStats) string {
	watched := 0
	for _, n := range t.WatchEvents {
		watched += n
	}
	return fmt.Sprintf("%d updates, %d creates, %d deletes, %d reads (%d acknowledged, %d conflicts, %d failed, %d indeterminate); "+
		"%d leases; %d compactions (last at revision %d); %d watch events, %d watch restarts, %d out of order",
		t.Ops["update"], t.Ops["create"], t.Ops["delete"], t.Ops["get"]+t.Ops["list"],
		t.Acknowledged, t.Conflicts, t.Failed-t.Conflicts, t.Indeterminate,
		t.LeasesGranted, t.Compactions, t.CompactRevision, watched, t.WatchRestarts, t.WatchRegressions)
}
