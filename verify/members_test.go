package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

const (
	id1     = 0x8e9e05c52164694d
	id2     = 0x91bc3c398fb3c146
	id3     = 0xfd422379fda50e48
	cluster = 0xcdf818194e3a8c32
)

// healthy is what endpoint status shows for a settled 3-member cluster
// led by m1.
func healthy() []Status {
	st := []Status{
		{Name: "m1", Endpoint: "http://m1:2379", ID: id1},
		{Name: "m2", Endpoint: "http://m2:2379", ID: id2},
		{Name: "m3", Endpoint: "http://m3:2379", ID: id3},
	}
	for i := range st {
		st[i].Leader, st[i].ClusterID, st[i].RaftTerm, st[i].RaftIndex = id1, cluster, 5, 120
	}
	return st
}

// planted returns a healthy status list with a defect f plants.
func planted(f func(st []Status)) []Status {
	st := healthy()
	f(st)
	return st
}

func TestStatusChecks(t *testing.T) {
	tests := []struct {
		name   string
		check  func([]Status) record.Check
		st     []Status
		want   record.Verdict
		plants string // must appear in the summary or details
	}{
		{"health ok", Health, healthy(), record.Pass, "3 of 3"},
		{"health unreachable", Health, planted(func(st []Status) { st[1].Err = "context deadline exceeded" }), record.Fail, "m2"},
		{"health unreachable unnamed", Health, planted(func(st []Status) { st[2].Name, st[2].Err = "", "connection refused" }), record.Fail, "http://m3:2379"},
		{"health empty", Health, nil, record.Fail, "no members"},

		{"leader ok", Leader, healthy(), record.Pass, "m1"},
		{"leader ok with a member down", Leader, planted(func(st []Status) { st[2] = Status{Name: "m3", Err: "refused"} }), record.Pass, "m1"},
		{"leader none", Leader, planted(func(st []Status) { st[0].Leader = 0 }), record.Fail, "m1"},
		{"leader split brain", Leader, planted(func(st []Status) { st[2].Leader = id3 }), record.Fail, "fd422379fda50e48"},
		{"leader not a member", Leader, planted(func(st []Status) {
			for i := range st {
				st[i].Leader = 0xdead
			}
		}), record.Fail, "dead"},
		{"leader unreachable", Leader, planted(func(st []Status) { st[0].Err = "refused" }), record.Fail, "8e9e05c52164694d"},
		{"leader id twice", Leader, planted(func(st []Status) { st[1].ID = id1 }), record.Fail, "m2"},
		{"leader empty", Leader, nil, record.Fail, "no reachable"},
		{"leader all unreachable", Leader, planted(func(st []Status) {
			for i := range st {
				st[i].Err = "refused"
			}
		}), record.Fail, "no reachable"},

		{"term ok", Term, healthy(), record.Pass, "raft term 5"},
		{"term differs", Term, planted(func(st []Status) { st[2].RaftTerm = 6 }), record.Fail, "m3"},
		{"term zero", Term, planted(func(st []Status) { st[1].RaftTerm = 0 }), record.Fail, "m2"},
		{"term ignores unreachable", Term, planted(func(st []Status) { st[2].RaftTerm, st[2].Err = 0, "refused" }), record.Pass, "2 reachable"},
		{"term empty", Term, nil, record.Fail, "no reachable"},

		{"cluster ok", SameCluster, healthy(), record.Pass, "cdf818194e3a8c32"},
		{"cluster differs", SameCluster, planted(func(st []Status) { st[1].ClusterID = 0xbeef }), record.Fail, "m2"},
		{"cluster zero", SameCluster, planted(func(st []Status) { st[0].ClusterID = 0 }), record.Fail, "m1"},
		{"cluster empty", SameCluster, nil, record.Fail, "no reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCheck(t, tt.check(tt.st), tt.want, tt.plants)
		})
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		want string
		c    record.Check
	}{
		{"health", Health(nil)},
		{"leader", Leader(nil)},
		{"raft-term", Term(nil)},
		{"cluster-id", SameCluster(nil)},
		{"membership", Membership(nil, nil)},
		{"alarms", Alarms(nil)},
		{"hashkv", HashKV(nil)},
		{"key-integrity", Integrity(nil, nil, IntegrityOptions{}).Check()},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.c.Name != tt.want {
				t.Errorf("Name = %q, want %q", tt.c.Name, tt.want)
			}
		})
	}
}

func expected() []Member {
	return []Member{
		{Name: "m1", PeerURLs: []string{"http://m1:2380"}},
		{Name: "m2", PeerURLs: []string{"http://m2:2380", "https://m2:2380"}},
		{Name: "m3", ID: id3, PeerURLs: []string{"http://m3:2380"}},
	}
}

// listed changes the member list etcd would print for expected().
func listed(f func(m []Member) []Member) []Member {
	m := []Member{
		{Name: "m3", ID: id3, PeerURLs: []string{"http://m3:2380"}},
		{Name: "m1", ID: id1, PeerURLs: []string{"http://m1:2380"}},
		{Name: "m2", ID: id2, PeerURLs: []string{"https://m2:2380", "http://m2:2380"}},
	}
	return f(m)
}

func TestMembership(t *testing.T) {
	same := func(m []Member) []Member { return m }
	tests := []struct {
		name   string
		got    []Member
		want   record.Verdict
		plants string
	}{
		{"same in any order", listed(same), record.Pass, "3 members"},
		{"missing", listed(func(m []Member) []Member { return m[:2] }), record.Fail, "m2"},
		{"extra", listed(func(m []Member) []Member { return append(m, Member{Name: "m4", ID: 0x4d}) }), record.Fail, "m4"},
		{"extra unstarted", listed(func(m []Member) []Member {
			return append(m, Member{ID: 0xabc, PeerURLs: []string{"http://m4:2380"}})
		}), record.Fail, "abc"},
		{"wrong peer url", listed(func(m []Member) []Member { m[1].PeerURLs = []string{"http://old-m1:2380"}; return m }), record.Fail, "http://old-m1:2380"},
		{"learner", listed(func(m []Member) []Member { m[0].IsLearner = true; return m }), record.Fail, "m3"},
		{"wrong id", listed(func(m []Member) []Member { m[0].ID = 0x99; return m }), record.Fail, "m3"},
		{"listed twice", listed(func(m []Member) []Member { return append(m, m[1]) }), record.Fail, "m1"},
		{"empty list", nil, record.Fail, "m1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCheck(t, Membership(tt.got, expected()), tt.want, tt.plants)
		})
	}
	t.Run("nothing expected", func(t *testing.T) {
		assertCheck(t, Membership(listed(same), nil), record.Fail, "no expected")
	})
}

func TestAlarms(t *testing.T) {
	tests := []struct {
		name   string
		a      []Alarm
		want   record.Verdict
		plants string
	}{
		{"none", nil, record.Pass, "no alarms"},
		{"nospace", []Alarm{{MemberID: id2, Alarm: "NOSPACE"}}, record.Fail, "member 91bc3c398fb3c146: NOSPACE"},
		{"corrupt", []Alarm{{MemberID: id3, Alarm: "CORRUPT"}, {MemberID: id1, Alarm: "NOSPACE"}}, record.Fail, "member fd422379fda50e48: CORRUPT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCheck(t, Alarms(tt.a), tt.want, tt.plants)
		})
	}
}

func hashes(f func(h []Hash)) []Hash {
	h := []Hash{
		{Name: "m1", Revision: 812, CompactRevision: 700, Hash: 3141592653},
		{Name: "m2", Revision: 812, CompactRevision: 700, Hash: 3141592653},
		{Name: "m3", Revision: 812, CompactRevision: 700, Hash: 3141592653},
	}
	f(h)
	return h
}

func TestHashKV(t *testing.T) {
	tests := []struct {
		name   string
		h      []Hash
		want   record.Verdict
		plants string
	}{
		{"equal", hashes(func([]Hash) {}), record.Pass, "hash=3141592653 at revision 812"},
		{"diverged", hashes(func(h []Hash) { h[1].Hash = 27 }), record.Fail, "m2 revision=812 compact-revision=700 hash=27 (differs)"},
		{"diverged first", hashes(func(h []Hash) { h[0].Hash = 27 }), record.Fail, "m1 revision=812 compact-revision=700 hash=27 (differs)"},
		{"different revisions", hashes(func(h []Hash) { h[2].Revision = 813 }), record.Fail, "m3 not at 812"},
		{"error", hashes(func(h []Hash) { h[2].Err = "context deadline exceeded" }), record.Fail, "m3: context deadline exceeded"},
		{"empty", nil, record.Fail, "no hashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCheck(t, HashKV(tt.h), tt.want, tt.plants)
		})
	}
}

// assertCheck fails t unless c has verdict want and s appears in its
// summary or details.
func assertCheck(t *testing.T, c record.Check, want record.Verdict, s string) {
	t.Helper()
	if c.Verdict != want {
		t.Errorf("%s: Verdict = %s, want %s; summary %q", c.Name, c.Verdict, want, c.Summary)
	}
	if !strings.Contains(c.Summary, s) && !contains(c.Details, s) {
		t.Errorf("%s: %q not in summary %q or details %q", c.Name, s, c.Summary, c.Details)
	}
}
