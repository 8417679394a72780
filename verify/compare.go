package verify

import (
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// SourceCompare compares the keys a cluster serves with a snapshot's
// key by key, as two ascending streams merged: the file's live
// keys (recovery.SnapshotFile.Keys, read in a goroutine) and the keys the
// cluster serves. Memory is a bounded queue of keys with value hashes,
// whatever the size of either. Keys the cluster serves that the file does not
// hold (the drill's own writes and probes) are not the operator's and are
// passed over.
type SourceCompare struct {
	next    chan fileKey
	cancel  context.CancelFunc
	done    chan error
	head    *fileKey
	ok      int
	total   int
	missing keyList
	changed keyList
}

type fileKey struct {
	key  string
	hash uint64
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// KeySource yields live keys with their values in ascending key order,
// as recovery.SnapshotFile.Keys does for a snapshot file.
type KeySource interface {
	Keys(fn func(key, value []byte) error) error
}

// NewSourceCompare starts reading src in a goroutine; feed it the
// cluster's keys in ascending order with Observe, then call Check, and
// Stop when done.
func NewSourceCompare(ctx context.Context, src KeySource) *SourceCompare {
	ctx, cancel := context.WithCancel(ctx)
	fc := &SourceCompare{next: make(chan fileKey, 1024), cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := src.Keys(func(k, v []byte) error {
			select {
			case fc.next <- fileKey{string(k), crc64.Checksum(v, crcTable)}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(fc.next)
		fc.done <- err
	}()
	return fc
}

// pull returns the next file key, nil at the end.
func (fc *SourceCompare) pull() *fileKey {
	if fc.head == nil {
		k, ok := <-fc.next
		if !ok {
			return nil
		}
		fc.total++
		fc.head = &k
	}
	return fc.head
}

// Observe takes the cluster's next key: file keys before it are missing.
func (fc *SourceCompare) Observe(key, value []byte) {
	for {
		h := fc.pull()
		if h == nil {
			return
		}
		switch c := strings.Compare(h.key, string(key)); {
		case c < 0:
			fc.missing.add(h.key)
			fc.head = nil
			continue
		case c == 0:
			if crc64.Checksum(value, crcTable) == h.hash {
				fc.ok++
			} else {
				fc.changed.add(h.key)
			}
			fc.head = nil
		}
		return
	}
}

// Check drains the source (its keys after the cluster's last are
// missing) and renders the check called name.
func (fc *SourceCompare) Check(name string) record.Check {
	for h := fc.pull(); h != nil; h = fc.pull() {
		fc.missing.add(h.key)
		fc.head = nil
	}
	c := record.Check{Name: name, Verdict: record.Pass}
	if err := <-fc.done; err != nil && !errors.Is(err, context.Canceled) {
		c.Verdict, c.Summary = record.Fail, "reading the snapshot: "+err.Error()
		return c
	}
	c.Summary = fmt.Sprintf("%d of the snapshot's %d keys served with the snapshot's value; %d missing, %d changed",
		fc.ok, fc.total, fc.missing.n, fc.changed.n)
	if fc.missing.n+fc.changed.n > 0 {
		c.Verdict = record.Fail
	}
	c.Details = append(c.Details, fc.missing.lines("missing: ")...)
	c.Details = append(c.Details, fc.changed.lines("changed: ")...)
	return c
}

// Stop ends the source's reader; safe after Check.
func (fc *SourceCompare) Stop() {
	fc.cancel()
	for range fc.next { // let the reader end
	}
}

// keyList counts keys and keeps the first maxDetails of them: a restore
// that lost a million keys must not hold a million names.
type keyList struct {
	n     int
	first []string
}

func (l *keyList) add(k string) {
	l.n++
	if len(l.first) < maxDetails {
		l.first = append(l.first, k)
	}
}

func (l *keyList) lines(prefix string) []string {
	out := capDetails(prefix, l.first)
	if rest := l.n - len(l.first); rest > 0 {
		out = append(out, fmt.Sprintf("... and %d more", rest))
	}
	return out
}
