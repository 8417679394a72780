package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/reports"
)

// SnapshotVerifyName is the scenario name of a snapshot verify record.
const SnapshotVerifyName = "snapshot-verify"

// SnapshotVerifyOptions are the choices of `etcdrill snapshot verify`.
type SnapshotVerifyOptions struct {
	// Version is the etcd version that must serve the snapshot. Default
	// harness.DefaultVersion.
	Version string `json:"version"`
	// Image runs an existing local image instead of building one.
	Image string `json:"image,omitempty"`
	// Members is the size of the throwaway cluster: 1, 3 or 5. Default 3.
	Members int `json:"members"`
	// SkipHashCheck accepts a file without an appended SHA-256, such as a
	// copied member/snap/db; a damaged file is refused regardless.
	// Default false.
	SkipHashCheck bool `json:"skip_hash_check,omitempty"`
	// BumpRevision and MarkCompacted are etcdutl's Kubernetes-safe
	// restore (--bump-revision N --mark-compacted): the restored revision
	// must be at least the file's plus N, and older revisions compacted.
	// etcdutl takes both or neither. Default 0 and false.
	BumpRevision  uint64 `json:"bump_revision,omitempty"`
	MarkCompacted bool   `json:"mark_compacted,omitempty"`
	// OutDir receives the report directory; "" writes none.
	OutDir string `json:"out_dir,omitempty"`
	// Timeouts bound every wait. Default harness.DefaultTimeouts().
	Timeouts *harness.Timeouts `json:"timeouts,omitempty"`
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger `json:"-"`
}

// Validate fills the defaults documented on each field, then checks o;
// its errors are usage errors.
func (o *SnapshotVerifyOptions) Validate() (harness.Version, error) {
	if o.Version == "" {
		o.Version = harness.DefaultVersion
	}
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Timeouts == nil {
		t := harness.DefaultTimeouts()
		o.Timeouts = &t
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	v, err := harness.ParseVersion(o.Version)
	if err != nil {
		return v, err
	}
	o.Version = v.String()
	if o.Members != 1 && o.Members != 3 && o.Members != 5 {
		return v, fmt.Errorf("--members %d: want 1, 3 or 5", o.Members)
	}
	if (o.BumpRevision > 0) != o.MarkCompacted {
		return v, errors.New("--bump-revision N and --mark-compacted go together, as etcdutl requires")
	}
	return v, nil
}

// snapVerify is one snapshot verification in progress.
type snapVerify struct {
	o    SnapshotVerifyOptions
	v    harness.Version
	file *recovery.SnapshotFile
	log  *record.Log
	rec  *record.Record
	lg   *slog.Logger
	c    *harness.Cluster
	// why is the verdict's reason when it is more precise than the first
	// failed step: the file's damage, or why etcd did not serve it.
	why string
}

// VerifySnapshot answers whether the snapshot file at path is intact and
// whether etcd o.Version serves it. It checks the file first, starting
// nothing (recovery.ReadSnapshotFile); a refused file ends there. Then it
// starts a throwaway cluster, restores the file into it with a new token
// (recovery.RestoreCluster), and verifies the keyspace, the revision and
// the members (and, with MarkCompacted, that old revisions are
// compacted). The record is written under o.OutDir.
//
// It returns (nil, err) when nothing could be verified: bad options, a
// file that is no snapshot (recovery.ErrBadInput), no Docker engine
// (harness.ErrNoDocker) or an unknown version (harness.ErrUnknownVersion).
// Otherwise it returns the record, and an error when its verdict is fail.
func VerifySnapshot(ctx context.Context, path string, o SnapshotVerifyOptions) (*record.Record, error) {
	v, err := o.Validate()
	if err != nil {
		return nil, err
	}
	f, err := recovery.ReadSnapshotFile(path)
	if err != nil {
		return nil, err
	}
	lg := o.Logger.With("scenario", SnapshotVerifyName, "file", path)
	id := make([]byte, 4)
	rand.Read(id)
	s := &snapVerify{o: o, v: v, file: f, lg: lg, log: &record.Log{Logger: lg}, rec: &record.Record{
		// The cluster's run ID replaces this one when a cluster starts.
		RunID:  SnapshotVerifyName + "-" + hex.EncodeToString(id),
		Schema: record.Schema, Scenario: SnapshotVerifyName, Seeds: []string{"000", "001", "003"}, Start: time.Now(),
		Config: record.Config{EtcdVersion: v.String(), Members: o.Members},
	}}
	err = s.run(ctx)
	if errors.Is(err, harness.ErrNoDocker) || errors.Is(err, harness.ErrUnknownVersion) {
		return nil, errors.Join(err, s.c.Close(ctx))
	}
	rec := s.finish(err)
	cerr := s.c.Close(ctx)
	if dir := ReportDir(o.OutDir, rec); dir != "" {
		if werr := reports.WriteDir(dir, rec); werr != nil {
			cerr = errors.Join(cerr, werr)
		} else {
			lg.Info("report written", "dir", dir)
		}
	}
	if rec.Verdict == record.Fail {
		return rec, errors.Join(fmt.Errorf("snapshot not verified: %s", rec.Reason), cerr)
	}
	return rec, cerr
}

func (s *snapVerify) run(ctx context.Context) error {
	if err := s.checkFile(); err != nil {
		return err
	}
	if err := s.startCluster(ctx); err != nil {
		return err
	}
	s.etcdutlStatus(ctx)
	if err := s.restore(ctx); err != nil {
		return err
	}
	return s.verifyServed(ctx)
}

// finish fills the record's steps, verdict and reason.
func (s *snapVerify) finish(runErr error) *record.Record {
	r := s.rec
	r.Steps, r.End, r.Metrics.RTOMillis = s.log.Steps(), time.Now(), -1
	if s.c != nil {
		r.RunID = s.c.RunID()
		img := s.c.Image()
		r.Config.Image, r.Config.ImageID = img.Tag, img.ID
	}
	r.Verdict = record.Pass
	if reason := r.Failed(); reason != "" || runErr != nil {
		r.Verdict, r.Reason = record.Fail, reason
		switch {
		case s.why != "":
			r.Reason = s.why
		case reason == "":
			r.Reason = runErr.Error()
		}
	}
	s.lg.Info("snapshot verify done", "verdict", r.Verdict, "reason", r.Reason, "elapsed", r.End.Sub(r.Start).Round(time.Millisecond))
	return r
}

func (s *snapVerify) check(name string, err error, summary string) record.Check {
	c := record.Check{Name: name, Verdict: record.Pass, Summary: summary}
	if err != nil {
		c.Verdict, c.Summary = record.Fail, err.Error()
	}
	s.rec.Checks = append(s.rec.Checks, c)
	return c
}

// checkFile is the offline part: the file's integrity, then what it
// holds, both without starting anything. A refused file ends the run.
func (s *snapVerify) checkFile() error {
	f, in := s.file, s.file.Integrity
	accept := f.Accept(s.o.SkipHashCheck)
	if in.Kind == recovery.HashMismatch {
		accept = fmt.Errorf("%w (etcdutl snapshot status does not check this hash; etcdutl snapshot restore refuses the file)", accept)
	}
	summary := in.String()
	if accept == nil && f.IntegrityErr != nil {
		summary += "; accepted unverified (--skip-hash-check): nothing proves this file intact"
	}
	s.check("snapshot-integrity", accept, summary)
	err := s.log.Do(record.PhaseObserve, "check the snapshot file's sha256", "", func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("head -c -32 %[1]s | sha256sum; tail -c 32 %[1]s | od -An -tx1 | tr -d ' \\n'  # equal when the file is intact", harness.ShellJoin([]string{f.Path})),
			Output: fmt.Sprintf("%s: %s", f.Path, summary)}
		return a, accept
	})
	if accept != nil {
		s.why = "the file is refused: " + accept.Error()
	}
	if in.Kind == recovery.Truncated {
		return err
	}
	serr := s.log.Do(record.PhaseObserve, "read revision, keys and size from the file", "", func() (record.Action, error) {
		a := record.Action{Command: "etcdutl snapshot status " + harness.ShellJoin([]string{f.Path}) + " --write-out=json  # read in process (bbolt format), no etcd started"}
		if f.StatusErr != nil {
			return a, f.StatusErr
		}
		b, _ := json.Marshal(f.Status)
		a.Output = string(b)
		return a, nil
	})
	if f.Status != nil {
		s.rec.Metrics.SnapshotRevision = f.Status.Revision
		s.check("snapshot-status", nil, f.Status.String()+s.tooNew())
	} else {
		s.check("snapshot-status", f.StatusErr, "")
	}
	if serr != nil {
		s.lg.Warn("offline reading failed; restoring anyway, so the report says what etcd makes of the file", "err", serr)
	}
	return err
}

// tooNew notes a storage version newer than a 3.6+ target: such a
// target refuses to start from it (3.5 has no storage version to check).
func (s *snapVerify) tooNew() string {
	sv, err := harness.ParseVersion(s.file.Status.Version)
	if err != nil || sv.Minor <= s.v.Minor || !s.v.AtLeast(6, 0) {
		return ""
	}
	return fmt.Sprintf("; storage version %s is newer than etcd %s", s.file.Status.Version, s.v)
}

// startCluster starts the throwaway cluster of the target version.
func (s *snapVerify) startCluster(ctx context.Context) error {
	return s.log.Do(record.PhaseSetup, fmt.Sprintf("start a throwaway %d-member etcd %s cluster", s.o.Members, s.v), "", func() (record.Action, error) {
		c, err := harness.New(ctx, harness.WithVersion(s.o.Version), harness.WithImage(s.o.Image), harness.WithName(SnapshotVerifyName),
			harness.WithMembers(s.o.Members), harness.WithTimeouts(*s.o.Timeouts), harness.WithLogger(s.lg))
		s.c = c // kept even on error: Close removes what was made
		if err != nil {
			return record.Action{}, err
		}
		e, err := endpointStatus(ctx, c, c.Members()[0])
		e.Command = etcdCommands(c) + "\n" + e.Command
		return e, err
	})
}

// etcdutlStatus runs the target version's `etcdutl snapshot status` on
// the file and compares it with the offline reading. A disagreement is a
// failed check, not the end of the run.
func (s *snapVerify) etcdutlStatus(ctx context.Context) {
	m := s.c.Members()[0]
	var got recovery.SnapshotStatus
	err := s.log.Do(record.PhaseObserve, "etcdutl "+s.v.String()+" snapshot status on "+m.Name(), m.Name(), func() (record.Action, error) {
		if err := m.CopyIn(ctx, recovery.SnapshotPath, s.file.Data); err != nil {
			return record.Action{}, err
		}
		e, err := m.Exec(ctx, "etcdutl", "snapshot", "status", recovery.SnapshotPath, "--write-out=json")
		if err != nil {
			return e, err
		}
		got, err = recovery.ParseSnapshotStatus(e.Output)
		return e, err
	})
	if err != nil {
		s.check("etcdutl-status", err, "")
		return
	}
	note := ""
	if !s.v.AtLeast(6, 0) {
		note = " (before 3.6 etcdutl counts every entry of every bucket as a key)"
	}
	s.check("etcdutl-status", s.sameStatus(got), fmt.Sprintf("etcdutl %s agrees: %s%s", s.v, got, note))
}

// sameStatus compares etcdutl's status with the offline reading. etcdutl
// before 3.6 counts every entry of every bucket as totalKey and has no
// storage version, so those are compared from 3.6 on.
func (s *snapVerify) sameStatus(got recovery.SnapshotStatus) error {
	want := s.file.Status
	if want == nil {
		return fmt.Errorf("etcdutl %s reads %s, but the offline reading failed: %v", s.v, got, s.file.StatusErr)
	}
	w := *want
	if !s.v.AtLeast(6, 0) {
		w.TotalKey, w.Version = got.TotalKey, got.Version
	}
	if got != w {
		return fmt.Errorf("etcdutl %s says %s; the offline reading says %s", s.v, got, want)
	}
	return nil
}
