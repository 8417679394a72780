package fault

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// splits numbers the side networks of this process's partitions.
var splits atomic.Int64

// Partition cuts the target's members off from the others' peer traffic
// while every client port stays reachable: each member of the side leaves
// the run's peer network (`docker network disconnect`); a side of several
// members first joins a side network of its own, so its members still
// reach each other (see harness.Cluster.Isolate). Undo heals: the side
// rejoins the peer network under its mN aliases and the side network is
// removed. Every `docker network` command is recorded as a step.
func Partition(t Target) Fault { return partition{t} }

type partition struct{ t Target }

func (p partition) Name() string   { return "partition-" + p.t.Name() }
func (p partition) Target() Target { return p.t }

// ClusterOptions: a partition cuts the peer network only.
func (p partition) ClusterOptions() []harness.Option {
	return []harness.Option{harness.WithPeerNetwork()}
}

// Available needs 3 members: with 2, neither side has a quorum, and with
// 1 there is no other side.
func (p partition) Available(env Env) error {
	if env.Members < 3 {
		return fmt.Errorf("a partition of a %d-member cluster leaves no side with a quorum", env.Members)
	}
	return p.t.Available(env)
}

func (p partition) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := p.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	split, err := c.Isolate(ms, int(splits.Add(1)))
	if err != nil {
		return Injection{Victims: ms}, err
	}
	// Heal is the undo even when the cut stops half way: it puts back
	// whatever it finds cut, and reports the rest.
	undo := func(ctx context.Context) error { return runOps(ctx, log, record.PhaseRecovery, split.Heal, true) }
	if err := runOps(ctx, log, record.PhaseFault, split.Cut, false); err != nil {
		return Injection{Victims: ms, Undo: undo}, err
	}
	return Injection{Victims: ms, Undo: undo, At: time.Now()}, nil
}

// runOps records each op as a step; with all, it goes on after a failure
// and joins the errors, as a heal must.
func runOps(ctx context.Context, log *record.Log, phase record.Phase, ops []harness.NetOp, all bool) error {
	var errs []error
	for _, op := range ops {
		err := log.Do(phase, op.Title, op.Member, func() (record.Action, error) {
			return record.Action{Command: op.Command}, op.Run(ctx)
		})
		if err != nil && !all {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
