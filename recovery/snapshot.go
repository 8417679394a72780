// Package recovery runs the operator procedures of the etcd
// disaster-recovery runbooks (shared/seeds), each step as the real
// etcdctl, etcdutl or docker action, recorded as the command an operator
// types.
package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// SnapshotPath is where drills save snapshots on a member's host.
const SnapshotPath = harness.BackupDir + "/snapshot.db"

// SnapshotStatus is what `etcdutl snapshot status -w json` prints.
type SnapshotStatus struct {
	Hash      uint32 `json:"hash"`
	Revision  int64  `json:"revision"`
	TotalKey  int    `json:"totalKey"`
	TotalSize int64  `json:"totalSize"`
	Version   string `json:"version"`
}

// Snapshot is a saved snapshot on the operator's machine and what
// `snapshot status` says of it. A large snapshot is a file (Path, Size),
// streamed wherever it goes; a small one made in memory (a damaged copy)
// may be Data instead, with Path "".
type Snapshot struct {
	Path   string // the file on the operator's machine
	Size   int64  // its size in bytes
	Data   []byte // the bytes, when the snapshot is held in memory
	Status SnapshotStatus
	From   string // the member or file it was taken from
	// Distributed is set once the snapshot is in the cluster's backup
	// volume (see Distribute), where the members' tools read it.
	Distributed bool
}

// SaveSnapshot runs `etcdctl snapshot save` on m (seeds 000–004), reads
// its revision with `etcdutl snapshot status`, and streams the file to
// the operator's machine: into dir, or the cluster's work dir (removed
// with the cluster) when dir is "". A snapshot restored into another
// cluster must be saved into a dir that outlives this one. Budgets grow
// with m's database size; below ConcurrentRestoreMax the revision is read
// while the file is copied off.
func SaveSnapshot(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, dir string) (*Snapshot, error) {
	s := &Snapshot{From: m.Name()}
	dbSize := int64(-1)
	if cli, err := c.Client(m); err == nil {
		if st, err := c.Status(ctx, cli, m); err == nil {
			ctx = harness.WithDataSize(ctx, st.DbSize)
			dbSize = st.DbSize
		}
		cli.Close()
	}
	if err := log.Do(record.PhaseRecovery, "save a snapshot from "+m.Name(), m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "snapshot", "save", SnapshotPath)
	}); err != nil {
		return nil, err
	}
	if dir == "" {
		var err error
		if dir, err = c.WorkDir(); err != nil {
			return nil, err
		}
	}
	s.Path = filepath.Join(dir, fmt.Sprintf("snapshot-%s-%d.db", m.Name(), time.Now().UnixNano()))
	// Reading the revision and copying the file off both only read the
	// saved file, so a small one does both at once, as two steps of one
	// group; a large one, one after the other, so that neither step's time
	// is the disk's shared between them (see ConcurrentRestoreMax).
	group := ""
	if dbSize >= 0 && dbSize <= ConcurrentRestoreMax {
		group = "snapshot"
	}
	status := func() error {
		return log.DoConcurrent(group, record.PhaseRecovery, "read the snapshot's revision", m.Name(), func() (record.Action, error) {
			e, err := m.Exec(ctx, "etcdutl", "snapshot", "status", SnapshotPath, "--write-out=json")
			if err != nil {
				return e, err
			}
			st, err := ParseSnapshotStatus(e.Output)
			s.Status = st
			return e, err
		})
	}
	copyOff := func() error {
		return log.DoConcurrent(group, record.PhaseRecovery, "copy the snapshot off "+m.Name(), m.Name(), func() (record.Action, error) {
			a := record.Action{Command: fmt.Sprintf("docker cp %s:%s ./snapshot.db", m.ContainerName(), SnapshotPath)}
			start := time.Now()
			n, err := m.CopyOutFile(ctx, SnapshotPath, s.Path)
			s.Size = n
			a.Output = fmt.Sprintf("%d bytes; %s", n, rate(n, time.Since(start)))
			return a, err
		})
	}
	if group == "" {
		if err := status(); err != nil {
			return nil, err
		}
		return s, copyOff()
	}
	var statusErr error
	var wg sync.WaitGroup
	wg.Go(func() { statusErr = status() })
	copyErr := copyOff()
	wg.Wait()
	if statusErr != nil {
		return nil, statusErr
	}
	return s, copyErr
}

// Bytes returns the snapshot's bytes: Data, or the file read whole. Only
// for small snapshots that a drill damages on purpose; large ones are
// streamed.
func (s *Snapshot) Bytes() ([]byte, error) {
	if s.Path == "" {
		return s.Data, nil
	}
	return os.ReadFile(s.Path)
}

// ParseSnapshotStatus reads `etcdutl snapshot status -w json` output,
// skipping any log lines before the JSON object.
func ParseSnapshotStatus(out string) (SnapshotStatus, error) {
	var st SnapshotStatus
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		// The status object has exactly these fields; zap log lines are
		// JSON too and may carry a "revision" of their own.
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &fields) != nil {
			continue
		}
		if !hasAll(fields, "hash", "revision", "totalKey", "totalSize") {
			continue
		}
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			return st, fmt.Errorf("snapshot status: %w", err)
		}
		return st, nil
	}
	return st, fmt.Errorf("snapshot status: no status in output %q", strings.TrimSpace(out))
}

func hasAll(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
