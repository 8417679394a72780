package upgrade

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rowPaths gives every advisory a path it raises (hit) and a nearby one it
// does not (miss), as "from>to". Rows about flags are linted with config.
var rowPaths = map[string]struct{ hit, miss, config string }{
	"skip-minor":               {"3.5.35>3.7.3", "3.5.35>3.6.16", ""},
	"downgrade-skip-minor":     {"3.7.3>3.5.35", "3.7.3>3.6.16", ""},
	"auth-rolling-3.5":         {"3.4.33>3.5.35", "3.5.20>3.5.35", ""},
	"inconsistency-13766":      {"3.4.20>3.5.2", "3.4.20>3.5.3", ""},
	"learner-promotion-19557":  {"3.5.19>3.6.16", "3.5.20>3.6.16", ""},
	"learner-snapshot-20793":   {"3.5.23>3.6.16", "3.5.24>3.6.16", ""},
	"zombie-members-20967":     {"3.5.25>3.6.16", "3.5.26>3.6.16", ""},
	"check-v2store-wal-21849":  {"3.5.31>3.6.16", "3.5.32>3.6.16", ""},
	"v2-store":                 {"3.5.35>3.6.16", "3.6.10>3.6.16", ""},
	"peer-urls-3.6":            {"3.5.35>3.6.16", "3.6.16>3.7.3", ""},
	"learner-replay-20340":     {"3.5.35>3.6.3", "3.5.35>3.6.4", ""},
	"min-3.6.11-for-3.7":       {"3.6.10>3.7.3", "3.6.11>3.7.3", ""},
	"fallback-snapshot-3.7":    {"3.6.16>3.7.3", "3.5.35>3.6.16", ""},
	"downgrade-3.6-to-3.5":     {"3.6.16>3.5.35", "3.6.16>3.6.10", ""},
	"downgrade-3.7-to-3.6":     {"3.7.3>3.6.16", "3.7.3>3.7.1", ""},
	"downgrade-3.7-to-old-3.6": {"3.7.3>3.6.10", "3.7.3>3.6.11", ""},
	"downgrade-3.5-to-3.4":     {"3.5.35>3.4.32", "3.5.35>3.5.30", ""},
	"downgrade-3.4.32":         {"3.5.35>3.4.31", "3.5.35>3.4.32", ""},
	"flags-removed-3.6":        {"3.5.35>3.6.16", "3.5.30>3.5.35", "--enable-v2=true"},
	"flags-deprecated-3.6":     {"3.5.35>3.6.16", "3.5.30>3.5.35", "--experimental-watch-progress-notify-interval=5s"},
	"snapshot-count-3.6":       {"3.5.35>3.6.16", "3.6.10>3.6.16", "--name=infra1"},
	"flags-removed-3.7":        {"3.6.16>3.7.3", "3.5.35>3.6.16", "--experimental-initial-corrupt-check=true"},
	"flags-new-3.6":            {"3.6.16>3.5.35", "3.6.10>3.6.16", "--log-format=json"},
}

// TestAdvisoryPaths checks every row against the path it must raise and
// the path it must not.
func TestAdvisoryPaths(t *testing.T) {
	for _, a := range Advisories {
		t.Run(a.ID, func(t *testing.T) {
			p, ok := rowPaths[a.ID]
			if !ok {
				t.Fatalf("no test paths for advisory %s: add it to rowPaths", a.ID)
			}
			if (p.config != "") != a.Config {
				t.Fatalf("config %q for a row with Config=%v", p.config, a.Config)
			}
			for _, c := range []struct {
				path string
				hit  bool
			}{{p.hit, true}, {p.miss, false}} {
				from, to, _ := strings.Cut(c.path, ">")
				fv, tv := anyV(t, from), anyV(t, to)
				if !a.Config && a.Path.Has(fv, tv) != c.hit {
					t.Errorf("Path.Has(%s) = %v, want %v", c.path, !c.hit, c.hit)
				}
				var fs []Finding
				if a.Config {
					s, err := ParseConfig([]byte(p.config))
					if err != nil {
						t.Fatal(err)
					}
					fs = LintConfig(s, fv, tv, "flags.txt")
				} else {
					fs = Gates(fv, tv)
				}
				var got *Finding
				for i, f := range fs {
					if f.Advisory == a.ID && f.Severity != OK {
						got = &fs[i]
					}
				}
				switch {
				case c.hit && got == nil:
					t.Errorf("%s: not raised in %v", c.path, raised(fs))
				case c.hit && (got.Severity != a.Severity || got.Link != a.Sources[0].URL || got.Published != a.Sources[0].Published):
					t.Errorf("%s: %+v, want severity %s, link %s, published %s", c.path, *got, a.Severity, a.Sources[0].URL, a.Sources[0].Published)
				case !c.hit && got != nil:
					t.Errorf("%s: raised, but must not be: %+v", c.path, *got)
				}
			}
		})
	}
	for id := range rowPaths {
		found := false
		for _, a := range Advisories {
			found = found || a.ID == id
		}
		if !found {
			t.Errorf("rowPaths has %s, which is not an advisory", id)
		}
	}
}

var dateRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}|date not found)( \(.+\))?$`)

// TestAdvisoryData checks that every row is complete: a source with a URL
// and a date, what to do, and whether a container run can show it.
func TestAdvisoryData(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Advisories {
		if seen[a.ID] {
			t.Errorf("advisory %s appears twice", a.ID)
		}
		seen[a.ID] = true
		if a.Gate == "" || a.Title == "" || a.Hazard == "" || a.Do == "" {
			t.Errorf("%s: gate, title, hazard and what to do are required: %+v", a.ID, a)
		}
		if a.Severity != Blocker && a.Severity != Warning {
			t.Errorf("%s: severity %q, want blocker or warning", a.ID, a.Severity)
		}
		if len(a.Sources) == 0 {
			t.Errorf("%s: no source", a.ID)
		}
		for _, r := range a.Sources {
			if r.Name == "" || !strings.HasPrefix(r.URL, "https://") || !dateRE.MatchString(r.Published) {
				t.Errorf("%s: source %+v needs a name, an https URL and a date (or \"date not found\")", a.ID, r)
			}
		}
		if (a.Reproducible == "") == (a.WhyNot == "") {
			t.Errorf("%s: give either how to reproduce it or why it cannot be (reproducible %q, why not %q)", a.ID, a.Reproducible, a.WhyNot)
		}
		for _, s := range []Span{a.Path.From, a.Path.To} {
			if s.Hi >= 0 && s.Hi < s.Lo {
				t.Errorf("%s: empty span %+v", a.ID, s)
			}
		}
	}
}

func TestSpanString(t *testing.T) {
	for _, tc := range []struct {
		s    Span
		want string
	}{
		{AnyVersion, "any version"}, {Minor(6), "3.6.x"}, {Patches(5, 0, 19), "3.5.0–3.5.19"},
		{Patches(5, 2, 2), "3.5.2"}, {Since(4, 32), "3.4.32 or later"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestFlagRowsExist checks that every flag change LintConfig can report
// has a row to cite, so cite never meets an unknown advisory.
func TestFlagRowsExist(t *testing.T) {
	ids := map[string]bool{}
	for _, a := range Advisories {
		ids[a.ID] = a.Config
	}
	for _, c := range flagChanges {
		if c.removed != 0 && !ids["flags-removed-3."+strconv.Itoa(c.removed)] {
			t.Errorf("--%s: no config row for flags removed in 3.%d", c.flag, c.removed)
		}
	}
	for _, d := range defaultChanges {
		if !ids[d.advisory] {
			t.Errorf("--%s: default change cites %q, which is not a config row", d.flag, d.advisory)
		}
	}
}
