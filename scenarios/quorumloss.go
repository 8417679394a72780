package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// QuorumLoss follows seeds 000–004: with a snapshot taken earlier, a
// majority of members is lost with its disks; every member is restored
// from the snapshot into a new logical cluster. Writes acknowledged after
// the snapshot are the RPO.
var QuorumLoss = register(&Scenario{
	Name:         "quorum-loss",
	Summary:      "lose a majority with its data; restore every member from a snapshot into a new cluster",
	Seeds:        []string{"000", "001", "002", "003", "004"},
	Labels:       []string{"fault", "restore", "snapshot"},
	Members:      3,
	TLS:          true,
	AlsoWithAuth: true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"save a snapshot from a live member", saveSnapshot},
		{"keep writing after the snapshot", writeAfterSnapshot},
		{"lose a majority of members with their data", loseMajority},
		{"writes are refused without quorum", expectWritesRefused},
		{"stop the load", stopLoad},
		{"restore every member from the snapshot into a new cluster", restoreAll},
		{"writes are accepted again", probeWrite},
		{"verify members and keys up to the snapshot revision", verifyRestored},
	},
})

func saveSnapshot(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	if err := noteClusterID(ctx, d, m); err != nil {
		return err
	}
	snap, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, m)
	if err != nil {
		return err
	}
	d.snapshot, d.upTo = snap, snap.Status.Revision
	d.Record.Metrics.SnapshotRevision = snap.Status.Revision
	return nil
}

func writeAfterSnapshot(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "keep writing after the snapshot", "", func() (record.Action, error) {
		n, err := d.waitAcks(ctx, time.Now(), 50)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged after snapshot revision %d: these are lost by design (RPO)", n, d.upTo)}, err
	})
}

func loseMajority(ctx context.Context, d *Drill) error {
	victims, _, err := fault.Destroy(fault.Majority()).Inject(ctx, d.Cluster, d.Log)
	d.faultAt = time.Now() // quorum is gone once the majority is confirmed dead
	d.victims = victims
	return err
}

func expectWritesRefused(ctx context.Context, d *Drill) error {
	m := survivors(d)[0]
	return d.Log.Refused(record.PhaseObserve, "a write on the survivor is refused", m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "--command-timeout=5s", "put", "/etcdrill-probe/during-quorum-loss", "refused")
	})
}

func restoreAll(ctx context.Context, d *Drill) error {
	if d.snapshot == nil {
		return fmt.Errorf("no snapshot was saved")
	}
	return recovery.RestoreCluster(ctx, d.Log, d.Cluster, d.snapshot, recovery.NewToken(d.Cluster.Token()))
}

// probeWrite writes one key outside the workload prefix through the
// restored cluster; its acknowledgement ends the outage (RTO).
func probeWrite(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "a write is accepted", "", func() (record.Action, error) {
		return probe(ctx, d, "/etcdrill-probe/after-restore")
	})
}

// probe puts key (outside the workload prefix, so the ledger check does
// not see it) through the given members, all when none; its
// acknowledgement ends the outage and sets the RTO.
func probe(ctx context.Context, d *Drill, key string, members ...*harness.Member) (record.Action, error) {
	cli, err := d.Cluster.Client(members...)
	if err != nil {
		return record.Action{}, err
	}
	defer cli.Close()
	var l workload.Ledger
	w, err := workload.Put(ctx, cli, &l, d.timeouts().Request, key, []byte("accepted"))
	if err != nil {
		return record.Action{}, err
	}
	d.recoveredAt = w.End
	return record.Action{Output: fmt.Sprintf("put %s acknowledged at revision %d, %s after the fault (RTO)", key, w.Revision, w.End.Sub(d.faultAt).Round(time.Millisecond))}, nil
}

func verifyRestored(ctx context.Context, d *Drill) error {
	cli, err := d.Cluster.Client()
	if err != nil {
		return err
	}
	st := verify.Statuses(ctx, d.Cluster, cli)
	cli.Close()
	check := verify.NewCluster(d.clusterBefore, st)
	d.Record.Checks = append(d.Record.Checks, check)
	for _, s := range st {
		if s.Err == "" {
			d.Record.Metrics.ClusterIDAfter = fmt.Sprintf("%x", s.ClusterID)
			break
		}
	}
	err = verifyAll(ctx, d)
	if !check.Passed() && err == nil {
		err = fmt.Errorf("%s: %s", check.Name, check.Summary)
	}
	return err
}
