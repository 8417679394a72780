package drill

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/workload"
)

// Finish is the one finish path of every run: it stops the load, fills
// the record's steps, timeline, metrics, verdict and reason, saves the
// artifacts of a failed or interrupted run when asked, and writes the
// report. runErr is the step error that ended the run, if any; ctx is the
// caller's context, whose cancellation (Ctrl-C) makes the verdict
// interrupted rather than failed. A reason a step set on the record
// beforehand is kept: it is more precise than the first failure.
func (d *Drill) Finish(ctx context.Context, runErr error) (Result, error) {
	d.stopLoad()
	r := d.Record
	r.Steps, r.End = d.Log.Steps(), time.Now()
	if d.Cluster != nil {
		r.RunID = d.Cluster.RunID()
		img := d.Cluster.Image()
		r.Config.Image, r.Config.ImageID = img.Tag, img.ID
	}
	d.fillTimeline()
	c := d.Ledger.Counts()
	r.Metrics.Acknowledged, r.Metrics.Failed, r.Metrics.Indeterminate = c[workload.Acknowledged], c[workload.Failed], c[workload.Indeterminate]
	o := State[Outage](d)
	if !o.FaultAt.IsZero() && !o.RecoveredAt.IsZero() {
		r.Metrics.RTOMillis = record.Millis(o.RecoveredAt.Sub(o.FaultAt))
	}
	r.Metrics.Phases = phases(d.Log.Phases(), o.FaultAt, o.RecoveredAt)
	if s := State[Restore](d).Snapshot; s != nil {
		r.Metrics.SnapshotBytes = s.Size
	}
	r.Metrics.PeakRSSBytes = peakRSS()
	failed := r.Failed()
	switch {
	case ctx.Err() != nil:
		r.Verdict, r.Reason = record.Interrupted, "interrupted: "+context.Cause(ctx).Error()
	case failed != "" || runErr != nil:
		r.Verdict = record.Fail
		if r.Reason == "" {
			r.Reason = failed
		}
		if r.Reason == "" {
			r.Reason = runErr.Error()
		}
	default:
		r.Verdict, r.Reason = record.Pass, ""
	}
	if r.Verdict != record.Pass && d.Config.KeepArtifacts {
		d.keepArtifacts(ctx)
	}
	if d.Config.KeepSnapshot {
		d.keepSnapshot()
	}
	d.keepClientEvidence()
	dir, err := d.write()
	d.lg.Info("drill done", "verdict", r.Verdict, "reason", r.Reason, "elapsed", r.End.Sub(r.Start).Round(time.Millisecond))
	return Result{Record: r, Dir: dir}, err
}

// phases are the recovery time's phases: those recorded after the fault
// (a restore of the operator's snapshot during setup is not recovery),
// then the first acknowledged write, from the first leader (or the last
// phase) until the outage ended. Without a fault, all are kept.
func phases(all []record.RTOPhase, faultAt, recoveredAt time.Time) []record.RTOPhase {
	var out []record.RTOPhase
	for _, p := range all {
		if faultAt.IsZero() || !p.Start.Before(faultAt) {
			out = append(out, p)
		}
	}
	if len(out) == 0 || recoveredAt.IsZero() {
		return out
	}
	from := out[len(out)-1].End
	for _, p := range out {
		if p.Name == record.PhaseLeader {
			from = p.End
		}
	}
	if recoveredAt.After(from) {
		out = append(out, record.RTOPhase{Name: record.PhaseFirstWrite, Start: from, End: recoveredAt})
	}
	return out
}

// CheckErr turns the failed checks among cs into one error naming each,
// or nil when none failed: the one way a drill's checks become its error.
func CheckErr(cs ...record.Check) error {
	var failed []string
	for _, c := range cs {
		if !c.Passed() {
			failed = append(failed, c.Name+": "+c.Summary)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("checks failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

func (d *Drill) write() (string, error) {
	dir, err := reports.WriteRun(d.Config.OutDir, d.Record)
	if err != nil {
		d.lg.Error("write report", "err", err)
	} else if dir != "" {
		d.lg.Info("report written", "dir", dir)
	}
	return dir, err
}

// keepArtifacts saves every member's log and data dir into the report
// directory. It runs on a context of its own: after Ctrl-C the caller's
// is cancelled, and the artifacts matter most then.
func (d *Drill) keepArtifacts(ctx context.Context) {
	dir := reports.RunDir(d.Config.OutDir, d.Record)
	if dir == "" || d.Cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.Config.Timeouts.Teardown)
	defer cancel()
	adir := filepath.Join(dir, "artifacts")
	if err := os.MkdirAll(adir, 0o755); err != nil {
		d.lg.Error("keep artifacts", "err", err)
		return
	}
	for _, m := range d.Cluster.Members() {
		if logs, err := m.Logs(ctx); err == nil {
			os.WriteFile(filepath.Join(adir, m.Name()+".log"), []byte(logs), 0o644)
		}
		f, err := os.Create(filepath.Join(adir, m.Name()+"-data.tar"))
		if err != nil {
			continue
		}
		if err := m.ArchiveDataDir(ctx, f); err != nil {
			d.lg.Warn("keep data dir", "member", m.Name(), "err", err)
		}
		f.Close()
	}
	d.lg.Info("artifacts kept", "dir", adir)
}

// keepSnapshot moves the restored snapshot into the report directory as
// snapshot.db (copying when the two are on different file systems).
func (d *Drill) keepSnapshot() {
	s := State[Restore](d).Snapshot
	dir := reports.RunDir(d.Config.OutDir, d.Record)
	if s == nil || s.Path == "" || dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.lg.Error("keep snapshot", "err", err)
		return
	}
	dst := filepath.Join(dir, "snapshot.db")
	if err := os.Rename(s.Path, dst); err == nil {
		s.Path = dst
		return
	}
	if err := copyFile(s.Path, dst); err != nil {
		d.lg.Error("keep snapshot", "err", err)
	}
}

// copyFile copies src to dst, streaming.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fillTimeline turns the ledger into per-second samples and the fault and
// recovery steps, with the drill's own events, into timeline marks.
func (d *Drill) fillTimeline() {
	var ops []record.Op
	for _, w := range d.Ledger.Writes() {
		ops = append(ops, record.Op{Start: w.Start, End: w.End, Outcome: string(w.Outcome)})
	}
	r := d.Record
	r.Timeline = record.Timeline(ops)
	r.Events = append([]record.Event(nil), d.events...)
	var firstFault time.Time
	for _, s := range r.Steps {
		if s.Phase == record.PhaseFault {
			if firstFault.IsZero() {
				firstFault = s.End
			}
			r.Events = append(r.Events, record.Event{T: s.End, Kind: "fault", Text: s.Name})
		}
	}
	// Recovery steps before the fault (a precautionary snapshot save) are
	// preparation, not recovery: they are not marked on the timeline.
	for _, s := range r.Steps {
		if s.Phase == record.PhaseRecovery && !firstFault.IsZero() && !s.Start.Before(firstFault) {
			r.Events = append(r.Events, record.Event{T: s.Start, Kind: "recovery", Text: s.Name})
		}
	}
	sort.SliceStable(r.Events, func(i, j int) bool { return r.Events[i].T.Before(r.Events[j].T) })
}

// RefusalCheck is the check a refused step proves: pass with the line
// that proved the refusal (Log.Refused's), fail with err.
func RefusalCheck(name, line string, err error) record.Check {
	if err != nil {
		return record.Check{Name: name, Verdict: record.Fail, Summary: err.Error()}
	}
	return record.Check{Name: name, Verdict: record.Pass, Summary: line}
}
