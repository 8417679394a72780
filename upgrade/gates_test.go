package upgrade

import (
	"fmt"
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

// anyV parses any 3.x version, 3.4 included, which harness.ParseVersion
// refuses but Gates must still judge.
func anyV(t *testing.T, s string) harness.Version {
	t.Helper()
	var pv harness.Version
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &pv.Major, &pv.Minor, &pv.Patch); err != nil {
		t.Fatalf("version %q: %v", s, err)
	}
	return pv
}

// raised is what a test asserts of findings: "advisory:severity" of each
// warning and blocker, or "id:severity" where no advisory stands behind it.
func raised(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == OK {
			continue
		}
		name := f.Advisory
		if name == "" {
			name = f.ID
		}
		out = append(out, name+":"+string(f.Severity))
	}
	return out
}

func TestGates(t *testing.T) {
	data36 := []string{"v2-store:warning", "peer-urls-3.6:warning"}
	with := func(head ...string) []string { return append(head, data36...) }
	for _, tc := range []struct {
		name, from, to string
		path           string   // the first finding, "id:severity"
		want           []string // raised(findings)
		blocked        bool
	}{
		{"3.5.35 to 3.6.16 is safe, with the data warnings", "3.5.35", "3.6.16", "one-minor-step:ok", with(), false},
		{"3.5.32 is the floor the 3.6 guide asks for", "3.5.32", "3.6.16", "one-minor-step:ok", with(), false},
		{"3.5.26 to 3.5.31 have the v2 check that misses the WAL", "3.5.26", "3.6.16", "one-minor-step:ok",
			with("check-v2store-wal-21849:warning"), false},
		{"3.5.24 and 3.5.25 also miss the zombie fix", "3.5.24", "3.6.16", "one-minor-step:ok",
			with("zombie-members-20967:warning", "check-v2store-wal-21849:warning"), false},
		{"3.5.20 to 3.5.23 also miss the snapshot fix", "3.5.21", "3.6.16", "one-minor-step:ok",
			with("learner-snapshot-20793:warning", "zombie-members-20967:warning", "check-v2store-wal-21849:warning"), false},
		{"3.5.19 has the learner-promotion bug", "3.5.19", "3.6.16", "one-minor-step:ok",
			with("learner-promotion-19557:blocker", "learner-snapshot-20793:warning", "zombie-members-20967:warning", "check-v2store-wal-21849:warning"), true},
		{"3.6.0 to 3.6.3 are poor targets", "3.5.35", "3.6.3", "one-minor-step:ok", append(with(), "learner-replay-20340:warning"), false},
		{"3.6.16 to 3.7.3 is safe, with a fallback note", "3.6.16", "3.7.3", "one-minor-step:ok", []string{"fallback-snapshot-3.7:warning"}, false},
		{"3.6 before 3.6.11 may not roll to 3.7", "3.6.10", "3.7.3", "one-minor-step:ok", []string{"min-3.6.11-for-3.7:blocker", "fallback-snapshot-3.7:warning"}, true},
		{"skipping 3.6 is refused", "3.5.35", "3.7.3", "skip-minor:blocker", []string{"skip-minor:blocker"}, true},
		{"a patch upgrade has no minor gates", "3.6.10", "3.6.16", "one-minor-step:ok", nil, false},
		{"a patch downgrade neither", "3.6.16", "3.6.10", "one-minor-step:ok", nil, false},
		{"3.5.0 to 3.5.2 are refused as targets", "3.5.1", "3.5.2", "one-minor-step:ok", []string{"inconsistency-13766:blocker"}, true},
		{"3.6 to 3.5 needs etcdctl downgrade", "3.6.16", "3.5.35", "minor-downgrade:warning", []string{"downgrade-3.6-to-3.5:warning"}, false},
		{"3.7 to 3.6 too", "3.7.3", "3.6.16", "minor-downgrade:warning", []string{"downgrade-3.7-to-3.6:warning"}, false},
		{"3.7 to an old 3.6 warns twice", "3.7.3", "3.6.5", "minor-downgrade:warning", []string{"downgrade-3.7-to-3.6:warning", "downgrade-3.7-to-old-3.6:warning"}, false},
		{"a two-minor downgrade is refused", "3.7.3", "3.5.35", "downgrade-skip-minor:blocker", []string{"downgrade-skip-minor:blocker"}, true},
		{"3.5 to 3.4 before 3.4.32 is refused", "3.5.35", "3.4.31", "minor-downgrade:warning", []string{"downgrade-3.5-to-3.4:warning", "downgrade-3.4.32:blocker"}, true},
		{"3.4 to 3.5 warns about auth", "3.4.33", "3.5.35", "one-minor-step:ok", []string{"auth-rolling-3.5:warning"}, false},
		{"a downgrade no guide covers gets the general rule", "3.8.0", "3.7.3", "minor-downgrade:warning", []string{"minor-downgrade:warning"}, false},
		{"the same version is nothing to upgrade", "3.6.16", "3.6.16", "same-version:blocker", []string{"same-version:blocker"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Gates(anyV(t, tc.from), anyV(t, tc.to))
			if got := fs[0].ID + ":" + string(fs[0].Severity); got != tc.path {
				t.Errorf("path finding = %s, want %s", got, tc.path)
			}
			if got := raised(fs); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Gates(%s, %s) raises\n  %v\nwant\n  %v", tc.from, tc.to, got, tc.want)
			}
			if Blocked(fs) != tc.blocked {
				t.Errorf("Blocked = %v, want %v", Blocked(fs), tc.blocked)
			}
			for _, f := range fs {
				if f.Reason == "" || f.Link == "" || f.Published == "" {
					t.Errorf("%s: every finding needs a reason, a link and a date: %+v", f.ID, f)
				}
				if f.Severity != OK && f.Fix == "" {
					t.Errorf("%s: a %s needs a fix", f.ID, f.Severity)
				}
				if f.Advisory != "" {
					if src := advisory(f.Advisory).Sources[0]; f.Link != src.URL || f.Published != src.Published {
						t.Errorf("%s: link %s (%s), want the advisory's %s (%s)", f.Advisory, f.Link, f.Published, src.URL, src.Published)
					}
				}
				if strings.ContainsAny(f.Reason+f.Fix, "{}") {
					t.Errorf("%s: a placeholder is left: %s / %s", f.ID, f.Reason, f.Fix)
				}
			}
		})
	}
}

func TestGatesListsWhatWasChecked(t *testing.T) {
	var ok []string
	for _, f := range Gates(v(t, "3.5.35"), v(t, "3.6.16")) {
		if f.Severity == OK {
			ok = append(ok, f.Advisory)
		}
	}
	want := "skip-minor learner-promotion-19557 learner-snapshot-20793 zombie-members-20967 check-v2store-wal-21849 learner-replay-20340"
	if strings.Join(ok, " ") != want {
		t.Errorf("OK findings = %v, want %s", ok, want)
	}
}

func TestGateTexts(t *testing.T) {
	for _, tc := range []struct{ from, to, advisory, reason, fix, link string }{
		{"3.5.19", "3.6.16", "learner-promotion-19557", "too many learner members", "3.5.20 or later", LinkIssue19557},
		{"3.5.22", "3.6.16", "learner-snapshot-20793", "issue 20793", "3.5.24 or later", "https://etcd.io/blog/2025/upgrade_from_3.5_to_3.6_issue_followup/"},
		{"3.5.25", "3.6.16", "zombie-members-20967", "zombie members", "3.5.26 or later", "https://etcd.io/blog/2025/zombie_members_upgrade/"},
		{"3.5.31", "3.6.16", "check-v2store-wal-21849", "detected disallowed v2 WAL", "3.5.32 or later", LinkUpgrade36},
		{"3.5.35", "3.7.3", "skip-minor", "skips 3.6", "from 3.5.35 to the latest patch of 3.6", LinkPolicy},
		{"3.7.3", "3.5.35", "downgrade-skip-minor", "across 2 minor versions", "etcdctl downgrade enable", "https://github.com/etcd-io/etcd/pull/11919"},
		{"3.6.16", "3.5.35", "downgrade-3.6-to-3.5", "etcdctl downgrade enable 3.5", "storage version 3.5.0", LinkDowngrade36},
		{"3.6.16", "3.7.3", "fallback-snapshot-3.7", "does not load on 3.6", "save a snapshot on 3.6.16 before the first member is replaced", LinkUpgrade37 + "#rollback"},
	} {
		t.Run(tc.from+"→"+tc.to+" "+tc.advisory, func(t *testing.T) {
			for _, f := range Gates(v(t, tc.from), v(t, tc.to)) {
				if f.Advisory != tc.advisory || f.Severity == OK {
					continue
				}
				if !strings.Contains(f.Reason, tc.reason) || !strings.Contains(f.Fix, tc.fix) || f.Link != tc.link {
					t.Errorf("finding %+v\nwant reason ~%q, fix ~%q, link %s", f, tc.reason, tc.fix, tc.link)
				}
				return
			}
			t.Errorf("no %s finding", tc.advisory)
		})
	}
}

func TestFindingLines(t *testing.T) {
	f := Finding{Fix: "do it", Link: "https://x", Published: "2025-03-27", Source: "etcd.yaml:3"}
	want := []string{"do: do it", "see: https://x (published 2025-03-27)", "at: etcd.yaml:3"}
	if got := f.Lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Lines = %q, want %q", got, want)
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
	if f.Severity != Blocker || !strings.Contains(f.Fix, "--snapshot-count=1") || !strings.Contains(f.Reason, "refuses to start") || f.Advisory != "v2-store" || f.Published == "" {
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
	if got := Summary(Gates(v(t, "3.5.19"), v(t, "3.6.16"))); got != "1 blocker(s): min-patch 3.5.19" {
		t.Errorf("Summary = %q, want the one min-patch blocker", got)
	}
	if Summary(Gates(v(t, "3.5.35"), v(t, "3.6.16"))) != "" {
		t.Error("a safe path has no summary")
	}
}
