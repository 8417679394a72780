// Package upgradecheck is `etcdrill upgrade-check --from X --to Y`: may
// production move from X to Y? It checks the gates of package upgrade
// first, starting nothing, then rehearses the upgrade on a cluster of X
// under load. It runs on the drill engine, so its record, verdict and
// report come from drill's one finish path, as a drill's do.
package upgradecheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/upgrade"
	"github.com/etcdrill/etcdrill/workload"
)

// ErrBlocked is returned by Check when a gate refused the upgrade; the
// result lists the blockers and what to do about each.
var ErrBlocked = errors.New("upgrade blocked")

// Options are what a user chooses for an upgrade check.
type Options struct {
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
	// Demonstrate runs a blocked path anyway, on a throwaway cluster, to
	// reproduce the hazard a blocker predicts, where one can be
	// reproduced in containers (see upgrade.Advisory.Reproducible). The
	// verdict stays "not safe". Default false.
	Demonstrate bool `json:"demonstrate,omitempty"`
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

// Result is what an upgrade check found. Safe is true only when no gate
// blocked and the rehearsal passed.
type Result struct {
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
	Fallback string `json:"fallback,omitempty"`
	// Demonstrated lists the advisories whose hazard --demonstrate
	// reproduced.
	Demonstrated []string       `json:"demonstrated,omitempty"`
	Downgrade    string         `json:"downgrade,omitempty"`
	ReportDir    string         `json:"report_dir,omitempty"`
	Record       *record.Record `json:"-"`
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

// scenario describes the check to the drill engine; it is not in the
// catalogue, so `run --all` does not pick it up.
var scenario = drill.Scenario{
	Name:    record.KindUpgradeCheck,
	Summary: "gates, then a rolling upgrade X→Y under load with TLS, then a fallback restore of an X snapshot on Y",
	Labels:  []string{"upgrade"},
	Members: 3,
	TLS:     true,
}

// run is one upgrade check in progress: what its steps share.
type run struct {
	o        Options
	from, to harness.Version
	settings []upgrade.Setting
	d        *drill.Drill
	res      *Result
	imgs     []harness.Image // From's, then To's
	snap     *recovery.Snapshot
	// fallback is the cluster of the fallback restore. d.Cluster stays the
	// rehearsal cluster, whose run ID and image name the record.
	fallback *harness.Cluster
	cv       string // the cluster version last read
	demo     string // the advisory --demonstrate reproduces, once the gates found it
}

// Check answers "may production move from o.From to o.To?". It checks
// the gates first (the version path, known upgrade bugs, the config's
// flags), before any image is built or container started; a blocked path
// is refused at once. Otherwise it rehearses: a TLS cluster on From under
// continuous writes is upgraded member by member to To, with health, one
// leader, HashKV and the ledger checked after each member and the cluster
// version read at each step; where etcd supports it (To 3.6+, or a patch
// change) the same cluster then goes back to From the same way, after
// `etcdctl downgrade enable`; last, a snapshot taken on From is restored
// into a new cluster on To. The longest write outage of any member's
// step is the RTO; when a gate refused before anything stopped, none is
// measured.
//
// It returns (nil, err) for bad input, and otherwise the result, with
// ErrBlocked when a gate refused or the rehearsal's error when it
// failed. The report is written under o.OutDir.
func Check(ctx context.Context, o Options) (*Result, error) {
	u, err := newRun(o)
	if err != nil {
		return nil, err
	}
	steps := u.steps()
	if o.Demonstrate {
		steps = u.demoSteps()
	}
	return u.finish(ctx, u.d.RunSteps(ctx, steps))
}

// newRun checks o and prepares the drill; nothing starts. The versions
// are parsed here and nowhere else.
func newRun(o Options) (*run, error) {
	from, err := harness.ParseVersion(o.From)
	if err != nil {
		return nil, fmt.Errorf("%w: --from: %w", drill.ErrConfig, err)
	}
	to, err := harness.ParseVersion(o.To)
	if err != nil {
		return nil, fmt.Errorf("%w: --to: %w", drill.ErrConfig, err)
	}
	u := &run{o: o, from: from, to: to}
	if o.Config != "" {
		data, err := os.ReadFile(o.Config)
		if err != nil {
			return nil, fmt.Errorf("%w: --config: %w", drill.ErrConfig, err)
		}
		if u.settings, err = upgrade.ParseConfig(data); err != nil {
			return nil, fmt.Errorf("%w: --config %s: %w", drill.ErrConfig, o.Config, err)
		}
	}
	if o.DataDir != "" {
		if _, err := os.Stat(o.DataDir); err != nil {
			return nil, fmt.Errorf("%w: --data-dir: %w", drill.ErrConfig, err)
		}
	}
	if o.V2 && !from.HasV2() {
		return nil, fmt.Errorf("%w: --v2: etcd %s has no v2 API (3.5 only)", drill.ErrConfig, from)
	}
	cfg, err := config(o, from)
	if err != nil {
		return nil, err
	}
	s := scenario
	if o.V2 {
		s.ClusterOptions = []harness.Option{harness.WithV2()}
	}
	u.d = drill.New(&s, cfg)
	u.d.Record.Kind = record.KindUpgradeCheck
	u.d.Record.Config.TargetVersion = to.String() // EtcdVersion stays From: the cluster starts there
	dir := "upgrade"
	if to.Minor < from.Minor || (to.Minor == from.Minor && to.Patch < from.Patch) {
		dir = "downgrade"
	}
	u.res = &Result{From: from.String(), To: to.String(), Direction: dir}
	return u, nil
}

// config is the drill's configuration, resolved by drill.Resolve: a TLS
// cluster on from, under a load of 4 writers at 100 writes/s unless o
// says otherwise. Timeout is the drill default plus one image build
// budget: the check may build two images before anything else runs.
func config(o Options, from harness.Version) (drill.Config, error) {
	cfg, err := drill.Resolve(&scenario, drill.Options{Version: from.String(), Members: o.Members, Seed: o.Seed, Load: o.Load,
		OutDir: o.OutDir, Timeouts: o.Timeouts, Logger: o.Logger})
	cfg.Timeout = drill.DefaultTimeout + cfg.Timeouts.ImageBuild
	return cfg, err
}

// gate runs the checks that need no Docker and records them; it returns
// ErrBlocked when one refuses the path.
func (u *run) gate(_ context.Context, d *drill.Drill) error {
	fs := upgrade.Gates(u.from, u.to)
	if u.o.Config != "" {
		name := filepath.Base(u.o.Config)
		lint := upgrade.LintConfig(u.settings, u.from, u.to, name)
		fs = append(fs, upgrade.Finding{ID: "config-lint", Severity: upgrade.OK, Subject: name, Source: name,
			Reason: fmt.Sprintf("%s: %d settings checked against %s: %d finding(s) below", name, len(u.settings), u.to, len(lint))})
		fs = append(fs, lint...)
	} else {
		fs = append(fs, upgrade.Unlinted(u.from, u.to)...)
	}
	cmd := fmt.Sprintf("etcdrill upgrade-check --from %s --to %s", u.from, u.to)
	if u.o.Config != "" {
		cmd += " --config " + u.o.Config
	}
	if u.o.Demonstrate {
		cmd += " --demonstrate"
	}
	return d.Log.Do(record.PhaseSetup, fmt.Sprintf("check the upgrade path %s → %s and its configuration", u.from, u.to), "", func() (record.Action, error) {
		a := record.Action{Command: cmd, Output: u.addFindings(fs)}
		err := blocked(fs)
		if !u.o.Demonstrate {
			return a, err
		}
		// --demonstrate runs a blocked path anyway; it needs one whose
		// hazard can be reproduced here.
		id, why := demonstrable(fs)
		switch {
		case err == nil:
			return a, errors.New("--demonstrate: nothing blocks this path, so there is no hazard to reproduce")
		case id == "":
			return a, fmt.Errorf("%w; --demonstrate: %s", err, why)
		}
		u.demo = id
		a.Output += fmt.Sprintf("\n# --demonstrate: running the blocked path anyway on a throwaway cluster, to reproduce %s", id)
		return a, nil
	})
}

// addFindings keeps findings for the result and the report's checks, and
// returns them one per line.
func (u *run) addFindings(fs []upgrade.Finding) string {
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
		u.d.AddChecks(c)
		lines = append(lines, f.String())
	}
	return strings.Join(lines, "\n")
}

func blocked(fs []upgrade.Finding) error {
	if s := upgrade.Summary(fs); s != "" {
		return fmt.Errorf("%w: %s", ErrBlocked, s)
	}
	return nil
}
