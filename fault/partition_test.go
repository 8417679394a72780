package fault

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

func TestPickMinority(t *testing.T) {
	for _, tc := range []struct {
		n, leader, want int
	}{
		{3, 0, 1}, {3, 2, 1}, {4, 1, 1}, {5, 4, 2}, {5, -1, 2}, {2, 0, 0}, {1, 0, 0}, {0, -1, 0},
	} {
		ms := zeroMembers(tc.n)
		var leader *harness.Member
		if tc.leader >= 0 && tc.leader < tc.n {
			leader = ms[tc.leader]
		}
		got := PickMinority(ms, leader)
		if len(got) != tc.want {
			t.Errorf("PickMinority of %d picked %d, want %d", tc.n, len(got), tc.want)
			continue
		}
		if leader != nil && len(got) > 0 && got[0] != leader {
			t.Errorf("PickMinority of %d: the leader is not picked first", tc.n)
		}
		seen := map[*harness.Member]bool{}
		for _, m := range got {
			if seen[m] {
				t.Errorf("PickMinority of %d repeats a member", tc.n)
			}
			seen[m] = true
		}
		if rest := tc.n - len(got); tc.n > 0 && rest <= len(got) {
			t.Errorf("PickMinority of %d leaves %d, no majority", tc.n, rest)
		}
	}
}

func TestPartitionAndPauseAvailable(t *testing.T) {
	for _, tc := range []struct {
		f       Fault
		members int
		why     string // "" when available
	}{
		{Partition(Leader()), 3, ""},
		{Partition(Follower()), 3, ""},
		{Partition(Minority()), 5, ""},
		{Partition(Minority()), 3, ""},
		{Partition(Leader()), 1, "no side with a quorum"},
		{Partition(Follower()), 2, "no side with a quorum"},
		{Pause(Leader()), 3, ""},
		{Pause(Follower()), 1, "there is no follower"},
	} {
		err := tc.f.Available(Env{Members: tc.members})
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("%s on %d members: %v", tc.f.Name(), tc.members, err)
		case tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("%s on %d members: got %v, want an error saying %q", tc.f.Name(), tc.members, err, tc.why)
		}
	}
	if got := Partition(Minority()).Name(); got != "partition-minority" {
		t.Errorf("name %q", got)
	}
	if got := Pause(Leader()).Name(); got != "pause-leader" {
		t.Errorf("name %q", got)
	}
}
