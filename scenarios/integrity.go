package scenarios

import (
	"bytes"
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// SnapshotIntegrity follows seed 000: "if the snapshot is taken with
// etcdctl snapshot save, it will have an integrity hash that is checked
// by etcdctl snapshot restore". Two damaged copies of a good snapshot,
// one flipped byte and one truncated, are tried first after a majority
// is lost: both must be refused, and nothing may be left to start from.
// Then the good snapshot restores the cluster.
var SnapshotIntegrity = register(&drill.Scenario{
	Name:    "snapshot-integrity",
	Summary: "a snapshot with a flipped byte and a truncated one are refused by etcdutl snapshot restore and by our check; nothing starts from them; the good one restores",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "restore", "snapshot", "integrity"},
	Members: 3,
	TLS:     true,
	Also:    []fault.Fault{fault.DamageSnapshot(nil), fault.Destroy(fault.Majority())},
	Prepare: []drill.Step{
		{Title: "save a snapshot from a live member", Do: drill.SaveSnapshot},
		{Title: "keep writing after the snapshot", Do: drill.WriteAfterSnapshot},
		{Title: "damage two copies: one flipped byte, one truncated", Do: damageCopies},
	},
	Observe: []drill.Step{
		{Title: "etcdutl snapshot status does not notice the flipped byte", Do: statusMissesFlip},
		{Title: "our integrity check tells the good copy from the damaged ones", Do: checkCopies},
	},
	Recover: []drill.Step{
		drill.Inject(fault.Destroy(fault.Majority())),
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "a restore of each damaged copy is refused and leaves nothing to start", Do: refuseDamaged},
		{Title: "restore every member from the good snapshot", Do: drill.RestoreAll},
		{Title: "writes are accepted again", Do: drill.ProbeWrite},
	},
	Verify: []drill.Step{{Title: "verify members and keys up to the snapshot revision", Do: drill.Restored}},
})

// integrityState is what the integrity drill's steps share: the damage,
// whose copies come flipped first.
type integrityState struct{ damage *fault.SnapshotDamage }

func copies(d *drill.Drill) []fault.Damaged { return drill.State[integrityState](d).damage.Copies }

// damageCopies injects the damage to this run's snapshot.
func damageCopies(ctx context.Context, d *drill.Drill) error {
	st := drill.State[integrityState](d)
	st.damage = fault.DamageSnapshot(func() *recovery.Snapshot { return drill.State[drill.Restore](d).Snapshot })
	return drill.Inject(st.damage).Do(ctx, d)
}

// statusMissesFlip runs `etcdutl snapshot status` on the flipped copy: it
// reads the database but never checks the appended SHA-256, so it exits 0.
func statusMissesFlip(ctx context.Context, d *drill.Drill) error {
	m, c := d.Cluster.Members()[0], copies(d)[0]
	if err := d.Log.Do(record.PhaseObserve, "copy the damaged snapshots to "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{}
		for _, cp := range copies(d) {
			a.Command += fmt.Sprintf("docker cp ./%s %s:%s\n", cp.Path[len(harness.BackupDir)+1:], m.ContainerName(), cp.Path)
			if err := m.CopyIn(ctx, cp.Path, cp.Data); err != nil {
				return a, err
			}
		}
		return a, nil
	}); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseObserve, "etcdutl snapshot status does not notice the flipped byte", m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, "etcdutl", "snapshot", "status", c.Path, "--write-out=json")
		if err != nil {
			return e, fmt.Errorf("etcdutl snapshot status noticed the flipped byte: %w", err)
		}
		s, err := recovery.ParseSnapshotStatus(e.Output)
		if err != nil {
			return e, err
		}
		good := drill.State[drill.Restore](d).Snapshot.Status
		hash := "the same hash field as the good snapshot"
		if s.Hash != good.Hash {
			hash = fmt.Sprintf("a hash field of %d where the good snapshot has %d, and no word that the file is damaged", s.Hash, good.Hash)
		}
		e.Output += fmt.Sprintf("\n# exit 0: revision %d and %d keys, like the good snapshot, with %s: "+
			"snapshot status reads the database but never checks the appended sha256", s.Revision, s.TotalKey, hash)
		return e, nil
	})
}

// checkCopies runs recovery.CheckSnapshot on the good snapshot and the
// damaged copies; each verdict is a step and a check.
func checkCopies(ctx context.Context, d *drill.Drill) error {
	data, err := drill.State[drill.Restore](d).Snapshot.Bytes()
	if err != nil {
		return err
	}
	good := fault.Damaged{Name: "good", Path: recovery.SnapshotPath, Data: data, Kind: recovery.Valid}
	for _, c := range append([]fault.Damaged{good}, copies(d)...) {
		in, ierr := recovery.CheckSnapshot(c.Data)
		check := record.Check{Name: "integrity-check-" + c.Name, Verdict: record.Pass, Summary: in.String()}
		if in.Kind != c.Kind {
			check.Verdict, check.Summary = record.Fail, fmt.Sprintf("want %s, got %s (%v)", c.Kind, in, ierr)
		}
		d.AddChecks(check)
		if err := d.Log.Do(record.PhaseObserve, "our integrity check on the "+c.Name+" copy", "", func() (record.Action, error) {
			out := fmt.Sprintf("recovery.CheckSnapshot(%s): %s", c.Path, in)
			if ierr != nil {
				out += "\nerror: " + ierr.Error()
			}
			return record.Action{Output: out}, drill.CheckErr(check)
		}); err != nil {
			return err
		}
	}
	return nil
}

// refuseDamaged gives a lost member a new, empty data dir (etcd installed
// but not started), then for each damaged copy: the restore is refused,
// whatever etcdutl left in the data dir is shown and cleared, and the
// data dir is proven to hold no member directory etcd could start from.
func refuseDamaged(ctx context.Context, d *drill.Drill) error {
	victims := drill.State[drill.Outage](d).Victims
	if len(victims) == 0 {
		return fmt.Errorf("no lost member to restore on")
	}
	m, c := victims[0], d.Cluster
	names := recovery.Names(c)
	token := recovery.NewToken(c.Token())
	if err := recovery.Reinstall(ctx, d.Log, c, m, "install etcd on a new host for "+m.Name()+", not started"); err != nil {
		return err
	}
	for _, cp := range copies(d) {
		line, err := d.Log.Refused(record.PhaseObserve, "restoring the "+cp.Name+" copy on "+m.Name()+" is refused", m.Name(),
			cp.Refusal, func() (record.Action, error) {
				args := recovery.RestoreArgs(cp.Path, m.Name(), names, token, c.Config().TLS)
				return m.Offline(ctx, map[string][]byte{cp.Path: cp.Data}, args...)
			})
		check := drill.RefusalCheck("restore-refuses-"+cp.Name, line, err)
		check.Summary += cp.Note
		if d.AddChecks(check); err != nil {
			return err
		}
		left, err := leftover(ctx, d, m, cp)
		if err != nil {
			return err
		}
		if left {
			if err := recovery.Reinstall(ctx, d.Log, c, m, "clear the partial data dir on "+m.Name()); err != nil {
				return err
			}
		}
		if err := nothingToStart(ctx, d, m); err != nil {
			return err
		}
	}
	return nil
}

// leftover shows what a refused restore left in m's data dir. etcdutl
// (3.5 to 3.7) copies the file to member/snap/db before it checks the
// hash and does not remove it when the check fails.
func leftover(ctx context.Context, d *drill.Drill, m *harness.Member, cp fault.Damaged) (bool, error) {
	db := harness.DataDir + "/member/snap/db"
	left := false
	err := d.Log.Do(record.PhaseObserve, "what the refused restore left on "+m.Name(), m.Name(), func() (record.Action, error) {
		wal := harness.DataDir + "/member/wal"
		a := record.Action{Command: fmt.Sprintf("docker cp %[1]s:%[2]s ./left-db; docker cp %[1]s:%[3]s ./left-wal  # ls -l %[2]s %[3]s", m.ContainerName(), db, wal)}
		data, err := m.CopyOut(ctx, db)
		if cerrdefs.IsNotFound(err) {
			a.Output = "no " + db + ": etcdutl left nothing"
			return a, nil
		}
		if err != nil {
			return a, err
		}
		left = true
		same := "bytes that differ from the damaged copy"
		if in, _ := recovery.CheckSnapshot(cp.Data); in.HasHash && bytes.Equal(data, cp.Data[:len(cp.Data)-32]) {
			same = "the damaged copy without its 32-byte hash"
		} else if bytes.Equal(data, cp.Data) {
			same = "the damaged copy, byte for byte"
		}
		walState := "present"
		if _, err := m.CopyOut(ctx, wal); cerrdefs.IsNotFound(err) {
			walState = "absent"
		} else if err != nil {
			walState = "unreadable: " + err.Error()
		}
		a.Output = fmt.Sprintf("%s: %d bytes, %s; %s: %s\n# the refused restore left a data dir behind: it must be cleared before etcd starts here or a restore is tried again (etcdutl refuses a non-empty data dir)",
			db, len(data), same, wal, walState)
		return a, nil
	})
	return left, err
}

// nothingToStart proves m's data dir exists and holds no member
// directory: etcd has nothing from the bad file to start from.
func nothingToStart(ctx context.Context, d *drill.Drill, m *harness.Member) error {
	dir := harness.DataDir + "/member"
	return d.Log.Do(record.PhaseObserve, "nothing is left to start from on "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %[1]s:%[2]s - >/dev/null && docker cp %[1]s:%[3]s -  # ls -d %[2]s %[3]s", m.ContainerName(), harness.DataDir, dir)}
		if _, err := m.CopyOut(ctx, harness.DataDir); err != nil {
			return a, fmt.Errorf("the data dir itself cannot be read, so its emptiness proves nothing: %w", err)
		}
		_, err := m.CopyOut(ctx, dir)
		if err == nil {
			return a, fmt.Errorf("%s exists: etcd would start from it", dir)
		}
		if !cerrdefs.IsNotFound(err) {
			return a, fmt.Errorf("look for %s: %w", dir, err)
		}
		a.Output = fmt.Sprintf("%s: present; %s: absent (%v)\n# nothing started from bad data", harness.DataDir, dir, err)
		return a, nil
	})
}
