// Package scenarios is the drill catalogue: each scenario is data (name,
// seed runbooks, versions) plus a list of titled steps that the Ginkgo
// suite and the CLI run alike.
package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/workload"
)

// Options are what a user chooses for a drill.
type Options struct {
	// Version is the etcd version. Default harness.DefaultVersion.
	Version string `json:"version"`
	// Image runs an existing local image instead of building one.
	Image string `json:"image,omitempty"`
	// Members overrides the scenario's cluster size (0 keeps it).
	Members int `json:"members,omitempty"`
	// TLS overrides the scenario's TLS setting (nil keeps it).
	TLS *bool `json:"tls,omitempty"`
	// Auth overrides the scenario's auth setting (nil keeps it): root and
	// a workload user with a role, every command carrying credentials.
	Auth *bool `json:"auth,omitempty"`
	// Seed makes keys and values reproducible; 0 picks one, which the
	// report records.
	Seed int64 `json:"seed"`
	// Load shapes the write workload; zero fields take workload defaults.
	Load workload.Config `json:"load"`
	// OutDir receives one report directory per drill; "" writes none.
	OutDir string `json:"out_dir,omitempty"`
	// KeepArtifacts saves member logs and data dirs of a failed drill
	// into its report directory before teardown.
	KeepArtifacts bool `json:"keep_artifacts,omitempty"`
	// Timeouts bound every wait. Default harness.DefaultTimeouts().
	Timeouts *harness.Timeouts `json:"timeouts,omitempty"`
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger `json:"-"`
	// OnStep, when set, is told before each step runs (i counts from 1),
	// for live progress on a terminal.
	OnStep func(drill string, i, n int, title string) `json:"-"`
}

// Drill is one scenario run in progress; steps share state through it.
type Drill struct {
	Scenario *Scenario
	Opts     Options
	Cluster  *harness.Cluster
	Log      *record.Log
	Ledger   *workload.Ledger
	Load     workload.Config
	Record   *record.Record
	lg       *slog.Logger

	runner        *workload.Runner
	loadCli       io.Closer
	loadCreds     *harness.Credentials // the workload's user when auth is on
	faultAt       time.Time
	recoveredAt   time.Time
	victims       []*harness.Member
	undo          fault.Undo
	snapshot      *recovery.Snapshot
	clusterBefore uint64
	upTo          int64
	state         map[reflect.Type]any // see State
	events        []record.Event
}

// event marks a moment on the report's timeline.
func (d *Drill) event(kind, text string) {
	d.events = append(d.events, record.Event{T: time.Now(), Kind: kind, Text: text})
}

// NewDrill prepares a drill of s; nothing starts until its steps run.
func NewDrill(s *Scenario, o Options) *Drill {
	if o.Version == "" {
		o.Version = harness.DefaultVersion
	}
	if v, err := harness.ParseVersion(o.Version); err == nil {
		o.Version = v.String() // "v3.6.16" and "3.6.16" name one report
	}
	if o.Seed == 0 {
		o.Seed = rand.Int64N(1<<31) + 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	load := o.Load
	load.Seed = o.Seed
	if load.Prefix == "" {
		load.Prefix = "/etcdrill/" + s.Name + "/"
	}
	lg := o.Logger.With("scenario", s.Name)
	lg.Info("drill prepared", "version", o.Version, "seed", o.Seed)
	return &Drill{
		Scenario: s, Opts: o, Log: &record.Log{Logger: lg}, Ledger: &workload.Ledger{}, Load: load, lg: lg,
		Record: &record.Record{
			Schema: record.Schema, Scenario: s.Name, Seeds: s.Seeds, Start: time.Now(),
			Config: record.Config{EtcdVersion: o.Version, Members: d0(o.Members, s.Members), TLS: s.tls(o), Auth: pick(o.Auth, s.Auth), Seed: o.Seed, Writers: load.Writers},
		},
	}
}

func pick(o *bool, def bool) bool {
	if o != nil {
		return *o
	}
	return def
}

func d0(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// Run runs every step of s in order, stops at the first failing step,
// finishes the record and tears down. The error is the first step's
// failure, or a failed check; the record is returned either way.
func Run(ctx context.Context, s *Scenario, o Options) (*record.Record, error) {
	d := NewDrill(s, o)
	var err error
	if ok, why := s.Applies(d.Opts.Version); !ok {
		return d.NotApplicable(why), nil
	}
	for i, st := range s.Steps {
		d.lg.Info("step", "title", st.Title)
		if o.OnStep != nil {
			o.OnStep(s.Name, i+1, len(s.Steps), st.Title)
		}
		if err = st.Do(ctx, d); err != nil {
			err = fmt.Errorf("%s: %s: %w", s.Name, st.Title, err)
			break
		}
	}
	rec := d.Finish(ctx, err)
	if err == nil && rec.Verdict == record.Fail {
		err = fmt.Errorf("%s: %s", s.Name, rec.Reason)
	}
	return rec, errors.Join(err, d.Close(ctx))
}

// NotApplicable finishes the record of a drill that does not apply.
func (d *Drill) NotApplicable(why string) *record.Record {
	d.Record.Verdict, d.Record.Reason, d.Record.End = record.NotApplicable, why, time.Now()
	d.write()
	return d.Record
}

// Finish stops the load, fills the record's steps, checks, verdict and
// metrics, saves artifacts of a failed drill when asked, and writes the
// report. runErr is the step error that ended the drill, if any.
func (d *Drill) Finish(ctx context.Context, runErr error) *record.Record {
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
	r.Metrics.RTOMillis = -1
	if !d.faultAt.IsZero() && !d.recoveredAt.IsZero() {
		r.Metrics.RTOMillis = d.recoveredAt.Sub(d.faultAt).Milliseconds()
	}
	r.Verdict = record.Pass
	if reason := r.Failed(); reason != "" || runErr != nil {
		r.Verdict, r.Reason = record.Fail, reason
		if reason == "" {
			r.Reason = runErr.Error()
		}
	}
	if r.Verdict == record.Fail && d.Opts.KeepArtifacts {
		d.keepArtifacts(ctx)
	}
	d.write()
	d.lg.Info("drill done", "verdict", r.Verdict, "reason", r.Reason, "elapsed", r.End.Sub(r.Start).Round(time.Millisecond))
	return r
}

// Dir is the drill's report directory under Options.OutDir.
func (d *Drill) Dir() string { return ReportDir(d.Opts.OutDir, d.Record) }

// ReportDir is where the report of r goes under out ("" when out is ""):
// <scenario>-v<version>-<run id>, or a start timestamp when the drill
// never got a cluster.
func ReportDir(out string, r *record.Record) string {
	if out == "" {
		return ""
	}
	id := strings.TrimPrefix(r.RunID, r.Scenario+"-")
	if r.RunID == "" {
		id = r.Start.UTC().Format("20060102T150405")
	}
	if r.Config.Auth {
		id = "auth-" + id
	}
	return filepath.Join(out, r.Scenario+"-v"+r.Config.EtcdVersion+"-"+id)
}

func (d *Drill) write() {
	if dir := d.Dir(); dir != "" {
		if err := reports.WriteDir(dir, d.Record); err != nil {
			d.lg.Error("write report", "dir", dir, "err", err)
		} else {
			d.lg.Info("report written", "dir", dir)
		}
	}
}

func (d *Drill) keepArtifacts(ctx context.Context) {
	dir := d.Dir()
	if dir == "" || d.Cluster == nil {
		return
	}
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

// Close tears the drill's cluster down; it is safe to call twice.
func (d *Drill) Close(ctx context.Context) error {
	d.stopLoad()
	return d.Cluster.Close(ctx)
}

func (d *Drill) stopLoad() {
	if d.runner != nil {
		d.runner.Stop()
		d.runner = nil
	}
	if d.loadCli != nil {
		d.loadCli.Close()
		d.loadCli = nil
	}
}

func (d *Drill) timeouts() harness.Timeouts {
	if d.Opts.Timeouts != nil {
		return *d.Opts.Timeouts
	}
	return harness.DefaultTimeouts()
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
