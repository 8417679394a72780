package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// Status is one member's `etcdctl endpoint status`, as observed.
type Status struct {
	Name, Endpoint string
	// Err is non-empty when the member could not be reached; the other
	// fields are then not meaningful.
	Err                   string
	ID, Leader, ClusterID uint64
	RaftTerm, RaftIndex   uint64
	Revision              int64
	IsLearner             bool
	DBSize                int64
	Version               string
}

// Member is one `etcdctl member list` row, or an expected one, in which
// case ID 0 means any ID.
type Member struct {
	Name      string
	ID        uint64
	PeerURLs  []string
	IsLearner bool
}

// Alarm is one raised alarm, such as "NOSPACE" or "CORRUPT".
type Alarm struct {
	MemberID uint64
	Alarm    string
}

// Hash is one member's HashKV. Revision is the revision the hash covers.
type Hash struct {
	Name                      string
	Revision, CompactRevision int64
	Hash                      uint32
	Err                       string
}

// Health is the "health" check: every member was reachable. Nothing
// observed is not healthy, so an empty list fails.
func Health(st []Status) record.Check {
	c := record.Check{Name: "health"}
	if len(st) == 0 {
		return failed(c, "no members observed")
	}
	var down []string
	for _, s := range st {
		if s.Err != "" {
			down = append(down, s.label())
			c.Details = append(c.Details, fmt.Sprintf("%s (%s): %s", s.label(), s.Endpoint, s.Err))
		}
	}
	if len(down) == 0 {
		return passed(c, fmt.Sprintf("%d of %d members reachable", len(st), len(st)))
	}
	return failed(c, fmt.Sprintf("%d of %d members unreachable: %s", len(down), len(st), strings.Join(down, ", ")))
}

// Leader is the "leader" check: every reachable member reports the same
// non-zero leader, and exactly one reachable member has that ID (a leader
// the harness cannot reach is no leader). An empty list fails.
func Leader(st []Status) record.Check {
	c := record.Check{Name: "leader"}
	up := reachable(st)
	if len(up) == 0 {
		return failed(c, "no reachable member reports a leader")
	}
	var none, leaders []string
	for _, s := range up {
		c.Details = append(c.Details, fmt.Sprintf("%s id=%x leader=%x", s.label(), s.ID, s.Leader))
		if s.Leader == 0 {
			none = append(none, s.label())
		} else if l := fmt.Sprintf("%x", s.Leader); !slices.Contains(leaders, l) {
			leaders = append(leaders, l)
		}
	}
	switch {
	case len(none) > 0:
		return failed(c, "no leader: "+strings.Join(none, ", ")+" report leader 0")
	case len(leaders) > 1:
		return failed(c, fmt.Sprintf("split brain: members report %d leaders (%s)", len(leaders), strings.Join(leaders, ", ")))
	}
	lead := up[0].Leader
	var holders []string
	for _, s := range up {
		if s.ID == lead {
			holders = append(holders, s.label())
		}
	}
	switch len(holders) {
	case 0:
		return failed(c, fmt.Sprintf("leader %x is not a reachable member", lead))
	case 1:
		return passed(c, fmt.Sprintf("%s (%x) leads; %d reachable members agree", holders[0], lead, len(up)))
	default:
		return failed(c, fmt.Sprintf("%d members have the leader's id %x: %s", len(holders), lead, strings.Join(holders, ", ")))
	}
}

// Term is the "raft-term" check: all reachable members report the same
// non-zero raft term (any elected leader makes it 1 or more). An empty
// list fails.
func Term(st []Status) record.Check {
	return agree(record.Check{Name: "raft-term"}, st, "raft term", "term", "%d",
		func(s Status) uint64 { return s.RaftTerm })
}

// SameCluster is the "cluster-id" check: all reachable members report the
// same non-zero cluster ID. An empty list fails.
func SameCluster(st []Status) record.Check {
	return agree(record.Check{Name: "cluster-id"}, st, "cluster id", "cluster-id", "%x",
		func(s Status) uint64 { return s.ClusterID })
}

// agree fails c unless every reachable member reports the same non-zero
// field. Details show each member's value as "name key=value", the value
// formatted by verb, with the odd ones out marked.
func agree(c record.Check, st []Status, what, key, verb string, field func(Status) uint64) record.Check {
	up := reachable(st)
	if len(up) == 0 {
		return failed(c, "no reachable member reports a "+what)
	}
	vals := make([]uint64, len(up))
	for i, s := range up {
		vals[i] = field(s)
	}
	common := mostCommon(vals)
	var odd []string
	for i, s := range up {
		bad := vals[i] != common || vals[i] == 0
		c.Details = append(c.Details, fmt.Sprintf("%s %s="+verb+"%s", s.label(), key, vals[i], differs(bad)))
		if bad {
			odd = append(odd, s.label())
		}
	}
	val := fmt.Sprintf(verb, common)
	switch {
	case common == 0:
		return failed(c, fmt.Sprintf("%s is 0 on %s", what, strings.Join(odd, ", ")))
	case len(odd) > 0:
		return failed(c, fmt.Sprintf("members disagree on %s: %s not at %s", what, strings.Join(odd, ", "), val))
	}
	return passed(c, fmt.Sprintf("%d reachable members at %s %s", len(up), what, val))
}

// Membership is the "membership" check: got has the same member names as
// want, each with the same peer URLs (in any order) and learner flag, and
// the same ID where want gives one. It reports missing, extra and
// mismatched members; a name listed twice is mismatched. An empty want fails.
func Membership(got, want []Member) record.Check {
	c := record.Check{Name: "membership"}
	if len(want) == 0 {
		return failed(c, "no expected members given")
	}
	seen := make(map[string]Member, len(got))
	var missing, extra, mismatched []string
	for _, m := range got {
		if _, dup := seen[m.label()]; dup {
			mismatched = append(mismatched, m.label())
			c.Details = append(c.Details, "mismatched: "+m.label()+": listed more than once")
		}
		seen[m.label()] = m
	}
	expected := make(map[string]bool, len(want))
	for _, w := range want {
		expected[w.label()] = true
		g, ok := seen[w.label()]
		if !ok {
			missing = append(missing, w.label())
			c.Details = append(c.Details, fmt.Sprintf("missing: %s (peers %s)", w.label(), w.peers()))
			continue
		}
		var diffs []string
		if g.peers() != w.peers() {
			diffs = append(diffs, fmt.Sprintf("peers %s want %s", g.peers(), w.peers()))
		}
		if g.IsLearner != w.IsLearner {
			diffs = append(diffs, fmt.Sprintf("learner=%v want %v", g.IsLearner, w.IsLearner))
		}
		if w.ID != 0 && g.ID != w.ID {
			diffs = append(diffs, fmt.Sprintf("id %x want %x", g.ID, w.ID))
		}
		if len(diffs) > 0 {
			mismatched = append(mismatched, w.label())
			c.Details = append(c.Details, "mismatched: "+w.label()+": "+strings.Join(diffs, ", "))
		}
	}
	for _, g := range got {
		if !expected[g.label()] {
			extra = append(extra, g.label())
			c.Details = append(c.Details, fmt.Sprintf("extra: %s (id %x, peers %s)", g.label(), g.ID, g.peers()))
		}
	}
	if len(missing)+len(extra)+len(mismatched) > 0 {
		return failed(c, fmt.Sprintf("member list differs: missing [%s], extra [%s], mismatched [%s]",
			strings.Join(missing, ", "), strings.Join(extra, ", "), strings.Join(mismatched, ", ")))
	}
	return passed(c, fmt.Sprintf("%d members with the expected names and peer URLs", len(got)))
}

// label names a member: its name, or its ID while unstarted (no name yet).
func (m Member) label() string {
	if m.Name == "" {
		return fmt.Sprintf("unstarted %x", m.ID)
	}
	return m.Name
}

// peers renders the peer URLs sorted, so order does not matter.
func (m Member) peers() string {
	p := slices.Clone(m.PeerURLs)
	slices.Sort(p)
	return "[" + strings.Join(p, " ") + "]"
}

// Alarms is the "alarms" check: it passes only when no alarm is raised.
// Details list the alarms, sorted.
func Alarms(a []Alarm) record.Check {
	c := record.Check{Name: "alarms"}
	if len(a) == 0 {
		return passed(c, "no alarms")
	}
	for _, al := range a {
		c.Details = append(c.Details, fmt.Sprintf("member %x: %s", al.MemberID, al.Alarm))
	}
	slices.Sort(c.Details)
	return failed(c, fmt.Sprintf("%d alarms raised: %s", len(a), strings.Join(c.Details, ", ")))
}

// HashKV is the "hashkv" check: every member answered, at the same
// revision, with the same hash. Details show every member's hash so the
// diverged one is visible. An empty list fails.
func HashKV(h []Hash) record.Check {
	c := record.Check{Name: "hashkv"}
	if len(h) == 0 {
		return failed(c, "no hashes taken")
	}
	var revs []int64
	var hashes []uint32
	for _, x := range h {
		if x.Err == "" {
			revs, hashes = append(revs, x.Revision), append(hashes, x.Hash)
		}
	}
	rev, hash := mostCommon(revs), mostCommon(hashes)
	var errs, oddRev, oddHash []string
	for _, x := range h {
		if x.Err != "" {
			errs = append(errs, x.Name)
			c.Details = append(c.Details, fmt.Sprintf("%s: %s", x.Name, x.Err))
			continue
		}
		line := fmt.Sprintf("%s revision=%d compact-revision=%d hash=%d", x.Name, x.Revision, x.CompactRevision, x.Hash)
		switch {
		case x.Revision != rev:
			oddRev = append(oddRev, x.Name)
			line += " (revision differs)"
		case x.Hash != hash:
			oddHash = append(oddHash, x.Name)
			line += " (differs)"
		}
		c.Details = append(c.Details, line)
	}
	switch {
	case len(errs) > 0:
		return failed(c, "hashkv failed on "+strings.Join(errs, ", "))
	case len(oddRev) > 0:
		return failed(c, fmt.Sprintf("hashes taken at different revisions: %s not at %d", strings.Join(oddRev, ", "), rev))
	case len(oddHash) > 0:
		return failed(c, fmt.Sprintf("hashes diverge at revision %d: %s differs", rev, strings.Join(oddHash, ", ")))
	}
	return passed(c, fmt.Sprintf("%d members hash=%d at revision %d", len(h), hash, rev))
}

// label names a member in check output: its name, else its endpoint, else
// its ID.
func (s Status) label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Endpoint != "":
		return s.Endpoint
	}
	return fmt.Sprintf("%x", s.ID)
}

func reachable(st []Status) []Status {
	return slices.DeleteFunc(slices.Clone(st), func(s Status) bool { return s.Err != "" })
}
