// Package workload writes load into a cluster and keeps the ledger: the
// outcome of every write, so verification knows exactly what must exist.
package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// Outcome is what the client learned about one write.
type Outcome string

const (
	// Acknowledged: the cluster committed the write at Revision.
	Acknowledged Outcome = "acknowledged"
	// Failed: the cluster refused the write; it must not exist.
	Failed Outcome = "failed"
	// Indeterminate: the client gave up (timeout, lost connection); the
	// write may or may not exist.
	Indeterminate Outcome = "indeterminate"
)

// Write is one ledger entry. Keys are unique within a ledger: every key is
// written once, so a key's presence tells which write it came from.
type Write struct {
	Key      string    `json:"key"`
	Digest   string    `json:"digest"` // ValueDigest of the value written
	Outcome  Outcome   `json:"outcome"`
	Revision int64     `json:"revision,omitempty"` // set when acknowledged
	Cluster  uint64    `json:"cluster,omitempty"`  // the acknowledging cluster's ID
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Err      string    `json:"error,omitempty"`
}

// ValueDigest is the hex SHA-256 of a value, as the ledger stores it.
func ValueDigest(v []byte) string {
	s := sha256.Sum256(v)
	return hex.EncodeToString(s[:])
}

// Ledger is safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	writes []Write
}

// Record appends one write's outcome.
func (l *Ledger) Record(w Write) {
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
}

// Writes returns a copy of the entries ordered by start time.
func (l *Ledger) Writes() []Write {
	l.mu.Lock()
	out := append([]Write(nil), l.writes...)
	l.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Counts returns the number of writes per outcome.
func (l *Ledger) Counts() map[Outcome]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := map[Outcome]int{}
	for _, w := range l.writes {
		c[w.Outcome]++
	}
	return c
}

// AckedSince counts acknowledged writes that started at or after t,
// without copying the ledger (waits call it every few milliseconds).
func (l *Ledger) AckedSince(t time.Time) int {
	return l.countAcked(func(w *Write) bool { return !w.Start.Before(t) })
}

// AckedAbove counts acknowledged writes whose revision is above rev: the
// writes a snapshot at rev does not hold, whenever they started.
func (l *Ledger) AckedAbove(rev int64) int {
	return l.countAcked(func(w *Write) bool { return w.Revision > rev })
}

// countAcked counts acknowledged writes that keep accepts.
func (l *Ledger) countAcked(keep func(*Write) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i := range l.writes {
		if w := &l.writes[i]; w.Outcome == Acknowledged && keep(w) {
			n++
		}
	}
	return n
}

// FirstAckAfter returns the end time of the first acknowledged write that
// started at or after t, and false when there is none. Drills use it for RTO.
func (l *Ledger) FirstAckAfter(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best time.Time
	found := false
	for _, w := range l.writes {
		if w.Outcome != Acknowledged || w.Start.Before(t) {
			continue
		}
		if !found || w.End.Before(best) {
			best, found = w.End, true
		}
	}
	return best, found
}
