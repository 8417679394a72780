package verify

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// keyState is one state a key may be in at the end: absent, or present
// with the value of that hash.
type keyState struct {
	absent bool
	hash   uint64
}

func (s keyState) String() string {
	if s.absent {
		return "absent"
	}
	return short(fmt.Sprintf("%016x", s.hash))
}

// touchedKey is a key the traffic mutated: the states it may end in, and
// what was observed.
type touchedKey struct {
	allowed  []keyState
	lastAck  int64 // revision of the mutation that fixed the state, for the details
	observed bool
	hash     uint64
}

// DatasetReport is what a DatasetCheck found. The key lists hold the
// first maxDetails keys of each kind; the counts are complete.
type DatasetReport struct {
	// Keys is the number of keys in the dataset; Observed the number of
	// keys seen under its prefix.
	Keys, Observed int
	// Present counts dataset keys the traffic did not touch, present with
	// their loaded value.
	Present int
	// Touched counts keys the traffic mutated or created; TouchedOK those
	// in one of their allowed final states.
	Touched, TouchedOK int
	// Missing, Changed and Unexpected count keys absent that must exist,
	// present with a value that is not allowed, and present that must not
	// exist (not in the dataset and not created by the traffic, or
	// deleted, or written after the snapshot).
	Missing, Changed, Unexpected             int
	MissingKeys, ChangedKeys, UnexpectedKeys []string
	// Lost counts acknowledged writes (loaded keys and mutations) after
	// UpTo, absent as a restore from that snapshot must leave them.
	Lost int
	// Unknown counts keys whose load got no answer: either state is fine.
	Unknown int
	UpTo    int64
}

// OK reports whether nothing is missing, changed or unexpected.
func (r DatasetReport) OK() bool { return r.Missing+r.Changed+r.Unexpected == 0 }

// DatasetCheck verifies a loaded dataset key by key as a scan streams the
// keyspace through Observe, in memory bounded by one bit per key plus the
// traffic's small mutation record: no copy of the keyspace is kept.
type DatasetCheck struct {
	ds      *workload.Dataset
	prefix  []byte
	upTo    int64
	seen    []uint64 // bitset over dataset indices observed
	touched map[string]*touchedKey
	r       DatasetReport
}

// NewDatasetCheck prepares the check of ds. upTo is the revision of the
// snapshot a restore used (0: none): writes acknowledged after it were
// lost by design, so each key must be in its state as of upTo. Traffic
// after the restore (answered by a new cluster, see Dataset.Clusters) is
// judged as usual; with a single cluster, all of it is taken to predate
// the restore. Make the check after the traffic stopped: it reads the
// mutation record once.
func NewDatasetCheck(ds *workload.Dataset, upTo int64) *DatasetCheck {
	c := &DatasetCheck{
		ds: ds, prefix: []byte(ds.Prefix()), upTo: upTo,
		seen: make([]uint64, (ds.Len()+63)/64),
		r:    DatasetReport{Keys: ds.Len(), UpTo: upTo},
	}
	muts := ds.Mutations()
	c.touched = make(map[string]*touchedKey, len(muts))
	// Mutations answered by clusters before the last one predate the
	// restore; with one cluster, all of them do.
	restored := math.MaxInt
	if n := len(ds.Clusters()); n > 1 {
		restored = n - 1
	}
	for key, ms := range muts {
		slices.SortStableFunc(ms, func(a, b workload.Mutation) int { return a.Start.Compare(b.Start) })
		base := []keyState{{absent: true}}
		if i, ok := ds.Index([]byte(key)); ok {
			base = c.loadedStates(i)
			c.seen[i/64] |= 1 << (i % 64) // judged with the touched keys
		}
		tk := &touchedKey{}
		tk.allowed, tk.lastAck = c.allowedStates(base, ms, restored)
		c.touched[key] = tk
	}
	c.r.Touched = len(c.touched)
	return c
}

// loadedStates are the states dataset key i may be in before the traffic
// touched it, as far as Load knows.
func (c *DatasetCheck) loadedStates(i int) []keyState {
	present := keyState{hash: c.ds.Hash(i)}
	switch o, rev := c.ds.Loaded(i); o {
	case workload.Acknowledged:
		if c.upTo > 0 && rev > c.upTo {
			return []keyState{{absent: true}}
		}
	case workload.Indeterminate:
		return []keyState{present, {absent: true}}
	case workload.Failed:
		return []keyState{{absent: true}}
	}
	return []keyState{present}
}

// allowedStates walks a key's mutations in order from its base states:
// an acknowledged mutation fixes the state, an indeterminate one may have
// happened, a failed one did not. Mutations answered by a cluster before
// restored are judged against upTo: once one was acknowledged after it,
// neither it nor any later one survived the restore.
func (c *DatasetCheck) allowedStates(base []keyState, ms []workload.Mutation, restored int) ([]keyState, int64) {
	states := slices.Clone(base)
	var lastAck int64
	frozen := false
	for _, m := range ms {
		before := c.upTo > 0 && m.Cluster < restored
		if before && frozen {
			continue
		}
		s := keyState{absent: m.Op == workload.OpDelete, hash: m.Hash}
		switch m.Outcome {
		case workload.Acknowledged:
			if before && m.Revision > c.upTo {
				frozen = true
				c.r.Lost++
				continue
			}
			states, lastAck = []keyState{s}, m.Revision
		case workload.Indeterminate:
			if !slices.Contains(states, s) {
				states = append(states, s)
			}
		}
	}
	return states, lastAck
}

// Observe takes one key read under any prefix; keys outside the dataset's
// prefix are ignored. Feed every key exactly once (a Scan does).
func (c *DatasetCheck) Observe(key, value []byte) {
	if c.touched == nil || !bytes.HasPrefix(key, c.prefix) {
		return
	}
	c.r.Observed++
	if len(c.touched) > 0 {
		if tk, ok := c.touched[string(key)]; ok {
			tk.observed, tk.hash = true, workload.HashValue(value)
			return
		}
	}
	i, ok := c.ds.Index(key)
	if !ok {
		c.unexpected(string(key) + ": not in the dataset and not created by the traffic")
		return
	}
	c.seen[i/64] |= 1 << (i % 64)
	want := c.ds.Hash(i)
	switch o, rev := c.ds.Loaded(i); {
	case o == workload.Failed:
		c.unexpected(string(key) + ": the load stopped before writing it, but present")
	case o == workload.Acknowledged && c.upTo > 0 && rev > c.upTo:
		c.unexpected(fmt.Sprintf("%s: loaded at revision %d, after snapshot revision %d, but present", key, rev, c.upTo))
	case workload.HashValue(value) != want:
		c.changed(fmt.Sprintf("%s: want %s got %s", key, keyState{hash: want}, keyState{hash: workload.HashValue(value)}))
	default:
		c.r.Present++
	}
}

// Check finishes the check (see Report) and returns it as the
// "dataset-integrity" check.
func (c *DatasetCheck) Check() record.Check { return c.Report().Check() }

// Report finishes the check: keys never observed are judged, then the
// keys the traffic touched. Observe after it has no effect.
func (c *DatasetCheck) Report() DatasetReport {
	c.finish()
	return c.r
}

func (c *DatasetCheck) finish() {
	if c.touched == nil {
		return // finished already
	}
	for i := range c.ds.Len() {
		if c.seen[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		switch o, rev := c.ds.Loaded(i); {
		case o == workload.Failed:
		case o == workload.Indeterminate:
			c.r.Unknown++
		case o == workload.Acknowledged && c.upTo > 0 && rev > c.upTo:
			c.r.Lost++
		default:
			c.missing(c.ds.Key(i))
		}
	}
	keys := make([]string, 0, len(c.touched))
	for k := range c.touched {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tk := c.touched[k]
		got := keyState{absent: !tk.observed, hash: tk.hash}
		if slices.Contains(tk.allowed, got) {
			c.r.TouchedOK++
			continue
		}
		want := make([]string, len(tk.allowed))
		for j, s := range tk.allowed {
			want[j] = s.String()
		}
		since := ""
		if tk.lastAck > 0 {
			since = fmt.Sprintf(" (as of revision %d)", tk.lastAck)
		}
		switch {
		case got.absent:
			c.missing(fmt.Sprintf("%s: want %s%s", k, strings.Join(want, " or "), since))
		case !slices.ContainsFunc(tk.allowed, func(s keyState) bool { return !s.absent }):
			c.unexpected(fmt.Sprintf("%s: must be absent%s, but present", k, since))
		default:
			c.changed(fmt.Sprintf("%s: want %s%s got %s", k, strings.Join(want, " or "), since, got))
		}
	}
	c.touched = nil
}

func (c *DatasetCheck) missing(line string) {
	c.r.Missing++
	c.r.MissingKeys = sample(c.r.MissingKeys, line)
}

func (c *DatasetCheck) changed(line string) {
	c.r.Changed++
	c.r.ChangedKeys = sample(c.r.ChangedKeys, line)
}

func (c *DatasetCheck) unexpected(line string) {
	c.r.Unexpected++
	c.r.UnexpectedKeys = sample(c.r.UnexpectedKeys, line)
}

// sample keeps the first maxDetails lines: a broken keyspace of a million
// keys must not become a million strings.
func sample(lines []string, line string) []string {
	if len(lines) < maxDetails {
		lines = append(lines, line)
	}
	return lines
}

// Check renders the report as the "dataset-integrity" check.
func (r DatasetReport) Check() record.Check {
	c := record.Check{Name: "dataset-integrity"}
	summary := fmt.Sprintf("%d of %d dataset keys present as loaded, %d of %d keys the traffic touched as allowed; %d missing, %d changed, %d unexpected",
		r.Present, r.Keys, r.TouchedOK, r.Touched, r.Missing, r.Changed, r.Unexpected)
	if r.UpTo > 0 {
		summary += fmt.Sprintf("; %d writes lost after snapshot revision %d (RPO)", r.Lost, r.UpTo)
	}
	if r.Unknown > 0 {
		summary += fmt.Sprintf("; %d keys of unanswered load transactions absent", r.Unknown)
	}
	c.Details = append(c.Details, details("missing: ", r.MissingKeys, r.Missing)...)
	c.Details = append(c.Details, details("changed: ", r.ChangedKeys, r.Changed)...)
	c.Details = append(c.Details, details("unexpected: ", r.UnexpectedKeys, r.Unexpected)...)
	if r.OK() {
		return passed(c, summary)
	}
	return failed(c, summary)
}

// details is capDetails for a list kept as a sample and a count.
func details(prefix string, lines []string, total int) []string {
	out := capDetails(prefix, lines)
	if rest := total - len(lines); rest > 0 && len(lines) >= maxDetails {
		out = append(out, fmt.Sprintf("... and %d more", rest))
	}
	return out
}
