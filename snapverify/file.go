package snapverify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// checkFile is the offline part: the file's integrity, then what it
// holds, both without starting anything. A refused file ends the run.
func (v *verification) checkFile(_ context.Context, d *drill.Drill) error {
	f, in := v.file, v.file.Integrity
	d.Record.Metrics.SnapshotBytes = f.Size
	accept := f.Accept(v.o.SkipHashCheck)
	if in.Kind == recovery.HashMismatch {
		accept = fmt.Errorf("%w (etcdutl snapshot status does not check this hash; etcdutl snapshot restore refuses the file)", accept)
	}
	summary := in.String()
	if accept == nil && f.IntegrityErr != nil {
		summary += "; accepted unverified (--skip-hash-check): nothing proves this file intact"
	}
	check(d, "snapshot-integrity", accept, summary)
	err := d.Log.Do(record.PhaseObserve, "check the snapshot file's sha256", "", func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("head -c -32 %[1]s | sha256sum; tail -c 32 %[1]s | od -An -tx1 | tr -d ' \\n'  # equal when the file is intact", harness.ShellJoin([]string{f.Path})),
			Output: fmt.Sprintf("%s: %s", f.Path, summary)}
		return a, accept
	})
	if accept != nil {
		v.why = "the file is refused: " + accept.Error()
	}
	if in.Kind == recovery.Truncated {
		return err
	}
	serr := d.Log.Do(record.PhaseObserve, "read revision, keys and size from the file", "", func() (record.Action, error) {
		a := record.Action{Command: "etcdutl snapshot status " + harness.ShellJoin([]string{f.Path}) + " --write-out=json  # read in process (bbolt format), no etcd started"}
		if f.StatusErr != nil {
			return a, f.StatusErr
		}
		b, _ := json.Marshal(f.Status)
		a.Output = fmt.Sprintf("%s\n# keyspace digest (every live key and its value, read from the file): %d keys, sha256 %s", b, f.KeyCount, f.Digest)
		return a, nil
	})
	if f.Status != nil {
		d.Record.Metrics.SnapshotRevision = f.Status.Revision
		check(d, "snapshot-status", nil, f.Status.String()+v.tooNew(d.Config.Version))
	} else {
		check(d, "snapshot-status", f.StatusErr, "")
	}
	if serr != nil {
		d.Logger().Warn("offline reading failed; restoring anyway, so the report says what etcd makes of the file", "err", serr)
	}
	return err
}

// tooNew notes a storage version newer than a 3.6+ target: such a
// target refuses to start from it (3.5 has no storage version to check).
func (v *verification) tooNew(target harness.Version) string {
	sv, err := harness.ParseVersion(v.file.Status.Version)
	if err != nil || sv.Minor <= target.Minor || !target.AtLeast(6, 0) {
		return ""
	}
	return fmt.Sprintf("; storage version %s is newer than etcd %s", v.file.Status.Version, target)
}

// startCluster starts the throwaway cluster of the target version.
func (v *verification) startCluster(ctx context.Context, d *drill.Drill) error {
	cfg := d.Config
	title := fmt.Sprintf("start a throwaway %d-member etcd %s cluster", cfg.Members, cfg.Version)
	return d.Log.Do(record.PhaseSetup, title, "", func() (record.Action, error) {
		c, err := harness.New(ctx, harness.WithVersion(cfg.Version.String()), harness.WithImage(cfg.Image), harness.WithName(Name),
			harness.WithMembers(cfg.Members), harness.WithTimeouts(cfg.Timeouts), harness.WithLogger(d.Logger()))
		d.Cluster = c // kept even on error: Close removes what was made
		if err != nil {
			return record.Action{}, err
		}
		e, err := recovery.EndpointStatusTable(ctx, c, c.Members()[0])
		e.Command = recovery.EtcdCommands(c) + "\n" + e.Command
		return e, err
	})
}

// etcdutlStatus runs the target version's `etcdutl snapshot status` on
// the file and compares it with the offline reading. A disagreement is a
// failed check, not the end of the run.
func (v *verification) etcdutlStatus(ctx context.Context, d *drill.Drill) error {
	m, ver := d.Cluster.Members()[0], d.Config.Version
	var got recovery.SnapshotStatus
	snap := v.file.Snapshot()
	if err := recovery.Distribute(ctx, d.Log, d.Cluster, snap); err != nil {
		return err
	}
	v.snap = snap
	ctx = harness.WithDataSize(ctx, snap.Size)
	err := d.Log.Do(record.PhaseObserve, "etcdutl "+ver.String()+" snapshot status on "+m.Name(), m.Name(), func() (record.Action, error) {
		e, err := m.Offline(ctx, nil, "etcdutl", "snapshot", "status", recovery.SnapshotPath, "--write-out=json")
		if err != nil {
			return e, err
		}
		got, err = recovery.ParseSnapshotStatus(e.Output)
		return e, err
	})
	if err != nil {
		check(d, "etcdutl-status", err, "")
		return nil
	}
	note := ""
	if !ver.AtLeast(6, 0) {
		note = " (before 3.6 etcdutl counts every entry of every bucket as a key)"
	}
	check(d, "etcdutl-status", v.sameStatus(ver, got), fmt.Sprintf("etcdutl %s agrees: %s%s", ver, got, note))
	return nil
}

// sameStatus compares etcdutl's status with the offline reading. etcdutl
// before 3.6 counts every entry of every bucket as totalKey and has no
// storage version, so those are compared from 3.6 on.
func (v *verification) sameStatus(ver harness.Version, got recovery.SnapshotStatus) error {
	want := v.file.Status
	if want == nil {
		return fmt.Errorf("etcdutl %s reads %s, but the offline reading failed: %v", ver, got, v.file.StatusErr)
	}
	w := *want
	if !ver.AtLeast(6, 0) {
		w.TotalKey, w.Version = got.TotalKey, got.Version
	}
	if got != w {
		return fmt.Errorf("etcdutl %s says %s; the offline reading says %s", ver, got, want)
	}
	return nil
}
