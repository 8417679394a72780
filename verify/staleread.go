package verify

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// Access is one read or write of a probe key, as the client saw it: when
// it was called and when it returned, and what it returned.
type Access struct {
	Write bool   `json:"write"`
	Key   string `json:"key"`
	// Value is the value written, or the value read ("" when the key was
	// absent).
	Value string `json:"value"`
	// Revision is the revision a write was acknowledged at, or the key's
	// mod revision a read returned (0 when the key was absent).
	Revision int64 `json:"revision"`
	// Member is the member the request was sent to, and only to.
	Member       string    `json:"member"`
	Serializable bool      `json:"serializable,omitempty"`
	Call         time.Time `json:"call"`
	Return       time.Time `json:"return"`
	// Err is why the request was not answered: a write with an error was
	// not acknowledged, a read with one returned nothing.
	Err string `json:"err,omitempty"`
}

// OK reports whether the request was answered.
func (a Access) OK() bool { return a.Err == "" }

func (a Access) String() string {
	kind, cons := "get", ""
	if a.Write {
		kind = "put"
	} else if a.Serializable {
		cons = " --consistency=s"
	}
	out := fmt.Sprintf("%s %s%s on %s", kind, a.Key, cons, a.Member)
	if !a.OK() {
		return out + ": " + a.Err
	}
	return out + fmt.Sprintf(" → %q at revision %d", a.Value, a.Revision)
}

// History collects accesses from concurrent requests.
type History struct {
	mu  sync.Mutex
	ops []Access
}

// Add records one access.
func (h *History) Add(a Access) {
	h.mu.Lock()
	h.ops = append(h.ops, a)
	h.mu.Unlock()
}

// Accesses returns a copy of the accesses in call order.
func (h *History) Accesses() []Access {
	h.mu.Lock()
	out := append([]Access(nil), h.ops...)
	h.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Call.Before(out[j].Call) })
	return out
}

// StaleRead is a read that returned an older state of its key than a
// write acknowledged before the read was called.
type StaleRead struct {
	Read, Newer Access
}

func (s StaleRead) String() string {
	return fmt.Sprintf("%s, but %s was acknowledged %s before it was called",
		s.Read, s.Newer, s.Read.Call.Sub(s.Newer.Return).Round(time.Millisecond))
}

// StaleReport is the stale-read check over a history.
type StaleReport struct {
	// Reads and Answered count the reads and those that returned a
	// value; Writes and Acked the writes and those acknowledged.
	Reads, Answered, Writes, Acked int
	Stale                          []StaleRead
}

// StaleReads checks every answered read against the writes acknowledged
// before it was called: a read must return the key at the revision of
// the newest of them or later, with that write's value when at its
// revision. A read that failed or timed out is never stale (it returned
// nothing), and neither is a read concurrent with a write. This is the
// real-time half of linearizability for single keys, the half a
// partitioned or paused member breaks when it serves a read from its own
// state.
func StaleReads(ops []Access) StaleReport {
	var r StaleReport
	var writes []Access
	for _, a := range ops {
		if a.Write {
			r.Writes++
			if a.OK() {
				r.Acked++
				writes = append(writes, a)
			}
		}
	}
	for _, a := range ops {
		if a.Write {
			continue
		}
		r.Reads++
		if !a.OK() {
			continue
		}
		r.Answered++
		var newest *Access
		for i, w := range writes {
			if w.Key == a.Key && w.Return.Before(a.Call) && (newest == nil || w.Revision > newest.Revision) {
				newest = &writes[i]
			}
		}
		if newest == nil {
			continue
		}
		if a.Revision < newest.Revision || (a.Revision == newest.Revision && a.Value != newest.Value) {
			r.Stale = append(r.Stale, StaleRead{Read: a, Newer: *newest})
		}
	}
	return r
}

// Check renders the report as check name: it fails on any stale read.
func (r StaleReport) Check(name string) record.Check {
	c := record.Check{Name: name, Verdict: record.Pass}
	c.Summary = fmt.Sprintf("%d reads (%d answered, %d failed or timed out) after %d acknowledged writes; %d stale",
		r.Reads, r.Answered, r.Reads-r.Answered, r.Acked, len(r.Stale))
	if len(r.Stale) > 0 {
		c.Verdict = record.Fail
	}
	for i, s := range r.Stale {
		if i == maxDetails {
			c.Details = append(c.Details, fmt.Sprintf("… and %d more", len(r.Stale)-maxDetails))
			break
		}
		c.Details = append(c.Details, "stale: "+s.String())
	}
	return c
}
