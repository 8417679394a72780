package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/upgrade"
)

// rehearse runs everything after the gates: images, a cluster on From
// under load, the data-dir check, the rolling upgrade, the checks, and
// the fallback restore.
func (u *upgradeRun) rehearse(ctx context.Context) error {
	d := u.d
	if err := u.images(ctx); err != nil {
		return err
	}
	if err := startCluster(ctx, d); err != nil {
		return err
	}
	u.runID = d.Cluster.RunID()
	if err := u.readVersions(ctx, "the cluster runs "+u.from.String()); err != nil {
		return err
	}
	u.res.ClusterVersion = u.cv
	if err := startLoad(ctx, d); err != nil {
		return err
	}
	if u.o.V2 {
		if err := writeV2(ctx, d); err != nil {
			return err
		}
	}
	snap, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
	if err != nil {
		return err
	}
	u.snap, d.Record.Metrics.SnapshotRevision = snap, snap.Status.Revision
	if u.o.DataDir != "" {
		if err := u.checkDataDir(ctx); err != nil {
			return u.settle(ctx, err)
		}
	}
	ms, err := u.roll(ctx, hop{to: u.to, img: u.imgs[1]})
	u.res.Members = ms
	if err != nil {
		return u.settle(ctx, err)
	}
	if err := u.waitClusterVersion(ctx, u.to, "cluster-version"); err != nil {
		return err
	}
	u.res.ClusterVersion = u.cv
	if err := u.downgradeBack(ctx); err != nil {
		return err
	}
	if err := stopLoad(ctx, d); err != nil {
		return err
	}
	if err := verifyAll(ctx, d); err != nil {
		return err
	}
	return u.fallback(ctx)
}

// settle finishes a rehearsal that a blocker stopped: the cluster must
// still be whole, so the refusal provably broke nothing.
func (u *upgradeRun) settle(ctx context.Context, err error) error {
	if !errors.Is(err, ErrUpgradeBlocked) {
		return err
	}
	u.res.Fallback = "not rehearsed: the upgrade was refused"
	if serr := stopLoad(ctx, u.d); serr != nil {
		return errors.Join(err, serr)
	}
	verr := verifyAll(ctx, u.d)
	if verr == nil && len(u.res.Members) == 0 {
		u.res.Fallback += fmt.Sprintf(" before any member moved to %s; the cluster stayed on %s and passed every check", u.to, u.from)
	}
	return errors.Join(err, verr)
}

// images builds or reuses both images before any container starts, so an
// unknown To fails before the cluster is up.
func (u *upgradeRun) images(ctx context.Context) error {
	title := fmt.Sprintf("build or reuse the etcd %s and %s images", u.from, u.to)
	return u.d.Log.Do(record.PhaseSetup, title, "", func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("etcdrill images --version %s,%s", u.from, u.to)}
		dc, err := harness.Docker(ctx)
		if err != nil {
			return a, err
		}
		defer dc.Close()
		bctx, cancel := context.WithTimeout(ctx, u.timeouts().ImageBuild)
		defer cancel()
		var lines []string
		for _, v := range []harness.Version{u.from, u.to} {
			img, err := harness.EnsureImage(bctx, dc, v, u.d.lg)
			if err != nil {
				return a, err
			}
			u.imgs = append(u.imgs, img)
			lines = append(lines, fmt.Sprintf("%s %.19s", img.Tag, img.ID))
		}
		a.Output = strings.Join(lines, "\n")
		return a, nil
	})
}

// hop is one rolling replacement of every member: to a version, with
// its image.
type hop struct {
	to  harness.Version
	img harness.Image
}

// roll replaces every member not yet on h.to, followers first and the
// leader last, so the cluster elects once at most. A hop to an older
// minor first enables the downgrade, as etcd requires.
func (u *upgradeRun) roll(ctx context.Context, h hop) ([]MemberUpgrade, error) {
	u.rolled = true
	if cur := u.d.Cluster.Members()[0].Version(); h.to.Minor < cur.Minor {
		if err := u.enableDowngrade(ctx, h.to); err != nil {
			return nil, err
		}
	}
	var out []MemberUpgrade
	for range u.d.Cluster.Members() {
		m := u.next(ctx, h.to)
		if m == nil {
			break
		}
		stopAt := time.Now()
		mu, err := u.replace(ctx, m, h)
		// The longest write outage of any step is the RTO, a refused step
		// included: its member was stopped too.
		if t, ok := u.d.Ledger.FirstAckAfter(stopAt); ok && (u.d.faultAt.IsZero() || t.Sub(stopAt) > u.d.recoveredAt.Sub(u.d.faultAt)) {
			u.d.faultAt, u.d.recoveredAt = stopAt, t
		}
		if err != nil {
			return out, err
		}
		out = append(out, mu)
	}
	return out, nil
}

// next picks a member not yet on v, a follower when there is one.
func (u *upgradeRun) next(ctx context.Context, v harness.Version) *harness.Member {
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
func (u *upgradeRun) replace(ctx context.Context, m *harness.Member, h hop) (MemberUpgrade, error) {
	c, log := u.d.Cluster, u.d.Log
	mu := MemberUpgrade{Name: m.Name()}
	if l, err := c.Leader(ctx); err == nil {
		mu.WasLeader = l == m
	}
	start := time.Now()
	if err := log.Do(record.PhaseFault, "stop etcd on "+m.Name()+" (SIGTERM)", m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("systemctl stop etcd  # docker stop %[1]s && docker rm %[1]s; the data dir stays", m.ContainerName())}
		if err := m.Stop(ctx); err != nil {
			return a, err
		}
		return a, m.RemoveContainer(ctx)
	}); err != nil {
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
	if err := recovery.StartMember(ctx, u.d.Log, u.d.Cluster, m, spec, fmt.Sprintf("start etcd %s on %s", h.to, m.Name())); err != nil {
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
		e, err := endpointStatus(ctx, c, m)
		e.Output = fmt.Sprintf("%s out for %s; GET /version: server %s, cluster %s\n%s", m.Name(), time.Duration(mu.OutMillis)*time.Millisecond, mu.Server, mu.Cluster, e.Output)
		return e, err
	})
	if err != nil {
		return mu, err
	}
	u.d.event("upgrade", fmt.Sprintf("%s on %s; cluster version %s", m.Name(), mu.Server, mu.Cluster))
	return mu, u.checkStep(ctx, mu, h.to)
}

// readVersions records GET /version of every member as one step.
func (u *upgradeRun) readVersions(ctx context.Context, title string) error {
	return u.d.Log.Do(record.PhaseObserve, title, "", func() (record.Action, error) {
		return u.versions(ctx)
	})
}

// versions asks every member for GET /version, as an operator would with
// curl, and keeps the last cluster version seen in u.cv.
func (u *upgradeRun) versions(ctx context.Context) (record.Action, error) {
	a := record.Action{Command: "curl --cacert " + harness.CACert + " --cert " + harness.ClientCert + " --key " + harness.ClientKey + " https://<member>:2379/version"}
	var lines []string
	for _, m := range u.d.Cluster.Members() {
		s, cv, err := m.ClusterVersion(ctx)
		if err != nil {
			return a, err
		}
		u.cv = cv
		lines = append(lines, fmt.Sprintf(`%s: {"etcdserver":%q,"etcdcluster":%q}`, m.Name(), s, cv))
	}
	a.Output = strings.Join(lines, "\n")
	return a, nil
}

// waitClusterVersion polls until every member reports the cluster version
// of v's minor: the leader raises it once all members run v.
func (u *upgradeRun) waitClusterVersion(ctx context.Context, v harness.Version, name string) error {
	want := fmt.Sprintf("%d.%d.0", v.Major, v.Minor)
	check := record.Check{Name: name, Verdict: record.Pass}
	err := u.d.Log.Do(record.PhaseObserve, "the cluster version reaches "+want, "", func() (record.Action, error) {
		wctx, cancel := context.WithTimeout(ctx, u.timeouts().ClusterReady)
		defer cancel()
		err := harness.Poll(wctx, 500*time.Millisecond, func(ctx context.Context) error {
			for _, m := range u.d.Cluster.Members() {
				if _, cv, err := m.ClusterVersion(ctx); err != nil || cv != want {
					return fmt.Errorf("%s reports cluster version %q (%v), want %s", m.Name(), cv, err, want)
				}
			}
			return nil
		})
		if err != nil {
			return record.Action{}, err
		}
		return u.versions(ctx)
	})
	check.Summary = fmt.Sprintf("cluster version %s after every member moved to %s", u.cv, v)
	if err != nil {
		check.Verdict, check.Summary = record.Fail, err.Error()
	}
	u.d.Record.Checks = append(u.d.Record.Checks, check)
	return err
}
