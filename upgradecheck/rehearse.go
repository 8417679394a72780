package upgradecheck

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// images builds or reuses both images before any container starts, so an
// unknown To fails before the cluster is up.
func (u *run) images(ctx context.Context, d *drill.Drill) error {
	title := fmt.Sprintf("build or reuse the etcd %s and %s images", u.from, u.to)
	return d.Log.Do(record.PhaseSetup, title, "", func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("etcdrill images --version %s,%s", u.from, u.to)}
		dc, err := harness.Docker(ctx)
		if err != nil {
			return a, err
		}
		defer dc.Close()
		bctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.ImageBuild)
		defer cancel()
		var lines []string
		for _, v := range []harness.Version{u.from, u.to} {
			img, err := harness.EnsureImage(bctx, dc, v, d.Logger())
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

// startCluster starts the rehearsal cluster on From and reads every
// member's version once the cluster version is From's. A new cluster's
// members start in turn, and when the first two elect a leader before the
// last one runs, the leader sets the cluster version to 3.0.0 and raises
// it only at its next check (every 4 s) that reaches every member; a 3.6
// member would refuse to join a cluster still at 3.0.0.
func (u *run) startCluster(ctx context.Context, d *drill.Drill) error {
	if err := drill.StartCluster(ctx, d); err != nil {
		return err
	}
	if err := u.d.Log.Do(record.PhaseObserve, "the cluster runs "+u.from.String(), "", func() (record.Action, error) {
		if err := u.pollClusterVersion(ctx, u.from); err != nil {
			return record.Action{}, err
		}
		return u.versions(ctx)
	}); err != nil {
		return err
	}
	u.res.ClusterVersion = u.cv
	return nil
}

// saveSnapshot saves the snapshot the fallback restores, on From before
// any member moves. It is not the drill's restore snapshot: the
// rehearsal cluster is never restored, so its ledger check is unbounded.
func (u *run) saveSnapshot(ctx context.Context, d *drill.Drill) error {
	// The fallback restores it into another cluster: it is kept in the
	// drill's work dir, which outlives this one.
	dir, err := d.WorkDir()
	if err != nil {
		return err
	}
	snap, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, d.Cluster.Members()[0], dir)
	if err != nil {
		return err
	}
	u.snap, d.Record.Metrics.SnapshotRevision = snap, snap.Status.Revision
	return nil
}

// rollUp replaces every member with To. A blocker found on the way
// (v2 content in a member's data dir) ends the rehearsal with the
// cluster checked whole on From.
func (u *run) rollUp(ctx context.Context, d *drill.Drill) error {
	ms, err := u.roll(ctx, hop{to: u.to, img: u.imgs[1]})
	u.res.Members = ms
	if err != nil {
		return u.settle(ctx, err)
	}
	return nil
}

// clusterVersion waits for the cluster version of To.
func (u *run) clusterVersion(ctx context.Context, d *drill.Drill) error {
	if err := u.waitClusterVersion(ctx, u.to, "cluster-version"); err != nil {
		return err
	}
	u.res.ClusterVersion = u.cv
	return nil
}

// settle finishes a rehearsal that a blocker stopped: the cluster must
// still be whole, so the refusal provably broke nothing.
func (u *run) settle(ctx context.Context, err error) error {
	if !errors.Is(err, ErrBlocked) {
		return err
	}
	u.res.Fallback = "not rehearsed: the upgrade was refused"
	if serr := drill.StopLoad(ctx, u.d); serr != nil {
		return errors.Join(err, serr)
	}
	verr := drill.VerifyAll(ctx, u.d) // its own checks only: a blocker's gate check failed before
	if verr == nil && len(u.res.Members) == 0 {
		u.res.Fallback += fmt.Sprintf(" before any member moved to %s; the cluster stayed on %s and passed every check", u.to, u.from)
	}
	return errors.Join(err, verr)
}

// versions asks every member for GET /version, as an operator would with
// curl, and keeps the last cluster version seen in u.cv.
func (u *run) versions(ctx context.Context) (record.Action, error) {
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
