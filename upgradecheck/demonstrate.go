package upgradecheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/upgrade"
)

// demo reproduces the hazard an advisory predicts on a throwaway cluster
// of From: setup builds the state the hazard needs, then one member moves
// to To and must fail saying expect.
type demo struct {
	setup  func(ctx context.Context, u *run, d *drill.Drill) error
	expect string
}

// demos are the advisories --demonstrate can reproduce here, by ID.
var demos = map[string]demo{
	// etcd's own e2e test (TestClusterUpgradeAfterPromotingMembers) sees
	// the same fatal line when a cluster built by promoting learners on an
	// affected 3.5 moves to 3.6.
	"learner-promotion-19557": {setup: promoteTwoLearners, expect: "too many learner member"},
}

// demonstrable is the first blocker with a demo, or "" and why none can
// be shown here.
func demonstrable(fs []upgrade.Finding) (string, string) {
	var why []string
	for _, f := range upgrade.Filter(fs, upgrade.Blocker) {
		if _, ok := demos[f.Advisory]; ok {
			return f.Advisory, ""
		}
		why = append(why, f.ID)
	}
	return "", fmt.Sprintf("no blocker on this path can be reproduced in containers here (%s)", strings.Join(why, ", "))
}

// demoSteps run a blocked path anyway, on a throwaway cluster: the state
// the hazard needs, one member moved to To (which must fail as the gate
// predicts), the member put back on From, and the cluster checked whole.
func (u *run) demoSteps() []drill.Step {
	return []drill.Step{
		{Title: "check the gates", Do: u.gate},
		{Title: "build or reuse both images", Do: u.images},
		{Title: "start a cluster on " + u.from.String(), Do: u.startCluster},
		{Title: "write under load", Do: drill.StartLoad},
		{Title: "build the state the hazard needs on " + u.from.String(), Do: func(ctx context.Context, d *drill.Drill) error {
			return demos[u.demo].setup(ctx, u, d)
		}},
		{Title: "move one member to " + u.to.String() + ": the gate predicts it fails", Do: u.strike},
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "verify members and keys", Do: drill.VerifyAll},
	}
}

// promoteTwoLearners grows the cluster the way issue 19557 needs: two
// members added as learners and promoted, one after the other (etcd
// allows one learner at a time). On 3.5.1–3.5.19 each promotion reaches
// the v2 store but not the v3 store.
func promoteTwoLearners(ctx context.Context, u *run, d *drill.Drill) error {
	c := d.Cluster
	ops := c.Members()[0]
	for i := range 2 {
		name := fmt.Sprintf("m%d", len(c.Members())+1)
		a, err := recovery.AddMember(ctx, d.Log, record.PhaseSetup, fmt.Sprintf("add %s as a learner (%d of 2)", name, i+1), c, ops, name, harness.PeerURL(name, c.Config().TLS), true)
		if err != nil {
			return err
		}
		m, err := c.AddMember(ctx, name)
		if err != nil {
			return err
		}
		if err := recovery.StartMember(ctx, d.Log, c, m, c.Spec(name, a.InitialCluster, "existing"), "start etcd "+u.from.String()+" on "+name); err != nil {
			return err
		}
		if err := recovery.PromoteLearner(ctx, d.Log, c, ops, name, a.ID); err != nil {
			return err
		}
	}
	return recovery.WaitHealthy(ctx, d.Log, c, ops)
}

// strike moves one follower to To, as the first step of a rolling
// upgrade, and waits for it to stop; its log must say what the demo
// expects. The member then goes back to From and the cluster must be
// healthy: the demonstration broke nothing.
func (u *run) strike(ctx context.Context, d *drill.Drill) error {
	c := d.Cluster
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		return err
	}
	m := fault.PickFollower(c.Members(), leader)
	if err := recovery.StopKeepData(ctx, d.Log, m); err != nil {
		return err
	}
	spec := m.Spec()
	spec.State = "existing"
	m.SetVersion(u.imgs[1], u.to)
	if err := recovery.StartMember(ctx, d.Log, c, m, spec, fmt.Sprintf("start etcd %s on %s", u.to, m.Name())); err != nil {
		return err
	}
	want := demos[u.demo].expect
	var line string
	err = d.Log.Do(record.PhaseObserve, fmt.Sprintf("etcd %s on %s stops: %s", u.to, m.Name(), want), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: "docker logs " + m.ContainerName() + "  # journalctl -u etcd"}
		wctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.ClusterReady)
		defer cancel()
		if err := harness.Poll(wctx, 250*time.Millisecond, func(ctx context.Context) error {
			if m.Running(ctx) {
				return errors.New("etcd still running")
			}
			return nil
		}); err != nil {
			return a, fmt.Errorf("etcd %s kept running on %s: the hazard did not show: %w", u.to, m.Name(), err)
		}
		logs, err := m.Logs(ctx)
		if err != nil {
			return a, err
		}
		line = record.Refusal{Says: []string{want}}.Match(logs)
		a.Output = line
		if line == "" {
			return a, fmt.Errorf("etcd %s stopped on %s, but its log does not say %q", u.to, m.Name(), want)
		}
		return a, nil
	})
	check := record.Check{Name: "demonstrate " + u.demo, Verdict: record.Pass,
		Summary: fmt.Sprintf("the gate's prediction was observed: etcd %s refused to start on %s: %s", u.to, m.Name(), line)}
	if err != nil {
		check.Verdict, check.Summary = record.Fail, err.Error()
	} else {
		u.res.Demonstrated = append(u.res.Demonstrated, u.demo)
	}
	d.AddChecks(check)
	if err != nil {
		return err
	}
	if err := recovery.StopKeepData(ctx, d.Log, m); err != nil {
		return err
	}
	m.SetVersion(u.imgs[0], u.from)
	if err := recovery.StartMember(ctx, d.Log, c, m, spec, fmt.Sprintf("put %s back on etcd %s", m.Name(), u.from)); err != nil {
		return err
	}
	return recovery.WaitHealthy(ctx, d.Log, c, m)
}
