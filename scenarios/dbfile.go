package scenarios

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
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
var SnapshotFromDBFile = register(&drill.Scenario{
	Name:    "snapshot-from-db-file",
	Summary: "copy member/snap/db out of a stopped follower; after losing a majority, restore it: refused without --skip-hash-check, intact with it",
	Seeds:   []string{"000", "001", "003"},
	Labels:  []string{"fault", "restore", "snapshot"},
	Members: 3,
	TLS:     true,
	Prepare: []drill.Step{
		{Title: "stop etcd on a follower", Do: stopFollower},
		{Title: "copy member/snap/db out of its data dir", Do: copyDBFile},
		{Title: "read the db file's revision", Do: dbFileStatus},
		{Title: "start the follower again", Do: startFollower},
		{Title: "keep writing after the copy", Do: drill.WriteAfterSnapshot},
	},
	Fault: fault.Destroy(fault.Majority()),
	Recover: []drill.Step{
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "a restore of the db file without --skip-hash-check is refused", Do: expectNoHashRefusal},
		{Title: "restore every member from the db file with --skip-hash-check", Do: restoreDBFile},
		{Title: "writes are accepted again", Do: drill.ProbeWrite},
	},
	Verify: []drill.Step{{Title: "verify members and keys up to the db file's revision", Do: drill.Restored}},
})

// dbFileState is what the db-file drill's steps share.
type dbFileState struct {
	follower *harness.Member
	data     []byte
	token    string // the new cluster's --initial-cluster-token
}

// stopFollower picks a follower as every fault does (fault.Follower) and
// stops etcd there, keeping its data dir, after noting the cluster ID.
func stopFollower(ctx context.Context, d *drill.Drill) error {
	ms, err := fault.Follower().Pick(ctx, d.Cluster)
	if err != nil {
		return err
	}
	st := drill.State[dbFileState](d)
	st.follower = ms[0]
	if err := drill.NoteClusterID(ctx, d, d.Cluster.Members()[0]); err != nil {
		return err
	}
	return recovery.StopKeepData(ctx, d.Log, st.follower)
}

func copyDBFile(ctx context.Context, d *drill.Drill) error {
	st := drill.State[dbFileState](d)
	m := st.follower
	src := harness.DataDir + "/member/snap/db"
	return d.Log.Do(record.PhaseRecovery, "copy member/snap/db out of "+m.Name()+"'s data dir", m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker create --name copy -v %s-data:%s %s && docker cp copy:%s ./db && docker rm copy  # cp %s ./db",
			m.ContainerName(), harness.DataDir, d.Cluster.Image().Tag, src, src)}
		data, err := m.CopyOutOffline(ctx, src)
		if err != nil {
			return a, err
		}
		st.data = data
		in, ierr := recovery.CheckSnapshot(st.data)
		a.Output = fmt.Sprintf("%d bytes\n# integrity: %s", len(st.data), in)
		check := record.Check{Name: "db-file-has-no-hash", Verdict: record.Pass, Summary: "the copied db file: " + in.String()}
		if !errors.Is(ierr, recovery.ErrNoHash) {
			check.Verdict, check.Summary = record.Fail, fmt.Sprintf("the copied db file should be whole pages without a hash: %v", ierr)
		}
		d.AddChecks(check)
		return a, drill.CheckErr(check)
	})
}

// dbFileStatus runs `etcdutl snapshot status` on the copy while the
// follower is still stopped; the db file's revision bounds what the
// restore can bring back.
func dbFileStatus(ctx context.Context, d *drill.Drill) error {
	st := drill.State[dbFileState](d)
	m := st.follower
	return d.Log.Do(record.PhaseRecovery, "read the db file's revision", m.Name(), func() (record.Action, error) {
		e, err := m.Offline(ctx, map[string][]byte{dbFilePath: st.data}, "etcdutl", "snapshot", "status", dbFilePath, "--write-out=json")
		if err != nil {
			return e, err
		}
		s, err := recovery.ParseSnapshotStatus(e.Output)
		if err != nil {
			return e, err
		}
		d.UseSnapshot(&recovery.Snapshot{Data: st.data, Status: s, From: m.Name()})
		e.Output += fmt.Sprintf("\n# revision %d: writes acknowledged after it are not in the file (RPO)", s.Revision)
		return e, nil
	})
}

// startFollower starts etcd on the follower again from its data dir and
// waits until the cluster is whole.
func startFollower(ctx context.Context, d *drill.Drill) error {
	m := drill.State[dbFileState](d).follower
	spec := m.Spec()
	spec.State = "existing" // the data dir is there; etcd ignores the bootstrap flags
	if err := recovery.StartMember(ctx, d.Log, d.Cluster, m, spec, "start etcd on "+m.Name()+" again"); err != nil {
		return err
	}
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, m)
}

// expectNoHashRefusal restores the db file on a lost member's fresh data
// dir without --skip-hash-check: etcdutl must refuse for want of a hash.
// Whatever the refused restore leaves there is cleared by the restore
// that follows.
func expectNoHashRefusal(ctx context.Context, d *drill.Drill) error {
	st := drill.State[dbFileState](d)
	victims := drill.State[drill.Outage](d).Victims
	if st.data == nil || len(victims) == 0 {
		return fmt.Errorf("no db file or no lost member")
	}
	st.token = recovery.NewToken(d.Cluster.Token())
	m, names := victims[0], recovery.Names(d.Cluster)
	line, err := d.Log.Refused(record.PhaseObserve, "restoring the db file on "+m.Name()+" without --skip-hash-check is refused", m.Name(),
		recovery.MissingHash(), func() (record.Action, error) {
			args := recovery.RestoreArgs(dbFilePath, m.Name(), names, st.token, d.Cluster.Config().TLS)
			return m.Offline(ctx, map[string][]byte{dbFilePath: st.data}, args...)
		})
	d.AddChecks(drill.RefusalCheck("restore-refuses-db-file", line, err))
	return err
}

func restoreDBFile(ctx context.Context, d *drill.Drill) error {
	return recovery.RestoreCluster(ctx, d.Log, d.Cluster, drill.State[drill.Restore](d).Snapshot, drill.State[dbFileState](d).token, "--skip-hash-check")
}
