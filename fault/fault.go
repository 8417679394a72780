// Package fault injects the failures drills recover from. A fault picks
// its members with a Target, records what it did as drill steps, and
// returns an Undo (nil when the damage is permanent).
package fault

import (
	"context"
	"fmt"
	"sort"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Undo reverses a fault; nil means the fault cannot be undone.
type Undo func(ctx context.Context) error

// Fault is one kind of failure.
type Fault interface {
	Name() string
	Inject(ctx context.Context, c *harness.Cluster, log *record.Log) ([]*harness.Member, Undo, error)
}

// Target picks the members a fault acts on.
type Target interface {
	Name() string
	Pick(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error)
}

type target struct {
	name string
	pick func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error)
}

func (t target) Name() string { return t.name }
func (t target) Pick(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
	return t.pick(ctx, c)
}

// Leader targets the current leader.
func Leader() Target {
	return target{"leader", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		return []*harness.Member{l}, nil
	}}
}

// Majority targets a quorum's worth of members, ⌊n/2⌋+1, so the rest can
// no longer make progress. It takes the leader first, then followers in
// name order, so the survivors are always followers.
func Majority() Target {
	return target{"majority", func(ctx context.Context, c *harness.Cluster) ([]*harness.Member, error) {
		l, err := c.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		return PickMajority(c.Members(), l), nil
	}}
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

// Kill SIGKILLs the target's members; Undo starts them again with their
// data intact.
func Kill(t Target) Fault { return kill{t} }

type kill struct{ t Target }

func (k kill) Name() string { return "kill-" + k.t.Name() }

func (k kill) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) ([]*harness.Member, Undo, error) {
	ms, err := k.t.Pick(ctx, c)
	if err != nil {
		return nil, nil, fmt.Errorf("pick %s: %w", k.t.Name(), err)
	}
	for _, m := range ms {
		if err := log.Do(record.PhaseFault, "SIGKILL etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
			return record.Action{Command: "docker kill --signal=KILL " + m.ContainerName()}, m.Kill(ctx)
		}); err != nil {
			return ms, nil, err
		}
	}
	undo := func(ctx context.Context) error {
		for _, m := range ms {
			if err := log.Do(record.PhaseRecovery, "start etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
				return record.Action{Command: "docker start " + m.ContainerName()}, m.Start(ctx)
			}); err != nil {
				return err
			}
		}
		return nil
	}
	return ms, undo, nil
}

// Destroy SIGKILLs the target's members and deletes their data dirs: the
// machines are lost for good. There is no Undo.
func Destroy(t Target) Fault { return destroy{t} }

type destroy struct{ t Target }

func (d destroy) Name() string { return "destroy-" + d.t.Name() }

func (d destroy) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) ([]*harness.Member, Undo, error) {
	ms, err := d.t.Pick(ctx, c)
	if err != nil {
		return nil, nil, fmt.Errorf("pick %s: %w", d.t.Name(), err)
	}
	for _, m := range ms {
		if err := log.Do(record.PhaseFault, "lose "+m.Name()+" and its data dir", m.Name(), func() (record.Action, error) {
			a := record.Action{Command: fmt.Sprintf("docker kill --signal=KILL %[1]s && docker rm %[1]s && docker volume rm %[1]s-data  # rm -rf %[2]s", m.ContainerName(), harness.DataDir)}
			if err := m.Kill(ctx); err != nil {
				return a, err
			}
			return a, m.Wipe(ctx)
		}); err != nil {
			return ms, nil, err
		}
	}
	return ms, nil, nil
}
