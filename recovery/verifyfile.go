package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrBadInput marks a file that is no snapshot to verify at all: missing,
// unreadable, a directory, empty, or not a bbolt database. A damaged
// snapshot (hash mismatch, truncated) is not bad input: it is a snapshot
// that fails verification.
var ErrBadInput = errors.New("bad snapshot file")

// SnapshotFile is what can be learned of a snapshot file without starting
// etcd: its integrity (CheckSnapshotAt), what it holds (as ReadStatus
// reads it) and the keyspace digest of what it holds (as
// ReadKeyspaceDigest computes it). It does not hold the file, which may
// be larger than memory, nor its values: it keeps the live keys and where
// their values lie, and Keys reads the values from the file again.
type SnapshotFile struct {
	Path string `json:"path"`
	// Size is the file's length in bytes when it was read.
	Size      int64     `json:"size"`
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

	// modTime is the file's when it was read, so that Keys can tell the
	// file it reopens is the one read.
	modTime time.Time
	// index is the file's live keys in order and where their values lie,
	// as the digest was computed from them: Keys reuses it rather than
	// walk the file and sort its keys again, and rather than build a
	// second index while this one waits for the collector.
	index *keyIndex
}

// ReadSnapshotFile reads and classifies the file at path, starting
// nothing. The error wraps ErrBadInput (and the cause: fs.ErrNotExist,
// fs.ErrPermission, ErrEmpty, ErrNotSnapshot, or an I/O error) when the
// file is no snapshot at all or cannot be read; a damaged snapshot is
// returned without error, with IntegrityErr set, so that Accept decides.
//
// It streams the file rather than loading it: one pass hashes it while a
// second walks its pages for the status and the location of each live
// key's newest value, then a third reads those values back in key order
// for the digest. Its memory is bounded by the number of live keys (a few
// dozen bytes each plus the key) and the largest page, never by the
// size of the file or of its values.
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
	file, err := os.Open(path)
	if err != nil {
		return nil, badInput(path, err)
	}
	defer file.Close()
	if fi, err = file.Stat(); err != nil {
		return nil, badInput(path, err)
	}
	f := &SnapshotFile{Path: path, Size: fi.Size(), modTime: fi.ModTime()}
	in, err := classifyAt(file, f.Size)
	f.Integrity, f.IntegrityErr = in, err
	var hashing sync.WaitGroup
	switch in.Kind {
	case "":
		if err != nil { // the file could not be read
			return nil, badInput(path, err)
		}
		// The appended hash decides: hash the file while walking it, as
		// the two read it apart (and SHA-256 is the slower).
		hashing.Go(func() { f.Integrity, f.IntegrityErr = CheckSnapshotAt(file, f.Size) })
	case Empty, NotSnapshot:
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, path, f.IntegrityErr)
	case Truncated:
		f.StatusErr = f.IntegrityErr
		return f, nil
	}
	st, ix, err := walkDB(file, in)
	if err == nil {
		f.Digest, f.KeyCount, err = ix.digest(file)
	}
	hashing.Wait()
	if f.Integrity.Kind == "" { // the file could not be read to its end
		return nil, badInput(path, f.IntegrityErr)
	}
	if err != nil {
		f.Digest, f.KeyCount, f.StatusErr = "", 0, err
		return f, nil
	}
	f.Status, f.index = &st, ix
	return f, nil
}

// Keys calls fn for every live key of the file with its newest value, in
// ascending bytewise key order, as a cluster restored from the file
// serves them (and as paginated reads of that cluster return them), so
// that the two can be compared key by key. fn must not keep the slices:
// they are reused from one call to the next.
//
// It reopens the file and reads each value where ReadSnapshotFile found
// it, holding one value at a time. It returns fn's error as is, or an
// error when the file cannot be read, was not readable when
// ReadSnapshotFile read it (Status nil), or changed since. Calls may run
// concurrently.
func (f *SnapshotFile) Keys(fn func(key, value []byte) error) error {
	if f.Status == nil {
		if f.StatusErr != nil {
			return fmt.Errorf("%s: keys unreadable: %w", f.Path, f.StatusErr)
		}
		return fmt.Errorf("%s: keys unreadable: the file was not read", f.Path)
	}
	file, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	changed := func(what string) error {
		return fmt.Errorf("%s changed since it was read: %s", f.Path, what)
	}
	if fi.Size() != f.Size {
		return changed(fmt.Sprintf("%d bytes, read as %d", fi.Size(), f.Size))
	}
	if !f.modTime.IsZero() && !fi.ModTime().Equal(f.modTime) {
		return changed(fmt.Sprintf("modified at %s, read as modified at %s", fi.ModTime(), f.modTime))
	}
	in, err := classifyAt(file, f.Size)
	if err != nil && !errors.Is(err, ErrNoHash) {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if in.TxID != f.Integrity.TxID || in.Pages != f.Integrity.Pages {
		return changed(fmt.Sprintf("txid %d of %d pages, read as txid %d of %d", in.TxID, in.Pages, f.Integrity.TxID, f.Integrity.Pages))
	}
	ix := f.index
	if ix == nil { // a SnapshotFile not from ReadSnapshotFile
		if _, ix, err = walkDB(file, in); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	var fnErr error
	err = ix.each(file, func(k, v []byte) error {
		if fnErr = fn(k, v); fnErr != nil {
			return errStop
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	return nil
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

// Snapshot is the file as a Snapshot for RestoreCluster: by its path, so
// that the restore streams the file rather than holding it.
func (f *SnapshotFile) Snapshot() *Snapshot {
	s := &Snapshot{Path: f.Path, Size: f.Size, From: f.Path}
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
