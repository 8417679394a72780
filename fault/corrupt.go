package fault

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/moby/moby/client"
)

// Paths of the files a corruption damages, inside a member's data dir.
const (
	DBPath  = harness.DataDir + "/member/snap/db"
	WALDir  = harness.DataDir + "/member/wal"
	walGarb = 8 // bytes of the last WAL record garbled
)

// Corruption damages one file of a stopped member: a byte of a stored
// value in its bbolt file (CorruptDB), or the last record of its last WAL
// segment (CorruptWAL). The member is stopped cleanly first (`docker
// stop`), the file is copied out, damaged on the host and copied back,
// and the member is left stopped, for the drill to start with etcd's
// corruption checks and see what etcd makes of it. There is no Undo: the
// way back is to replace the member. What was changed is in the record
// only: a Corruption keeps no state, so one value serves drills that run
// at once.
type Corruption struct {
	t   Target
	wal bool
}

// CorruptDB flips one byte inside the newest value of a live key in the
// "key" bucket of the target's bbolt file, so that the file stays a
// valid database (bbolt has no page checksums) and the member serves a
// value its peers do not have.
func CorruptDB(t Target) *Corruption { return &Corruption{t: t} }

// CorruptWAL garbles bytes in the middle of the last record of the
// target's last WAL segment: the record's CRC no longer matches.
func CorruptWAL(t Target) *Corruption { return &Corruption{t: t, wal: true} }

func (c *Corruption) Name() string {
	if c.wal {
		return "corrupt-wal-" + c.t.Name()
	}
	return "corrupt-db-" + c.t.Name()
}

func (c *Corruption) Target() Target { return c.t }

// Available needs 3 members: the damaged one is replaced from a healthy
// quorum of the others.
func (c *Corruption) Available(env Env) error {
	if env.Members < 3 {
		return fmt.Errorf("%s of a %d-member cluster: no healthy quorum would remain to replace it from", c.t.Name(), env.Members)
	}
	return c.t.Available(env)
}

// Inject stops the target cleanly, damages its file and leaves it
// stopped. A stopped follower costs no availability, so no outage
// begins.
func (c *Corruption) Inject(ctx context.Context, cl *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := c.t.Pick(ctx, cl)
	if err != nil {
		return Injection{}, err
	}
	if len(ms) != 1 {
		return Injection{Victims: ms}, fmt.Errorf("%s: damage one member at a time, not %d", c.Name(), len(ms))
	}
	m := ms[0]
	in := Injection{Victims: ms}
	if err := log.Do(record.PhaseFault, "stop etcd on "+m.Name()+" cleanly", m.Name(), func() (record.Action, error) {
		return record.Action{Command: "docker stop " + m.ContainerName() + "  # systemctl stop etcd"}, m.Stop(ctx)
	}); err != nil {
		return in, err
	}
	file := DBPath
	if c.wal {
		if err := log.Do(record.PhaseFault, "find "+m.Name()+"'s last WAL segment", m.Name(), func() (record.Action, error) {
			a := record.Action{Command: "ls " + WALDir}
			names, err := walSegments(ctx, cl, m)
			a.Output = strings.Join(names, "\n")
			if err == nil && len(names) == 0 {
				err = fmt.Errorf("member %s: no WAL segment in %s", m.Name(), WALDir)
			}
			if err == nil {
				file = WALDir + "/" + names[len(names)-1]
			}
			return a, err
		}); err != nil {
			return in, err
		}
	}
	local := m.Name() + "-" + path.Base(file)
	var data []byte
	if err := log.Do(record.PhaseFault, "copy "+path.Base(file)+" out of "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %s:%s %s", m.ContainerName(), file, local)}
		data, err = m.CopyOut(ctx, file)
		a.Output = fmt.Sprintf("%d bytes", len(data))
		return a, err
	}); err != nil {
		return in, err
	}
	if err := log.Do(record.PhaseFault, "damage "+path.Base(file)+" on the host", "", func() (record.Action, error) {
		return c.damage(data, local)
	}); err != nil {
		return in, err
	}
	err = log.Do(record.PhaseFault, "copy the damaged "+path.Base(file)+" back into "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %s %s:%s\n# check it landed:\ndocker cp %s:%s - | tar -xO | sha256sum; sha256sum %s", local, m.ContainerName(), file, m.ContainerName(), file, local)}
		if err := m.CopyIn(ctx, file, data); err != nil {
			return a, err
		}
		back, err := m.CopyOut(ctx, file)
		if err != nil {
			return a, err
		}
		a.Output = fmt.Sprintf("%x  %s:%s\n%x  %s", sha256.Sum256(back), m.ContainerName(), file, sha256.Sum256(data), local)
		if !bytes.Equal(back, data) {
			return a, fmt.Errorf("member %s: %s reads back different from the damaged copy", m.Name(), file)
		}
		return a, nil
	})
	return in, err
}

// damage changes data in place and returns the commands that do the same
// by hand on the copy called local.
func (c *Corruption) damage(data []byte, local string) (record.Action, error) {
	if c.wal {
		g, err := GarbleWALTail(data)
		if err != nil {
			return record.Action{}, err
		}
		return record.Action{
			Command: fmt.Sprintf("printf '%s' | dd of=%s bs=1 seek=%d conv=notrunc  # %d bytes in the middle of the last record's payload", escapeBytes(g.After), local, g.Offset, len(g.After)),
			Output:  g.String(),
		}, nil
	}
	f, err := FlipDBValue(data)
	if err != nil {
		return record.Action{}, err
	}
	return record.Action{
		Command: fmt.Sprintf("printf '\\x%02x' | dd of=%s bs=1 seek=%d conv=notrunc  # byte %d of the value of %q at revision %d", f.After, local, f.Offset, f.Offset-f.ValueOffset, f.Key, f.Revision),
		Output:  f.String(),
	}, nil
}

func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, x := range b {
		fmt.Fprintf(&s, "\\x%02x", x)
	}
	return s.String()
}

// walSegments lists the *.wal files of the stopped member's WAL dir, in
// name (that is sequence) order, from the tar stream Docker gives for the
// directory; the contents are read past, not kept.
func walSegments(ctx context.Context, cl *harness.Cluster, m *harness.Member) ([]string, error) {
	res, err := cl.Docker().CopyFromContainer(ctx, m.ContainerName(), client.CopyFromContainerOptions{SourcePath: WALDir})
	if err != nil {
		return nil, fmt.Errorf("member %s: list %s: %w", m.Name(), WALDir, err)
	}
	defer res.Content.Close()
	var names []string
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("member %s: list %s: %w", m.Name(), WALDir, err)
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".wal") {
			names = append(names, path.Base(h.Name))
		}
	}
	slices.Sort(names)
	return names, nil
}
