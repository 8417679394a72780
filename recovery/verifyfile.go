package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrBadInput marks a file that is no snapshot to verify at all: missing,
// unreadable, a directory, empty, or not a bbolt database. A damaged
// snapshot (hash mismatch, truncated) is not bad input: it is a snapshot
// that fails verification.
var ErrBadInput = errors.New("bad snapshot file")

// SnapshotFile is what can be learned of a snapshot file without starting
// etcd: its integrity (CheckSnapshot), what it holds (ReadStatus) and the
// keyspace digest of what it holds (ReadKeyspaceDigest).
type SnapshotFile struct {
	Path string `json:"path"`
	// Data is the whole file, as a restore copies it.
	Data      []byte    `json:"-"`
	Integrity Integrity `json:"integrity"`
	// IntegrityErr is CheckSnapshot's error: nil for a valid snapshot,
	// else wrapping ErrNoHash, ErrHashMismatch or ErrTruncated.
	IntegrityErr error `json:"-"`
	// Status is what the file holds, read in process as `etcdutl snapshot
	// status` reads it; nil when it could not be read (StatusErr says
	// why). A truncated file is not read.
	Status    *SnapshotStatus `json:"status,omitempty"`
	StatusErr error           `json:"-"`
	// Digest and KeyCount are the keyspace digest of the file's live keys
	// and their number, as verify.Digest computes them from a cluster
	// restored from it; set with Status ("" and 0 when Status is nil).
	Digest   string `json:"keyspace_digest,omitempty"`
	KeyCount int    `json:"key_count,omitempty"`
}

// ReadSnapshotFile reads and classifies the file at path, starting
// nothing. The error wraps ErrBadInput (and the cause: fs.ErrNotExist,
// fs.ErrPermission, ErrEmpty, ErrNotSnapshot) when the file is no
// snapshot at all; a damaged snapshot is returned without error, with
// IntegrityErr set, so that Accept decides.
func ReadSnapshotFile(path string) (*SnapshotFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, badInput(path, err)
	}
	switch {
	case fi.IsDir():
		return nil, fmt.Errorf("%w: %s: is a directory", ErrBadInput, path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s: not a regular file", ErrBadInput, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput(path, err)
	}
	f := &SnapshotFile{Path: path, Data: data}
	f.Integrity, f.IntegrityErr = CheckSnapshot(data)
	switch f.Integrity.Kind {
	case Empty, NotSnapshot:
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, path, f.IntegrityErr)
	case Truncated:
		f.StatusErr = f.IntegrityErr
		return f, nil
	}
	st, ks, err := readDB(data)
	if err != nil {
		f.StatusErr = err
		return f, nil
	}
	f.Status = &st
	f.Digest, f.KeyCount = ks.digest()
	return f, nil
}

// Accept says whether the file may be restored: nil for a valid snapshot,
// and for one without a hash when skipHashCheck is set (nothing then
// proves it intact). A hash mismatch or a truncated file is refused even
// with skipHashCheck: its damage is proven, and etcdutl would restore the
// damaged data.
func (f *SnapshotFile) Accept(skipHashCheck bool) error {
	switch {
	case f.IntegrityErr == nil:
		return nil
	case errors.Is(f.IntegrityErr, ErrNoHash):
		if skipHashCheck {
			return nil
		}
		return f.IntegrityErr
	case skipHashCheck:
		return fmt.Errorf("%w (--skip-hash-check accepts only a file without a hash, not a damaged one)", f.IntegrityErr)
	}
	return f.IntegrityErr
}

// Snapshot is the file as a Snapshot for RestoreCluster.
func (f *SnapshotFile) Snapshot() *Snapshot {
	s := &Snapshot{Data: f.Data, From: f.Path}
	if f.Status != nil {
		s.Status = *f.Status
	}
	return s
}

// String is a one-line account of what the file holds, for reports.
func (s SnapshotStatus) String() string {
	v := s.Version
	if v == "" {
		v = "none (written before 3.6)"
	}
	return fmt.Sprintf("revision %d, %d keys, %d bytes in use, storage version %s, etcdutl hash %d",
		s.Revision, s.TotalKey, s.TotalSize, v, s.Hash)
}

// ServerReason picks from an etcd member's log (zap JSON lines) why it
// stopped: the error of its last fatal or panic line, introduced by the
// message of the first error line that reported the same error (for a
// 3.7 data dir on 3.6: `Failed to validate schema: version "3.7.0" is not
// supported`). Without a fatal line it takes the last error line; without
// JSON, the last non-empty line; "" for an empty log.
func ServerReason(logs string) string {
	type entry struct{ Level, Msg, Error string }
	var errs []entry
	var fatal *entry
	last := ""
	for _, line := range strings.Split(logs, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		last = line
		var e entry
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch e.Level {
		case "fatal", "panic", "dpanic":
			fatal = &e
			errs = append(errs, e)
		case "error":
			errs = append(errs, e)
		}
	}
	pick := fatal
	if pick == nil && len(errs) > 0 {
		pick = &errs[len(errs)-1]
	}
	if pick == nil {
		return last
	}
	if pick.Error == "" {
		return pick.Msg
	}
	for _, e := range errs {
		if e.Error == pick.Error {
			return e.Msg + ": " + e.Error
		}
	}
	return pick.Msg + ": " + pick.Error
}

// badInput wraps a file system error as ErrBadInput, as "PATH: reason".
func badInput(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%w: %s: %w", ErrBadInput, path, err)
}
