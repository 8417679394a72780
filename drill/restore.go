package drill

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// Restore is what restore drills keep with State: the snapshot, the
// revision it holds (writes acknowledged after it are the RPO), and the
// cluster ID before the restore.
type Restore struct {
	Snapshot      *recovery.Snapshot
	UpTo          int64
	ClusterBefore uint64
	// CompactedThrough gives, per cluster ID, the revision a restore with
	// --mark-compacted marked compacted: watches resumed at or below it
	// must be refused.
	CompactedThrough map[uint64]int64
}

// UseSnapshot makes snap the one the drill restores, bounding the
// ledger check at its revision.
func (d *Drill) UseSnapshot(snap *recovery.Snapshot) {
	st := State[Restore](d)
	st.Snapshot, st.UpTo = snap, snap.Status.Revision
	d.Record.Metrics.SnapshotRevision = snap.Status.Revision
}

// SaveSnapshot saves a snapshot from the first member, after noting the
// cluster ID.
func SaveSnapshot(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	if err := NoteClusterID(ctx, d, m); err != nil {
		return err
	}
	dir, err := d.WorkDir()
	if err != nil {
		return err
	}
	snap, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, m, dir)
	if err != nil {
		return err
	}
	d.UseSnapshot(snap)
	return nil
}

// NoteClusterID records the cluster ID m reports, for the new-cluster-id
// check after a restore.
func NoteClusterID(ctx context.Context, d *Drill, m *harness.Member) error {
	cli, err := d.Cluster.Client(m)
	if err != nil {
		return err
	}
	defer cli.Close()
	s, err := d.Cluster.Status(ctx, cli, m)
	if err != nil {
		return err
	}
	State[Restore](d).ClusterBefore = s.Header.ClusterId
	d.Record.Metrics.ClusterIDBefore = fmt.Sprintf("%x", s.Header.ClusterId)
	return nil
}

// WriteAfterSnapshot waits for 50 acknowledged writes above the
// snapshot's revision: they are lost by design (RPO). Those acknowledged
// while the snapshot was copied off count.
func WriteAfterSnapshot(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "keep writing after the snapshot", "", func() (record.Action, error) {
		upTo := State[Restore](d).UpTo
		n, err := d.WaitAcksAbove(ctx, upTo, 50)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged after snapshot revision %d: these are lost by design (RPO)", n, upTo)}, err
	})
}

// RestoreAll restores every member from the drill's snapshot into a new
// cluster with a new token.
func RestoreAll(ctx context.Context, d *Drill) error {
	snap := State[Restore](d).Snapshot
	if snap == nil {
		return fmt.Errorf("no snapshot was saved")
	}
	return recovery.RestoreCluster(ctx, d.Log, d.Cluster, snap, recovery.NewToken(d.Cluster.Token()))
}

// VerifyRestored checks the cluster ID changed, then runs VerifyWith with
// extra checks of the drill's own.
func VerifyRestored(ctx context.Context, d *Drill, extra ...record.Check) error {
	cli, err := d.Cluster.Client()
	if err != nil {
		return err
	}
	st := verify.Statuses(ctx, d.Cluster, cli)
	cli.Close()
	for _, s := range st {
		if s.Err == "" {
			d.Record.Metrics.ClusterIDAfter = fmt.Sprintf("%x", s.ClusterID)
			break
		}
	}
	return VerifyWith(ctx, d, append([]record.Check{verify.NewCluster(State[Restore](d).ClusterBefore, st)}, extra...)...)
}

// Restored is VerifyRestored as a step.
func Restored(ctx context.Context, d *Drill) error { return VerifyRestored(ctx, d) }
