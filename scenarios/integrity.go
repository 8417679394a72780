package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
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
var SnapshotIntegrity = register(&Scenario{
	Name:    "snapshot-integrity",
	Summary: "a snapshot with a flipped byte and a truncated one are refused by etcdutl snapshot restore and by our check; nothing starts from them; the good one restores",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "restore", "snapshot", "integrity"},
	Members: 3,
	TLS:     true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"save a snapshot from a live member", saveSnapshot},
		{"keep writing after the snapshot", writeAfterSnapshot},
		{"damage two copies: one flipped byte, one truncated", damageCopies},
		{"etcdutl snapshot status does not notice the flipped byte", statusMissesFlip},
		{"our integrity check tells the good copy from the damaged ones", checkCopies},
		{"lose a majority of members with their data", loseMajority},
		{"stop the load", stopLoad},
		{"a restore of each damaged copy is refused and leaves nothing to start", refuseDamaged},
		{"restore every member from the good snapshot", restoreAll},
		{"writes are accepted again", probeWrite},
		{"verify members and keys up to the snapshot revision", verifyRestored},
	},
})

// damaged is one bad copy of the snapshot and what must be said of it.
type damaged struct {
	name   string // "flipped", "truncated"
	path   string // on a member's host
	data   []byte
	kind   recovery.IntegrityKind // what our check must say
	reason string                 // what etcdutl's refusal must say
	note   string                 // added to the refusal check's summary
}

// integrityState is what the integrity drill's steps share: the damaged
// copies, flipped first.
type integrityState struct{ copies []damaged }

func damageCopies(ctx context.Context, d *Drill) error {
	st := State[integrityState](d)
	if d.snapshot == nil {
		return fmt.Errorf("no snapshot was saved")
	}
	good := d.snapshot.Data
	flipped, at, inValue := flipNearMiddle(good)
	where := "inside a stored value near the middle"
	if !inValue {
		where = "in the middle"
	}
	half := len(good) / 2
	st.copies = []damaged{
		{"flipped", harness.BackupDir + "/snapshot-flipped.db", flipped, recovery.HashMismatch, "expected sha256", ""},
		{"truncated", harness.BackupDir + "/snapshot-truncated.db", good[:half], recovery.Truncated, "snapshot missing hash",
			" (etcdutl cannot tell a truncated snapshot from a copied db file; our check says truncated)"},
	}
	return d.Log.Do(record.PhaseFault, "damage two copies of the snapshot", "", func() (record.Action, error) {
		return record.Action{
			Command: fmt.Sprintf("cp snapshot.db snapshot-flipped.db && printf '\\x%02x' | dd of=snapshot-flipped.db bs=1 seek=%d conv=notrunc\nhead -c %d snapshot.db > snapshot-truncated.db",
				flipped[at], at, half),
			Output: fmt.Sprintf("snapshot-flipped.db: byte %d of %d flipped (0x%02x → 0x%02x), %s\nsnapshot-truncated.db: the first %d of %d bytes",
				at, len(good), good[at], flipped[at], where, half, len(good)),
		}, nil
	})
}

// statusMissesFlip runs `etcdutl snapshot status` on the flipped copy: it
// reads the database but never checks the appended SHA-256, so it exits 0.
func statusMissesFlip(ctx context.Context, d *Drill) error {
	m, c := d.Cluster.Members()[0], State[integrityState](d).copies[0]
	if err := d.Log.Do(record.PhaseObserve, "copy the damaged snapshots to "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{}
		for _, cp := range State[integrityState](d).copies {
			a.Command += fmt.Sprintf("docker cp ./%s %s:%s\n", cp.path[len(harness.BackupDir)+1:], m.ContainerName(), cp.path)
			if err := m.CopyIn(ctx, cp.path, cp.data); err != nil {
				return a, err
			}
		}
		return a, nil
	}); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseObserve, "etcdutl snapshot status does not notice the flipped byte", m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, "etcdutl", "snapshot", "status", c.path, "--write-out=json")
		if err != nil {
			return e, fmt.Errorf("etcdutl snapshot status noticed the flipped byte: %w", err)
		}
		s, err := recovery.ParseSnapshotStatus(e.Output)
		if err != nil {
			return e, err
		}
		good := d.snapshot.Status
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
func checkCopies(ctx context.Context, d *Drill) error {
	all := append([]damaged{{"good", recovery.SnapshotPath, d.snapshot.Data, recovery.Valid, "", ""}}, State[integrityState](d).copies...)
	for _, c := range all {
		in, ierr := recovery.CheckSnapshot(c.data)
		check := record.Check{Name: "integrity-check-" + c.name, Verdict: record.Pass, Summary: in.String()}
		if in.Kind != c.kind {
			check.Verdict, check.Summary = record.Fail, fmt.Sprintf("want %s, got %s (%v)", c.kind, in, ierr)
		}
		d.Record.Checks = append(d.Record.Checks, check)
		if err := d.Log.Do(record.PhaseObserve, "our integrity check on the "+c.name+" copy", "", func() (record.Action, error) {
			out := fmt.Sprintf("recovery.CheckSnapshot(%s): %s", c.path, in)
			if ierr != nil {
				out += "\nerror: " + ierr.Error()
			}
			if !check.Passed() {
				return record.Action{Output: out}, errors.New(check.Summary)
			}
			return record.Action{Output: out}, nil
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
func refuseDamaged(ctx context.Context, d *Drill) error {
	if len(d.victims) == 0 {
		return fmt.Errorf("no lost member to restore on")
	}
	m, c := d.victims[0], d.Cluster
	names := memberNames(c)
	token := recovery.NewToken(c.Token())
	if err := recreate(ctx, d, m, "install etcd on a new host for "+m.Name()+", not started"); err != nil {
		return err
	}
	for _, cp := range State[integrityState](d).copies {
		if err := refusedBecause(d, record.PhaseObserve, "restoring the "+cp.name+" copy on "+m.Name()+" is refused", m.Name(),
			"restore-refuses-"+cp.name, cp.reason, func() (record.Action, error) {
				args := recovery.RestoreArgs(cp.path, m.Name(), names, token, c.Config().TLS)
				return m.Offline(ctx, map[string][]byte{cp.path: cp.data}, args...)
			}); err != nil {
			return err
		}
		d.Record.Checks[len(d.Record.Checks)-1].Summary += cp.note
		left, err := leftover(ctx, d, m, cp)
		if err != nil {
			return err
		}
		if left {
			if err := recreate(ctx, d, m, "clear the partial data dir on "+m.Name()); err != nil {
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
func leftover(ctx context.Context, d *Drill, m *harness.Member, cp damaged) (bool, error) {
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
		if in, _ := recovery.CheckSnapshot(cp.data); in.HasHash && bytes.Equal(data, cp.data[:len(cp.data)-32]) {
			same = "the damaged copy without its 32-byte hash"
		} else if bytes.Equal(data, cp.data) {
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
func nothingToStart(ctx context.Context, d *Drill, m *harness.Member) error {
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

// recreate replaces m's container and data volume with new, empty ones,
// created but not started: a host with etcd installed and a clean data dir.
func recreate(ctx context.Context, d *Drill, m *harness.Member, title string) error {
	c := d.Cluster
	spec := c.Spec(m.Name(), harness.InitialCluster(memberNames(c), c.Config().TLS), "new")
	return d.Log.Do(record.PhaseRecovery, title, m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker rm -f %[1]s; docker volume rm -f %[1]s-data; docker create --name %[1]s --volume %[1]s-data:%[2]s %[3]s  # rm -rf %[2]s/member, etcd not started",
			m.ContainerName(), harness.DataDir, c.Image().Tag)}
		if err := m.Wipe(ctx); err != nil {
			return a, err
		}
		return a, m.Create(ctx, spec)
	})
}
