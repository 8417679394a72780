// Package upgrade decides, before anything runs, whether moving an etcd
// cluster from version X to version Y is safe: the version path, the
// known upgrade bugs, and the flags and config keys Y removed, renamed or
// changed. It is pure code: no Docker, no network. The rehearsal that
// proves the rest (a rolling upgrade under load) lives in upgradecheck.
package upgrade

import (
	"fmt"
	"strings"
)

// Severity says what a finding means for the upgrade.
type Severity string

const (
	// OK: the gate was checked and passed.
	OK Severity = "ok"
	// Warning: the upgrade works, but the operator should act on it.
	Warning Severity = "warning"
	// Blocker: the upgrade would fail or silently change the cluster; it
	// is refused until the operator fixes it.
	Blocker Severity = "blocker"
)

// Finding is one gate's outcome: what was found, what to do about it, and
// the etcd note that says so.
type Finding struct {
	// ID names the gate, such as "skip-minor" or "flag-removed".
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Subject is what the finding is about: a version path, a flag, a
	// member's data dir.
	Subject string `json:"subject,omitempty"`
	// Reason says what was found and why it matters.
	Reason string `json:"reason"`
	// Fix says what the operator does about it; empty for OK.
	Fix string `json:"fix,omitempty"`
	// Link is the etcd documentation or issue behind the gate.
	Link string `json:"link,omitempty"`
	// Published is when the etcd source in Link was published, or
	// "date not found".
	Published string `json:"published,omitempty"`
	// Advisory names the row of Advisories the finding comes from; empty
	// for findings about the user's own data or the same-version check.
	Advisory string `json:"advisory,omitempty"`
	// Source is where a config finding came from, as "file:line".
	Source string `json:"source,omitempty"`
}

// String is the finding on one line, as a summary prints it.
func (f Finding) String() string {
	s := fmt.Sprintf("[%s] %s", f.Severity, f.Reason)
	if f.Source != "" {
		s += " (" + f.Source + ")"
	}
	return s
}

// Lines is the finding as evidence lines for a report: the fix, then the
// link with its publication date, then where in a config it was found,
// each on a line of its own.
func (f Finding) Lines() []string {
	var out []string
	if f.Fix != "" {
		out = append(out, "do: "+f.Fix)
	}
	if f.Link != "" {
		see := "see: " + f.Link
		if f.Published != "" {
			see += " (published " + f.Published + ")"
		}
		out = append(out, see)
	}
	if f.Source != "" {
		out = append(out, "at: "+f.Source)
	}
	return out
}

// Filter returns the findings of severity s, in order.
func Filter(fs []Finding, s Severity) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Blocked reports whether any finding is a blocker.
func Blocked(fs []Finding) bool { return len(Filter(fs, Blocker)) > 0 }

// Summary is one line naming the blockers, or "" when there are none.
func Summary(fs []Finding) string {
	var ids []string
	for _, f := range Filter(fs, Blocker) {
		s := f.ID
		if f.Subject != "" {
			s += " " + f.Subject
		}
		ids = append(ids, s)
	}
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf("%d blocker(s): %s", len(ids), strings.Join(ids, "; "))
}
