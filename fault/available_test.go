package fault

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

// TestAvailable: a fault says before anything starts why it cannot apply
// to a cluster size, in one line.
func TestAvailable(t *testing.T) {
	v := harness.MustVersion(harness.DefaultVersion)
	for _, tc := range []struct {
		f       Fault
		members int
		want    string // "" when it applies
	}{
		{Destroy(Majority()), 1, "majority of a 1-member cluster"},
		{Destroy(Majority()), 3, ""},
		{Destroy(Majority()), 5, ""},
		{Kill(Follower()), 1, "follower of a 1-member cluster"},
		{Kill(Follower()), 3, ""},
		{Kill(Leader()), 1, ""},
		{Destroy(Leader()), 1, ""},
		{FillQuota(4<<20, 1), 1, ""},
		{AddWrongPeer("m4", false), 1, ""},
	} {
		err := tc.f.Available(Env{Members: tc.members, Version: v})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s on %d members: %v, want it to apply", tc.f.Name(), tc.members, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s on %d members: %v, want one line saying %q", tc.f.Name(), tc.members, err, tc.want)
		}
	}
}
