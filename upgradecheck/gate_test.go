package upgradecheck

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/upgrade"
	"github.com/etcdrill/etcdrill/workload"
)

// A path a gate refuses ends before any image or container: no Docker is
// needed, and the record still goes through the drill engine's finish.
func TestBlockedBeforeAnythingRuns(t *testing.T) {
	out := t.TempDir()
	res, err := Check(context.Background(), Options{From: "3.5.19", To: "3.6.16", OutDir: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("Check err = %v, want ErrBlocked", err)
	}
	r := res.Record
	switch {
	case res.Safe || r.Verdict != record.Fail:
		t.Errorf("safe %v, verdict %s: want not safe, fail", res.Safe, r.Verdict)
	case r.Kind != record.KindUpgradeCheck:
		t.Errorf("kind %q, want %q", r.Kind, record.KindUpgradeCheck)
	case r.Config.EtcdVersion != "3.5.19" || r.Config.TargetVersion != "3.6.16":
		t.Errorf("config versions %q → %q, want 3.5.19 → 3.6.16: the cluster would start on From", r.Config.EtcdVersion, r.Config.TargetVersion)
	case r.Metrics.RTOMillis != nil:
		t.Errorf("RTO %d ms, want none measured: nothing was stopped", *r.Metrics.RTOMillis)
	case r.RunID != "" || len(r.Steps) != 1:
		t.Errorf("run id %q, %d steps: want no cluster, only the gate step", r.RunID, len(r.Steps))
	case r.Reason != upgrade.Summary(res.Findings) || !strings.Contains(r.Reason, "min-patch"):
		t.Errorf("reason %q, want the blockers, min-patch among them", r.Reason)
	case filepath.Dir(res.ReportDir) != out || !strings.HasPrefix(filepath.Base(res.ReportDir), "upgrade-check-v3.5.19-to-v3.6.16-"):
		t.Errorf("report dir %q, want %s/upgrade-check-v3.5.19-to-v3.6.16-<start>", res.ReportDir, out)
	}
	last := r.Checks[len(r.Checks)-1]
	if last.Name != "verdict" || last.Verdict != record.Fail || !strings.HasPrefix(last.Summary, "not safe: ") {
		t.Errorf("last check = %+v, want the failed verdict", last)
	}
}

func TestConfig(t *testing.T) {
	from := harness.MustVersion("3.5.35")
	cfg, err := config(Options{}, from)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Load
	if cfg.Version != from || cfg.Members != 3 || !cfg.TLS || cfg.Seed == 0 || l.Writers != 4 || l.Rate != 100 || l.Seed != cfg.Seed || l.Prefix != "/etcdrill/upgrade-check/" {
		t.Errorf("defaults: %+v", cfg)
	}
	if want := drill.DefaultTimeout + cfg.Timeouts.ImageBuild; cfg.Timeout != want {
		t.Errorf("timeout %s, want %s", cfg.Timeout, want)
	}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"even cluster", Options{Members: 4}},
		{"no writers", Options{Load: workload.Config{Writers: -1}}},
		{"negative rate", Options{Load: workload.Config{Rate: -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := config(tc.o, from); !errors.Is(err, drill.ErrConfig) {
				t.Errorf("config err = %v, want drill.ErrConfig", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no from", Options{To: "3.6.16"}},
		{"bad to", Options{From: "3.5.35", To: "3.6"}},
		{"missing config", Options{From: "3.5.35", To: "3.6.16", Config: filepath.Join(t.TempDir(), "etcd.yaml")}},
		{"missing data dir", Options{From: "3.5.35", To: "3.6.16", DataDir: filepath.Join(t.TempDir(), "data.tar")}},
		{"v2 on 3.6", Options{From: "3.6.16", To: "3.7.3", V2: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(context.Background(), tc.o)
			if res != nil || !errors.Is(err, drill.ErrConfig) {
				t.Errorf("Check = %v, %v; want nil and drill.ErrConfig", res, err)
			}
		})
	}
}

// TestDemonstrable: --demonstrate picks a blocker whose hazard it can
// reproduce, and says why when no blocker on the path has one.
func TestDemonstrable(t *testing.T) {
	v := harness.MustVersion
	id, why := demonstrable(upgrade.Gates(v("3.5.16"), v("3.6.16")))
	if id != "learner-promotion-19557" || why != "" {
		t.Fatalf("3.5.16 → 3.6.16: %q, %q; want the 19557 demonstration", id, why)
	}
	id, why = demonstrable(upgrade.Gates(v("3.5.35"), v("3.7.3")))
	if id != "" || !strings.Contains(why, "skip-minor") {
		t.Fatalf("3.5.35 → 3.7.3: %q, %q; want none, naming the blocker", id, why)
	}
	if _, ok := demos[""]; ok {
		t.Fatal("a demo without an advisory")
	}
	for id := range demos {
		found := false
		for _, a := range upgrade.Advisories {
			found = found || a.ID == id && a.Reproducible != ""
		}
		if !found {
			t.Errorf("demo %s is not an advisory marked reproducible", id)
		}
	}
}
