package scenarios

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/upgrade"
	"github.com/etcdrill/etcdrill/workload"
)

// ErrUpgradeBlocked is returned by UpgradeCheck when a gate refused the
// upgrade; the result lists the blockers and what to do about each.
var ErrUpgradeBlocked = errors.New("upgrade blocked")

// UpgradeOptions are what a user chooses for an upgrade check.
type UpgradeOptions struct {
	// From is the etcd version production runs now. Required.
	From string `json:"from"`
	// To is the etcd version to move to. Required.
	To string `json:"to"`
	// Members is the size of the rehearsal cluster: 1, 3 or 5. Default 3.
	Members int `json:"members"`
	// V2 also writes v2 keys on From (3.5 only) before the upgrade: the
	// content that blocks 3.6. Default false.
	V2 bool `json:"v2,omitempty"`
	// Config is an etcd config file, flags file or systemd unit to lint
	// against To. Default "": none (the report says what to look for).
	Config string `json:"config,omitempty"`
	// DataDir is a tar or tar.gz of a production member's data dir to
	// check for blockers, without touching production. Default "": none.
	DataDir string `json:"data_dir,omitempty"`
	// Seed makes keys and values reproducible; 0 picks one.
	Seed int64 `json:"seed"`
	// Load shapes the writes that run throughout; zero fields take
	// workload defaults (4 writers, 100 writes/s).
	Load workload.Config `json:"load"`
	// OutDir receives the report directory; "" writes none.
	OutDir string `json:"out_dir,omitempty"`
	// Timeouts bound every wait. Default harness.DefaultTimeouts().
	Timeouts *harness.Timeouts `json:"timeouts,omitempty"`
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger `json:"-"`
}

// UpgradeResult is what an upgrade check found. Safe is true only when no
// gate blocked and the rehearsal passed.
type UpgradeResult struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Direction is "upgrade", or "downgrade" when To is older than From.
	Direction string            `json:"direction"`
	Safe      bool              `json:"safe"`
	Verdict   record.Verdict    `json:"verdict"`
	Reason    string            `json:"reason,omitempty"`
	Findings  []upgrade.Finding `json:"findings"`
	// Members is the rolling upgrade, one entry per member replaced.
	Members []MemberUpgrade `json:"members,omitempty"`
	// Back is the rehearsed way back on the same cluster, per member.
	Back []MemberUpgrade `json:"downgrade_members,omitempty"`
	// ClusterVersion is the cluster version after the rolling upgrade (or,
	// when it was refused, before it).
	ClusterVersion string `json:"cluster_version,omitempty"`
	// Fallback and Downgrade say what the way-back rehearsals showed.
	Fallback  string         `json:"fallback,omitempty"`
	Downgrade string         `json:"downgrade,omitempty"`
	ReportDir string         `json:"report_dir,omitempty"`
	Record    *record.Record `json:"-"`
}

// MemberUpgrade is one member's step of the rolling upgrade.
type MemberUpgrade struct {
	Name      string `json:"name"`
	WasLeader bool   `json:"was_leader"`
	// OutMillis is the time from SIGTERM until the cluster was ready again
	// with the member on the new version.
	OutMillis int64 `json:"out_ms"`
	// Server and Cluster are what GET /version answered right after.
	Server  string `json:"server_version"`
	Cluster string `json:"cluster_version"`
}

// upgradeScenario describes the check for the drill machinery; it is not
// in the catalogue, so `run --all` does not pick it up.
var upgradeScenario = Scenario{
	Name:    "upgrade-check",
	Summary: "gates, then a rolling upgrade X→Y under load with TLS, then a fallback restore of an X snapshot on Y",
	Labels:  []string{"upgrade"},
	Members: 3,
	TLS:     true,
}

// upgradeRun is one upgrade check in progress.
type upgradeRun struct {
	o        UpgradeOptions
	from, to harness.Version
	d        *Drill
	res      *UpgradeResult
	imgs     []harness.Image // From's, then To's
	snap     *recovery.Snapshot
	runID    string // the rehearsal cluster's, which names the report
	cv       string // the cluster version last read
	rolled   bool
}

// UpgradeCheck answers "may production move from o.From to o.To?". It
// checks the gates first (the version path, known upgrade bugs, the
// config's flags), before any image is built or container started; a
// blocked path is refused at once. Otherwise it rehearses: a TLS cluster
// on From under continuous writes is upgraded member by member to To,
// with health, one leader, HashKV and the ledger checked after each
// member and the cluster version read at each step; where etcd supports
// it (To 3.6+, or a patch change) the same cluster then goes back to From
// the same way, after `etcdctl downgrade enable`; last, a snapshot taken
// on From is restored into a new cluster on To. It returns (nil, err) for
// bad input, and otherwise the result, with ErrUpgradeBlocked when a gate
// refused or the rehearsal's error when it failed. The report is written
// under o.OutDir.
func UpgradeCheck(ctx context.Context, o UpgradeOptions) (*UpgradeResult, error) {
	from, err := harness.ParseVersion(o.From)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	to, err := harness.ParseVersion(o.To)
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	var settings []upgrade.Setting
	if o.Config != "" {
		data, err := os.ReadFile(o.Config)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if settings, err = upgrade.ParseConfig(data); err != nil {
			return nil, fmt.Errorf("--config %s: %w", o.Config, err)
		}
	}
	if o.DataDir != "" {
		if _, err := os.Stat(o.DataDir); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	}
	if o.V2 && !from.HasV2() {
		return nil, fmt.Errorf("--v2: etcd %s has no v2 API (3.5 only)", from)
	}
	u := newUpgradeRun(o, from, to)
	if err := u.gate(settings); err != nil {
		return u.finish(ctx, err)
	}
	err = u.rehearse(ctx)
	return u.finish(ctx, errors.Join(err, u.d.Close(ctx)))
}

func newUpgradeRun(o UpgradeOptions, from, to harness.Version) *upgradeRun {
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Load.Writers == 0 {
		o.Load.Writers = 4 // the live ledger check counts writers
	}
	s := upgradeScenario
	if o.V2 {
		s.ClusterOptions = []harness.Option{harness.WithV2()}
	}
	d := NewDrill(&s, Options{Version: from.String(), Members: o.Members, Seed: o.Seed, Load: o.Load, Timeouts: o.Timeouts, Logger: o.Logger})
	d.Record.Config.EtcdVersion = to.String() // the version under test
	dir := "upgrade"
	if to.Minor < from.Minor || (to.Minor == from.Minor && to.Patch < from.Patch) {
		dir = "downgrade"
	}
	return &upgradeRun{o: o, from: from, to: to, d: d, res: &UpgradeResult{From: from.String(), To: to.String(), Direction: dir}}
}

// gate runs the checks that need no Docker and records them; it returns
// ErrUpgradeBlocked when one refuses the path.
func (u *upgradeRun) gate(settings []upgrade.Setting) error {
	fs := upgrade.Gates(u.from, u.to)
	if u.o.Config != "" {
		name := filepath.Base(u.o.Config)
		lint := upgrade.LintConfig(settings, u.from, u.to, name)
		fs = append(fs, upgrade.Finding{ID: "config-lint", Severity: upgrade.OK, Subject: name, Source: name,
			Reason: fmt.Sprintf("%s: %d settings checked against %s: %d finding(s) below", name, len(settings), u.to, len(lint))})
		fs = append(fs, lint...)
	} else {
		fs = append(fs, upgrade.Unlinted(u.from, u.to)...)
	}
	cmd := fmt.Sprintf("etcdrill upgrade-check --from %s --to %s", u.from, u.to)
	if u.o.Config != "" {
		cmd += " --config " + u.o.Config
	}
	return u.d.Log.Do(record.PhaseSetup, fmt.Sprintf("check the upgrade path %s → %s and its configuration", u.from, u.to), "", func() (record.Action, error) {
		return record.Action{Command: cmd, Output: u.addFindings(fs)}, u.blocked(fs)
	})
}

// addFindings keeps findings for the result and the report's checks, and
// returns them one per line.
func (u *upgradeRun) addFindings(fs []upgrade.Finding) string {
	var lines []string
	for _, f := range fs {
		u.res.Findings = append(u.res.Findings, f)
		c := record.Check{Name: "gate " + f.ID, Verdict: record.Pass, Summary: f.Reason, Details: f.Lines()}
		switch f.Severity {
		case upgrade.Warning:
			c.Summary = "warning: " + f.Reason
		case upgrade.Blocker:
			c.Verdict, c.Summary = record.Fail, "blocker: "+f.Reason
		}
		u.d.Record.Checks = append(u.d.Record.Checks, c)
		lines = append(lines, f.String())
	}
	return strings.Join(lines, "\n")
}

func (u *upgradeRun) blocked(fs []upgrade.Finding) error {
	if s := upgrade.Summary(fs); s != "" {
		return fmt.Errorf("%w: %s", ErrUpgradeBlocked, s)
	}
	return nil
}

// finish completes the record with the verdict, writes the report and
// fills the result.
func (u *upgradeRun) finish(ctx context.Context, runErr error) (*UpgradeResult, error) {
	r := u.d.Finish(ctx, runErr)
	if u.runID != "" {
		r.RunID = u.runID
	}
	if !u.rolled {
		r.Metrics.RTOMillis = 0 // nothing was stopped, so there was no outage
	}
	blockers := upgrade.Filter(u.res.Findings, upgrade.Blocker)
	v := record.Check{Name: "verdict", Verdict: record.Pass, Summary: fmt.Sprintf("safe to %s from %s to %s", u.res.Direction, u.from, u.to)}
	switch {
	case len(blockers) > 0:
		v.Verdict, v.Summary = record.Fail, fmt.Sprintf("not safe: %d blocker(s) for %s → %s; fix each, then run the check again", len(blockers), u.from, u.to)
		r.Verdict, r.Reason = record.Fail, upgrade.Summary(blockers)
	case r.Verdict == record.Fail:
		v.Verdict, v.Summary = record.Fail, "not safe: the rehearsal failed: "+r.Reason
	}
	for _, f := range blockers {
		v.Details = append(v.Details, "blocker: "+f.Reason)
		for _, l := range f.Lines() {
			v.Details = append(v.Details, "  "+l)
		}
	}
	for _, f := range upgrade.Filter(u.res.Findings, upgrade.Warning) {
		v.Details = append(v.Details, "warning: "+f.Reason, "  do: "+f.Fix)
	}
	r.Checks = append(r.Checks, v)
	u.res.Verdict, u.res.Reason, u.res.Safe, u.res.Record = r.Verdict, r.Reason, r.Verdict == record.Pass, r
	if u.o.OutDir != "" {
		u.res.ReportDir = u.reportDir(r)
		if err := reports.WriteDir(u.res.ReportDir, r); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("write report: %w", err))
		}
	}
	if runErr == nil && !u.res.Safe {
		runErr = fmt.Errorf("upgrade-check %s → %s: %s", u.from, u.to, r.Reason)
	}
	return u.res, runErr
}

// reportDir is <out>/upgrade-check-v<from>-to-v<to>-<run id>, with the
// start time for a check that was refused before any cluster started.
func (u *upgradeRun) reportDir(r *record.Record) string {
	id := strings.TrimPrefix(r.RunID, upgradeScenario.Name+"-")
	if r.RunID == "" {
		id = r.Start.UTC().Format("20060102T150405")
	}
	return filepath.Join(u.o.OutDir, fmt.Sprintf("%s-v%s-to-v%s-%s", upgradeScenario.Name, u.from, u.to, id))
}

// timeouts are the run's budgets.
func (u *upgradeRun) timeouts() harness.Timeouts { return u.d.timeouts() }
