package upgradecheck

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/upgrade"
)

// hop is one rolling replacement of every member: to a version, with
// its image.
type hop struct {
	to  harness.Version
	img harness.Image
}

// roll replaces every member not yet on h.to, followers first and the
// leader last, so the cluster elects once at most. A hop to an older
// minor first enables the downgrade, as etcd requires. The longest write
// outage of any member's step is the drill's outage, its RTO.
func (u *run) roll(ctx context.Context, h hop) ([]MemberUpgrade, error) {
	d := u.d
	if cur := d.Cluster.Members()[0].Version(); h.to.Minor < cur.Minor {
		if err := u.enableDowngrade(ctx, h.to); err != nil {
			return nil, err
		}
	}
	out := drill.State[drill.Outage](d)
	var ms []MemberUpgrade
	for range d.Cluster.Members() {
		m := u.next(ctx, h.to)
		if m == nil {
			break
		}
		stopAt := time.Now()
		mu, err := u.replace(ctx, m, h)
		// A refused step counts too: its member was stopped as well.
		if t, ok := d.Ledger.FirstAckAfter(stopAt); ok && (out.FaultAt.IsZero() || t.Sub(stopAt) > out.RecoveredAt.Sub(out.FaultAt)) {
			out.FaultAt, out.RecoveredAt = stopAt, t
		}
		if err != nil {
			return ms, err
		}
		ms = append(ms, mu)
	}
	return ms, nil
}

// next picks a member not yet on v, a follower when there is one.
func (u *run) next(ctx context.Context, v harness.Version) *harness.Member {
	leader, _ := u.d.Cluster.Leader(ctx)
	var pick *harness.Member
	for _, m := range u.d.Cluster.Members() {
		if m.Version() == v {
			continue
		}
		if pick == nil || pick == leader {
			pick = m
		}
	}
	return pick
}

// replace is one step of a rolling upgrade or downgrade, as an operator
// does it on the member's host: stop etcd, check the data dir where the
// path needs it, swap the binary, start etcd with the flags the new
// version takes, wait until the cluster is ready, then check it.
func (u *run) replace(ctx context.Context, m *harness.Member, h hop) (MemberUpgrade, error) {
	d := u.d
	c, log := d.Cluster, d.Log
	mu := MemberUpgrade{Name: m.Name()}
	if l, err := c.Leader(ctx); err == nil {
		mu.WasLeader = l == m
	}
	start := time.Now()
	if err := recovery.StopKeepData(ctx, log, m); err != nil {
		return mu, err
	}
	spec := m.Spec()
	spec.State = "existing" // the data dir exists; etcd ignores the bootstrap flags
	if cur := m.Version(); upgrade.NeedsV2Check(cur, h.to) && upgrade.HasCheckV2Store(cur) {
		if err := u.checkV2Store(ctx, m, spec); err != nil {
			return mu, err
		}
	}
	m.SetVersion(h.img, h.to)
	spec.EnableV2 = spec.EnableV2 && h.to.HasV2()
	if err := recovery.StartMember(ctx, log, c, m, spec, fmt.Sprintf("start etcd %s on %s", h.to, m.Name())); err != nil {
		return mu, err
	}
	err := log.Do(record.PhaseObserve, fmt.Sprintf("wait until the cluster is ready with %s on %s", m.Name(), h.to), m.Name(), func() (record.Action, error) {
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		mu.OutMillis = time.Since(start).Milliseconds()
		var err error
		if mu.Server, mu.Cluster, err = m.ClusterVersion(ctx); err != nil {
			return record.Action{}, err
		}
		e, err := recovery.EndpointStatusTable(ctx, c, m)
		e.Output = fmt.Sprintf("%s out for %s; GET /version: server %s, cluster %s\n%s", m.Name(), time.Duration(mu.OutMillis)*time.Millisecond, mu.Server, mu.Cluster, e.Output)
		return e, err
	})
	if err != nil {
		return mu, err
	}
	d.Event("upgrade", fmt.Sprintf("%s on %s; cluster version %s", m.Name(), mu.Server, mu.Cluster))
	return mu, u.checkStep(ctx, mu, h.to)
}

// pollClusterVersion polls until every member reports the cluster version
// of v's minor, within the cluster-ready timeout.
func (u *run) pollClusterVersion(ctx context.Context, v harness.Version) error {
	want := v.MinorString()
	ctx, cancel := context.WithTimeout(ctx, u.d.Config.Timeouts.ClusterReady)
	defer cancel()
	return harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) error {
		for _, m := range u.d.Cluster.Members() {
			if _, cv, err := m.ClusterVersion(ctx); err != nil || cv != want {
				return fmt.Errorf("%s reports cluster version %q (%v), want %s", m.Name(), cv, err, want)
			}
		}
		return nil
	})
}

// waitClusterVersion polls until every member reports the cluster version
// of v's minor: the leader raises it once all members run v.
func (u *run) waitClusterVersion(ctx context.Context, v harness.Version, name string) error {
	d := u.d
	want := v.MinorString()
	check := record.Check{Name: name, Verdict: record.Pass}
	err := d.Log.Do(record.PhaseObserve, "the cluster version reaches "+want, "", func() (record.Action, error) {
		if err := u.pollClusterVersion(ctx, v); err != nil {
			return record.Action{}, err
		}
		return u.versions(ctx)
	})
	check.Summary = fmt.Sprintf("cluster version %s after every member moved to %s", u.cv, v)
	if err != nil {
		check.Verdict, check.Summary = record.Fail, err.Error()
	}
	d.AddChecks(check)
	return err
}
