package upgrade

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
)

// LintConfig checks the settings of a config (see ParseConfig) against
// etcd to, for a cluster moving from from: every setting to removed,
// renamed or deprecated, and every changed default the config leaves
// unset, each with its replacement. source names the file in findings.
// A removed flag is always a blocker (etcd refuses to start); a removed
// config-file key or ETCD_* variable is a blocker only when it set
// something other than the old default, because etcd ignores it silently.
func LintConfig(settings []Setting, from, to harness.Version, source string) []Finding {
	var out []Finding
	var gates []string
	seen := map[string]bool{}
	for _, s := range settings {
		seen[s.Name] = true
		c, ok := lookupFlag(s.Name)
		if !ok {
			continue
		}
		f, ok := lintOne(c, s, to)
		if !ok {
			continue
		}
		f.Source = fmt.Sprintf("%s:%d", source, s.Line)
		out = append(out, f)
		if c.gate && to.Minor >= c.deprecated {
			gates = append(gates, c.replacement+"="+boolValue(s.Value))
		}
	}
	if len(gates) > 1 {
		out = append(out, cite(Finding{
			ID: "feature-gates", Severity: Warning, Subject: "--feature-gates", Source: source,
			Reason: fmt.Sprintf("%d experimental flags map to feature gates; a config file takes one feature-gates key", len(gates)),
			Fix:    "set them together: --feature-gates=" + strings.Join(gates, ",") + " (config file: feature-gates: " + strings.Join(gates, ",") + ")",
		}, "flags-deprecated-3.6"))
	}
	for _, d := range defaultChanges {
		if from.Minor < d.minor && to.Minor >= d.minor && !seen[d.flag] {
			out = append(out, cite(Finding{
				ID: "default-changed", Severity: Warning, Subject: "--" + d.flag, Source: source,
				Reason: fmt.Sprintf("the config leaves --%s unset, and its default changes from %s to %s in %d.%d", d.flag, d.old, d.new, to.Major, d.minor),
				Fix:    d.consequent,
			}, d.advisory))
		}
	}
	return out
}

func lintOne(c flagChange, s Setting, to harness.Version) (Finding, bool) {
	ver := fmt.Sprintf("%d.%d", to.Major, to.Minor)
	name := spell(s.Form, s.Name, s.Value)
	f := Finding{Subject: "--" + c.flag}
	switch {
	case c.added > to.Minor:
		f.ID, f.Severity = "flag-unavailable", Blocker
		f = cite(f, "flags-new-3.6")
		f.Reason = fmt.Sprintf("%s: etcd %s does not have it (added in %d.%d); %s", name, ver, to.Major, c.added, ignored(s.Form, ver))
		f.Fix = "remove it"
		if c.older != "" {
			f.Fix = "use the old name: " + spell(s.Form, c.older, s.Value)
		}
		if c.note != "" {
			f.Fix += ": " + c.note
		}
	case c.removed != 0 && to.Minor >= c.removed:
		f.ID, f.Severity = "flag-removed", Blocker
		f = cite(f, fmt.Sprintf("flags-removed-3.%d", c.removed))
		f.Reason = fmt.Sprintf("%s: removed in %d.%d; %s", name, to.Major, c.removed, ignored(s.Form, ver))
		if s.Form != FormFlag && inert(s.Value, c.def) {
			f.Severity = Warning
			f.Reason = fmt.Sprintf("%s: removed in %d.%d; etcd %s ignores it, which is harmless here because the value is the old default", name, to.Major, c.removed, ver)
		}
		f.Fix = replacement(c, s)
	case c.deprecated != 0 && to.Minor >= c.deprecated:
		f.ID, f.Severity = "flag-deprecated", Warning
		f = cite(f, "flags-deprecated-3.6")
		f.Reason = fmt.Sprintf("%s: deprecated in %d.%d", name, to.Major, c.deprecated)
		if c.removed != 0 {
			f.Reason += fmt.Sprintf(" and removed in %d.%d; %s still accepts it", to.Major, c.removed, ver)
		}
		f.Fix = replacement(c, s)
	default:
		return f, false
	}
	return f, true
}

// cite points f at the advisory id: its primary source and date.
func cite(f Finding, id string) Finding {
	a := advisory(id)
	f.Link, f.Published, f.Advisory = a.Sources[0].URL, a.Sources[0].Published, a.ID
	return f
}

// ignored says what etcd ver does with a name it does not know.
func ignored(f Form, ver string) string {
	switch f {
	case FormYAML:
		return "etcd " + ver + " ignores the config-file key without a word, so the setting silently stops taking effect"
	case FormEnv:
		return "etcd " + ver + " logs \"unrecognized environment variable\" and ignores it, so the setting silently stops taking effect"
	}
	return "etcd " + ver + " refuses to start: \"flag provided but not defined\""
}

func replacement(c flagChange, s Setting) string {
	var fix string
	switch {
	case c.gate:
		fix = "use the feature gate instead: " + spell(s.Form, "feature-gates", c.replacement+"="+boolValue(s.Value))
	case c.replacement != "":
		fix = "rename it: " + spell(s.Form, strings.TrimPrefix(c.replacement, "--"), s.Value)
	default:
		fix = "remove it"
	}
	if c.note != "" {
		fix += ": " + c.note
	}
	return fix
}

// boolValue is the value a boolean flag was given; a bare flag is true.
func boolValue(v string) string {
	if v == "" {
		return "true"
	}
	return v
}

// inert reports whether value sets nothing beyond def, the old default.
func inert(value, def string) bool {
	switch strings.ToLower(value) {
	case "", "false", "off", "null", "~":
		return true
	}
	if value == def {
		return true
	}
	if a, err := time.ParseDuration(value); err == nil {
		if b, err := time.ParseDuration(def); err == nil && a == b {
			return true
		}
	}
	if a, err := strconv.ParseBool(value); err == nil {
		if b, err := strconv.ParseBool(def); err == nil && a == b {
			return true
		}
	}
	return false
}

// Unlinted says what to changed in flags, for a check run without a
// config to lint, so the operator knows what to look for in their own.
func Unlinted(from, to harness.Version) []Finding {
	var out []Finding
	if from.Minor < 6 && to.Minor >= 6 {
		out = append(out, cite(Finding{
			ID: "config-not-linted", Severity: Warning, Subject: "3.6 flags",
			Reason: "3.6 removed --enable-v2, --experimental-enable-v2v3 and the v2 proxy flags, and turned the corruption checks into feature gates (--feature-gates=InitialCorruptCheck=true,CompactHashCheck=true)",
			Fix:    "pass the members' config file, flags, systemd unit or static pod manifest with --config to lint it against " + to.String(),
		}, "flags-removed-3.6"))
	}
	if from.Minor < 7 && to.Minor >= 7 {
		out = append(out, cite(Finding{
			ID: "config-not-linted", Severity: Warning, Subject: "3.7 flags",
			Reason: "3.7 removed every --experimental-* flag; etcd refuses to start with one, and ignores one in a config file",
			Fix:    "pass the members' config file, flags, systemd unit or static pod manifest with --config to lint it against " + to.String(),
		}, "flags-removed-3.7"))
	}
	return out
}
