package fault

import (
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

// Zero Members all have the name "", so this checks that the leader is
// never picked and that there is no follower to pick when only the leader
// is left; the name order is not visible from here.
func TestPickFollower(t *testing.T) {
	const none = -1 // no leader known
	for _, tc := range []struct {
		name   string
		n      int
		leader int
		wantOK bool
	}{
		{"3 members leader m1", 3, 0, true},
		{"3 members leader m3", 3, 2, true},
		{"5 members", 5, 4, true},
		{"1 member is the leader", 1, 0, false},
		{"no members", 0, none, false},
		{"no leader", 3, none, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := zeroMembers(tc.n)
			var leader *harness.Member
			if tc.leader >= 0 {
				leader = ms[tc.leader]
			}
			got := PickFollower(ms, leader)
			if (got != nil) != tc.wantOK {
				t.Fatalf("PickFollower = %v, want a follower: %v", got, tc.wantOK)
			}
			if got == nil {
				return
			}
			if got == leader {
				t.Fatal("PickFollower picked the leader")
			}
			found := false
			for _, m := range ms {
				found = found || m == got
			}
			if !found {
				t.Fatal("PickFollower picked a member that is not in the list")
			}
		})
	}
}
