package fault

import (
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

// harness.Member has only unexported fields and no constructor that works
// without Docker, so these tests use zero Members: distinct pointers whose
// Name() is "". That checks how many members PickMajority takes, that the
// leader comes first, and that nothing is picked twice or from outside the
// list; the name order of the followers cannot be checked from here.
func zeroMembers(n int) []*harness.Member {
	ms := make([]*harness.Member, n)
	for i := range ms {
		ms[i] = &harness.Member{}
	}
	return ms
}

func TestPickMajority(t *testing.T) {
	const none = -1     // no leader
	const stranger = -2 // a leader that is not among the members
	for _, tc := range []struct {
		name   string
		n      int
		leader int
		want   int
	}{
		{"1 member", 1, 0, 1},
		{"2 members", 2, 1, 2},
		{"3 members leader m1", 3, 0, 2},
		{"3 members leader m3", 3, 2, 2},
		{"4 members", 4, 3, 3},
		{"5 members", 5, 2, 3},
		{"3 members no leader", 3, none, 2},
		{"3 members foreign leader", 3, stranger, 2},
		{"no members", 0, none, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := zeroMembers(tc.n)
			var leader *harness.Member
			switch tc.leader {
			case none:
			case stranger:
				leader = &harness.Member{}
			default:
				leader = ms[tc.leader]
			}
			got := PickMajority(ms, leader)
			if len(got) != tc.want {
				t.Fatalf("PickMajority of %d picked %d, want %d", tc.n, len(got), tc.want)
			}
			in := map[*harness.Member]bool{}
			for _, m := range ms {
				in[m] = true
			}
			seen := map[*harness.Member]bool{}
			for i, m := range got {
				if !in[m] {
					t.Errorf("pick %d is not one of the members", i)
				}
				if seen[m] {
					t.Errorf("pick %d repeats a member", i)
				}
				seen[m] = true
			}
			if tc.leader >= 0 && got[0] != leader {
				t.Errorf("leader is not picked first")
			}
		})
	}
}

// The faults that act on peer traffic alone ask for a peer network of
// their own; the others leave the cluster on one network.
func TestClusterOptionsAskPeerNetworkForPeerTrafficFaults(t *testing.T) {
	for _, tc := range []struct {
		f    Fault
		want bool
	}{
		{Partition(Follower()), true},
		{Partition(Minority()), true},
		{SlowLinks(Every(), 100, 10), true},
		{LossyLinks(Leader(), 5), true},
		{Kill(Leader()), false},
		{Pause(Leader()), false},
		{Destroy(Follower()), false},
	} {
		cfg, _, err := harness.NewConfig(ClusterOptions(tc.f)...)
		if err != nil {
			t.Fatalf("%s: %v", tc.f.Name(), err)
		}
		if cfg.PeerNetwork != tc.want {
			t.Errorf("%s: peer network %v, want %v", tc.f.Name(), cfg.PeerNetwork, tc.want)
		}
	}
	// A drill's faults together: one that needs it is enough.
	cfg, _, err := harness.NewConfig(ClusterOptions(Kill(Leader()), Partition(Leader()))...)
	if err != nil || !cfg.PeerNetwork {
		t.Errorf("kill and partition together: peer network %v (%v), want true", cfg.PeerNetwork, err)
	}
}
