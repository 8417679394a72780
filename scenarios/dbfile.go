package scenarios

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// dbFilePath is where the copied db file sits on a member's host.
const dbFilePath = harness.BackupDir + "/db"

// SnapshotFromDBFile follows seeds 000, 001 and 003: "a snapshot may be
// taken … by copying the member/snap/db file from an etcd data directory"
// and "if the snapshot is copied from the data directory, there is no
// integrity hash and it will only restore by using --skip-hash-check".
// The copy comes from a follower stopped for the purpose; later a
// majority is lost and the cluster is restored from that file.
var SnapshotFromDBFile = register(&Scenario{
	Name:    "snapshot-from-db-file",
	Summary: "copy member/snap/db out of a stopped follower; after losing a majority, restore it: refused without --skip-hash-check, intact with it",
	Seeds:   []string{"000", "001", "003"},
	Labels:  []string{"fault", "restore", "snapshot"},
	Members: 3,
	TLS:     true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"stop etcd on a follower", stopFollower},
		{"copy member/snap/db out of its data dir", copyDBFile},
		{"read the db file's revision", dbFileStatus},
		{"start the follower again", startFollower},
		{"keep writing after the copy", writeAfterSnapshot},
		{"lose a majority of members with their data", loseMajority},
		{"stop the load", stopLoad},
		{"a restore of the db file without --skip-hash-check is refused", expectNoHashRefusal},
		{"restore every member from the db file with --skip-hash-check", restoreDBFile},
		{"writes are accepted again", probeWrite},
		{"verify members and keys up to the db file's revision", verifyRestored},
	},
})

// dbFileState is what the db-file drill's steps share.
type dbFileState struct {
	follower *harness.Member
	token    string // the new cluster's --initial-cluster-token
}

func stopFollower(ctx context.Context, d *Drill) error {
	st := State[dbFileState](d)
	leader, err := d.Cluster.WaitLeader(ctx)
	if err != nil {
		return err
	}
	for _, m := range d.Cluster.Members() {
		if m != leader {
			st.follower = m
			break
		}
	}
	if err := noteClusterID(ctx, d, leader); err != nil {
		return err
	}
	m := st.follower
	return d.Log.Do(record.PhaseRecovery, "stop etcd on follower "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker stop --time=10 %s  # systemctl stop etcd", m.ContainerName())}
		return a, m.Stop(ctx)
	})
}

// noteClusterID records the cluster ID before the restore, for the
// new-cluster-id check.
func noteClusterID(ctx context.Context, d *Drill, m *harness.Member) error {
	cli, err := d.Cluster.Client(m)
	if err != nil {
		return err
	}
	defer cli.Close()
	s, err := d.Cluster.Status(ctx, cli, m)
	if err != nil {
		return err
	}
	d.clusterBefore = s.Header.ClusterId
	d.Record.Metrics.ClusterIDBefore = fmt.Sprintf("%x", d.clusterBefore)
	return nil
}

func copyDBFile(ctx context.Context, d *Drill) error {
	m := State[dbFileState](d).follower
	src := harness.DataDir + "/member/snap/db"
	return d.Log.Do(record.PhaseRecovery, "copy member/snap/db out of "+m.Name()+"'s data dir", m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %s:%s ./db  # cp %s ./db", m.ContainerName(), src, src)}
		data, err := m.CopyOut(ctx, src)
		if err != nil {
			return a, err
		}
		d.snapshot = &recovery.Snapshot{Data: data, From: m.Name()}
		in, ierr := recovery.CheckSnapshot(data)
		a.Output = fmt.Sprintf("%d bytes\n# integrity: %s", len(data), in)
		check := record.Check{Name: "db-file-has-no-hash", Verdict: record.Pass, Summary: "the copied db file: " + in.String()}
		if !errors.Is(ierr, recovery.ErrNoHash) {
			check.Verdict, check.Summary = record.Fail, fmt.Sprintf("the copied db file should be whole pages without a hash: %v", ierr)
		}
		d.Record.Checks = append(d.Record.Checks, check)
		if !check.Passed() {
			return a, fmt.Errorf("%s", check.Summary)
		}
		return a, nil
	})
}

// dbFileStatus runs `etcdutl snapshot status` on the copy while the
// follower is still stopped; the db file's revision bounds what the
// restore can bring back.
func dbFileStatus(ctx context.Context, d *Drill) error {
	m := State[dbFileState](d).follower
	return d.Log.Do(record.PhaseRecovery, "read the db file's revision", m.Name(), func() (record.Action, error) {
		e, err := m.Offline(ctx, map[string][]byte{dbFilePath: d.snapshot.Data}, "etcdutl", "snapshot", "status", dbFilePath, "--write-out=json")
		if err != nil {
			return e, err
		}
		s, err := recovery.ParseSnapshotStatus(e.Output)
		if err != nil {
			return e, err
		}
		d.snapshot.Status, d.upTo = s, s.Revision
		d.Record.Metrics.SnapshotRevision = s.Revision
		e.Output += fmt.Sprintf("\n# revision %d: writes acknowledged after it are not in the file (RPO)", s.Revision)
		return e, nil
	})
}

func startFollower(ctx context.Context, d *Drill) error {
	m := State[dbFileState](d).follower
	return d.Log.Do(record.PhaseRecovery, "start etcd on "+m.Name()+" again", m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker start %s  # systemctl start etcd", m.ContainerName())}
		if err := m.Start(ctx); err != nil {
			return a, err
		}
		if err := d.Cluster.WaitReady(ctx); err != nil {
			return a, err
		}
		e, err := endpointStatus(ctx, d.Cluster, m)
		e.Command = a.Command + "\n" + e.Command
		return e, err
	})
}

// expectNoHashRefusal restores the db file on a lost member's fresh data
// dir without --skip-hash-check: etcdutl must refuse for want of a hash.
// Whatever the refused restore leaves there is cleared by the restore
// that follows.
func expectNoHashRefusal(ctx context.Context, d *Drill) error {
	st := State[dbFileState](d)
	if d.snapshot == nil || len(d.victims) == 0 {
		return fmt.Errorf("no db file or no lost member")
	}
	st.token = recovery.NewToken(d.Cluster.Token())
	m, names := d.victims[0], memberNames(d.Cluster)
	return refusedBecause(d, record.PhaseObserve, "restoring the db file on "+m.Name()+" without --skip-hash-check is refused", m.Name(),
		"restore-refuses-db-file", "snapshot missing hash", func() (record.Action, error) {
			args := recovery.RestoreArgs(dbFilePath, m.Name(), names, st.token, d.Cluster.Config().TLS)
			return m.Offline(ctx, map[string][]byte{dbFilePath: d.snapshot.Data}, args...)
		})
}

func restoreDBFile(ctx context.Context, d *Drill) error {
	return recovery.RestoreCluster(ctx, d.Log, d.Cluster, d.snapshot, State[dbFileState](d).token, "--skip-hash-check")
}

func memberNames(c *harness.Cluster) []string {
	var names []string
	for _, m := range c.Members() {
		names = append(names, m.Name())
	}
	return names
}
