package fault

import (
	"context"
	"fmt"
	"sort"

	"github.com/etcdrill/etcdrill/harness"
)

// Target picks the members a fault acts on.
type Target interface {
	Name() string
	// Available says why the target cannot be picked in a cluster of
	// env.Members, or nil.
	Available(env Env) error
	Pick(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error)
}

type target struct {
	name string
	min  int    // fewest members the target makes sense in
	why  string // why it needs min
	pick func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error)
}

func (t target) Name() string { return t.name }

func (t target) Available(env Env) error {
	if env.Members < t.min {
		return fmt.Errorf("%s of a %d-member cluster: %s", t.name, env.Members, t.why)
	}
	return nil
}

func (t target) Pick(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
	ms, err := t.pick(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("pick %s: %w", t.name, err)
	}
	return ms, nil
}

// Leader targets the current leader.
func Leader() Target {
	return target{"leader", 1, "", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		return []*harness.Member{l}, nil
	}}
}

// Follower targets one member that is not the leader: the last in name
// order, so m1 stays up for the operator to work on.
func Follower() Target {
	return target{"follower", 2, "there is no follower", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
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

// Majority targets a quorum's worth of members, ⌊n/2⌋+1, so the rest can
// no longer make progress. It takes the leader first, then followers in
// name order from the end, so the survivors are always followers and m1
// survives longest. It needs 3 members: with 1, nothing survives to show
// the loss.
func Majority() Target {
	return target{"majority", 3, "no member would survive to show the lost quorum", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		return PickMajority(c.Members(), l), nil
	}}
}

// Every targets every member.
func Every() Target {
	return target{"every member", 1, "", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		return c.Members(), nil
	}}
}

// Nothing is the target of a fault that damages a file, not a member.
func Nothing(what string) Target {
	return target{what, 0, "", func(context.Context, *harness.Cluster) ([]*harness.Member, error) { return nil, nil }}
}

// PickMajority returns ⌊n/2⌋+1 of members: leader first (when non-nil),
// then the others in name order from the end, so m1 survives longest.
func PickMajority(members []*harness.Member, leader *harness.Member) []*harness.Member {
	need := len(members)/2 + 1
	rest := make([]*harness.Member, 0, len(members))
	var out []*harness.Member
	for _, m := range members {
		if m == leader {
			out = append(out, m)
		} else {
			rest = append(rest, m)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Name() > rest[j].Name() })
	for _, m := range rest {
		if len(out) == need {
			break
		}
		out = append(out, m)
	}
	return out
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

// Minority targets ⌊(n-1)/2⌋ members, the most that can be cut off while
// the others keep a quorum: the leader first, then followers in name
// order from the end, so the cut-off side holds the leader, which must
// step down, and m1 stays with the majority. It needs 3 members: with
// fewer, the minority is empty.
func Minority() Target {
	return target{"minority", 3, "the minority would be empty", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		return PickMinority(c.Members(), l), nil
	}}
}

// PickMinority returns ⌊(n-1)/2⌋ of members: leader first (when non-nil
// and among them), then the others in name order from the end.
func PickMinority(members []*harness.Member, leader *harness.Member) []*harness.Member {
	need := (len(members) - 1) / 2
	maj := PickMajority(members, leader)
	if len(maj) > need {
		maj = maj[:need]
	}
	return maj
}
