package upgrade

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

func v(t *testing.T, s string) harness.Version {
	t.Helper()
	pv, err := harness.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

// outcome is a finding reduced to what a test asserts: "id:severity".
func outcome(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+":"+string(f.Severity))
	}
	return out
}

func TestGates(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
		blocked        bool
	}{
		{"3.5.35 to 3.6.16 is safe", "3.5.35", "3.6.16", []string{"one-minor-step:ok", "min-patch:ok", "v2-store:ok"}, false},
		{"3.5.24 is the recommended floor", "3.5.24", "3.6.0", []string{"one-minor-step:ok", "min-patch:ok", "v2-store:ok"}, false},
		{"3.5.20 to 3.5.23 work but miss the snapshot fix", "3.5.21", "3.6.16", []string{"one-minor-step:ok", "min-patch:warning", "v2-store:ok"}, false},
		{"3.5.19 has the learner-promotion bug", "3.5.19", "3.6.16", []string{"one-minor-step:ok", "min-patch:blocker", "v2-store:ok"}, true},
		{"3.5.0 too", "3.5.0", "3.6.0", []string{"one-minor-step:ok", "min-patch:blocker", "v2-store:ok"}, true},
		{"3.6.16 to 3.7.3 is safe, with a fallback note", "3.6.16", "3.7.3", []string{"one-minor-step:ok", "min-patch:ok", "fallback-snapshot:warning"}, false},
		{"3.6 before 3.6.11 may not roll to 3.7", "3.6.10", "3.7.3", []string{"one-minor-step:ok", "min-patch:blocker", "fallback-snapshot:warning"}, true},
		{"skipping 3.6 is refused", "3.5.35", "3.7.3", []string{"skip-minor:blocker", "v2-store:ok", "fallback-snapshot:warning"}, true},
		{"a patch upgrade has no minor gates", "3.6.10", "3.6.16", []string{"one-minor-step:ok"}, false},
		{"a patch downgrade too", "3.6.16", "3.6.10", []string{"one-minor-step:ok"}, false},
		{"a one-minor downgrade needs etcdctl downgrade", "3.6.16", "3.5.35", []string{"minor-downgrade:warning"}, false},
		{"a two-minor downgrade is refused", "3.7.3", "3.5.35", []string{"downgrade-skip-minor:blocker"}, true},
		{"the same version is nothing to upgrade", "3.6.16", "3.6.16", []string{"same-version:blocker"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Gates(v(t, tc.from), v(t, tc.to))
			if got := outcome(fs); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Gates(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
			if Blocked(fs) != tc.blocked {
				t.Errorf("Blocked = %v, want %v", Blocked(fs), tc.blocked)
			}
			for _, f := range fs {
				if f.Reason == "" || f.Link == "" {
					t.Errorf("%s: every finding needs a reason and a link: %+v", f.ID, f)
				}
				if f.Severity != OK && f.Fix == "" {
					t.Errorf("%s: a %s needs a fix", f.ID, f.Severity)
				}
			}
		})
	}
}

func TestGateTexts(t *testing.T) {
	for _, tc := range []struct{ from, to, id, reason, fix, link string }{
		{"3.5.19", "3.6.16", "min-patch", "too many learner members", "3.5.20 or later", LinkIssue19557},
		{"3.5.22", "3.6.16", "min-patch", "issue 20793", "3.5.24 or later", LinkIssue20793},
		{"3.5.35", "3.7.3", "skip-minor", "skips 3.6", "3.5.35 → the latest 3.6 patch", LinkPolicy},
		{"3.7.3", "3.5.35", "downgrade-skip-minor", "across 2 minor versions", "etcdctl downgrade enable", LinkDowngrade37},
		{"3.6.16", "3.5.35", "minor-downgrade", "etcdctl downgrade enable 3.5", "storage version 3.5.0", LinkDowngrade36},
		{"3.6.16", "3.7.3", "fallback-snapshot", "does not load on 3.6", "before the first member is replaced", LinkDowngrade37},
	} {
		t.Run(tc.from+"→"+tc.to+" "+tc.id, func(t *testing.T) {
			for _, f := range Gates(v(t, tc.from), v(t, tc.to)) {
				if f.ID != tc.id {
					continue
				}
				if !strings.Contains(f.Reason, tc.reason) || !strings.Contains(f.Fix, tc.fix) || f.Link != tc.link {
					t.Errorf("finding %+v\nwant reason ~%q, fix ~%q, link %s", f, tc.reason, tc.fix, tc.link)
				}
				return
			}
			t.Errorf("no %s finding", tc.id)
		})
	}
}

func TestV2Checks(t *testing.T) {
	for _, tc := range []struct {
		v             string
		has           bool
		needsTo36From bool
	}{
		{"3.5.17", false, true}, {"3.5.18", true, true}, {"3.5.35", true, true}, {"3.6.16", false, false}, {"3.7.3", false, false},
	} {
		if got := HasCheckV2Store(v(t, tc.v)); got != tc.has {
			t.Errorf("HasCheckV2Store(%s) = %v, want %v", tc.v, got, tc.has)
		}
		if got := NeedsV2Check(v(t, tc.v), v(t, "3.6.16")); got != tc.needsTo36From && v(t, tc.v).Minor < 6 {
			t.Errorf("NeedsV2Check(%s, 3.6.16) = %v", tc.v, got)
		}
	}
	f := V2Content("m1", "Error: detected custom v2 content in WAL records", v(t, "3.6.16"))
	if f.Severity != Blocker || !strings.Contains(f.Fix, "--snapshot-count=1") || !strings.Contains(f.Reason, "refuses to start") {
		t.Errorf("V2Content = %+v", f)
	}
}

func TestDataDirVersion(t *testing.T) {
	for _, tc := range []struct {
		storage, from string
		want          Severity
	}{
		{"", "3.5.35", OK},
		{"3.6.0", "3.6.16", OK},
		{"", "3.6.16", Warning},
		{"3.7.0", "3.6.16", Blocker},
		{"3.6.0", "3.5.35", Blocker},
	} {
		if got := DataDirVersion("prod.tar.gz", tc.storage, v(t, tc.from)); got.Severity != tc.want {
			t.Errorf("DataDirVersion(%q, %s) = %s (%s), want %s", tc.storage, tc.from, got.Severity, got.Reason, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	fs := append(Gates(v(t, "3.5.19"), v(t, "3.7.3")), V2Content("m2", "x", v(t, "3.7.3")))
	got := Summary(fs)
	if !strings.HasPrefix(got, "2 blocker(s): ") || !strings.Contains(got, "skip-minor") || !strings.Contains(got, "v2-content m2") {
		t.Errorf("Summary = %q", got)
	}
	if Summary(Gates(v(t, "3.5.35"), v(t, "3.6.16"))) != "" {
		t.Error("a safe path has no summary")
	}
}
