package fault

import (
	"context"
	"fmt"
	"sort"

	"github.com/etcdrill/etcdrill/harness"
)

// Follower targets one member that is not the leader: the last in name
// order, so m1 stays up for the operator to work on. With one member there
// is no follower and Pick fails.
func Follower() Target {
	return target{"follower", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		f := PickFollower(c.Members(), l)
		if f == nil {
			return nil, fmt.Errorf("no follower among %d members (leader %s)", len(c.Members()), l.Name())
		}
		return []*harness.Member{f}, nil
	}}
}

// PickFollower returns the member last in name order that is not leader,
// or nil when every member is the leader or there are none. A nil leader
// makes every member a follower.
func PickFollower(members []*harness.Member, leader *harness.Member) *harness.Member {
	rest := make([]*harness.Member, 0, len(members))
	for _, m := range members {
		if m != leader {
			rest = append(rest, m)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Name() > rest[j].Name() })
	return rest[0]
}
