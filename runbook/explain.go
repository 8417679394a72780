package runbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/record"
)

// CheckName is the check that points failed checks at runbook lines.
const CheckName = "runbook"

// Explain is the "runbook" check: it fails when the runbook failed a
// step or a check failed after it, and points each at the lines of the
// runbook that did it (or names what the runbook never ran).
func (p Procedure) Explain(d *drill.Drill) []record.Check {
	rs := drill.State[runState](d)
	return []record.Check{explain(p.Runbook, rs.env, rs.ran, d.Record.Checks)}
}

// explain is Explain without a drill, for tests.
func explain(r *Runbook, env Env, ran []ran, checks []record.Check) record.Check {
	var out []string
	for _, a := range ran {
		if a.err != nil {
			out = append(out, fmt.Sprintf("%s: failed on %s and ended the procedure (%v)", r.Span(a.Action), a.member, a.err))
		}
	}
	for _, c := range checks {
		if c.Passed() || c.Name == CheckName {
			continue
		}
		out = append(out, pointers(r, env, ran, c)...)
	}
	if len(out) == 0 {
		n := 0
		for _, st := range r.Steps {
			n += len(st.Actions)
		}
		return record.Check{Name: CheckName, Verdict: record.Pass, Summary: fmt.Sprintf("%s: %s, %s ran on their hosts; every check passed", r.File, plural(len(r.Steps), "step"), plural(len(ran), "part"))}
	}
	return record.Check{Name: CheckName, Verdict: record.Fail, Summary: out[0], Details: out}
}

var memberRE = regexp.MustCompile(`\bm[0-9]+\b`)

// pointers explain one failed check by the runbook's lines.
func pointers(r *Runbook, env Env, ran []ran, c record.Check) []string {
	text := c.Summary + "\n" + strings.Join(c.Details, "\n")
	switch c.Name {
	case "new-cluster-id":
		return tokenPointers(r, env, c)
	case "alarms":
		if l := find(r, "alarm disarm"); len(l) > 0 {
			return []string{fmt.Sprintf("%s: an alarm is still raised; `alarm disarm` is at %s: did it run, against every member?", c.Name, strings.Join(l, ", "))}
		}
		return []string{fmt.Sprintf("%s: no line of %s runs `etcdctl alarm disarm`; add it after the defragmentation (the procedure ends at %s)", c.Name, r.File, r.At(lastLine(r)))}
	}
	// The members the check names; those whose hosts skipped what the
	// others ran come first, and alone when there are any.
	var out, gapped []string
	for _, m := range sortedMatches(text, env.Members) {
		s, gap := missing(r, ran, m, len(env.Members))
		line := fmt.Sprintf("%s: %s: %s", c.Name, m, s)
		if gap {
			gapped = append(gapped, line)
		}
		out = append(out, line)
	}
	if len(gapped) > 0 {
		out = gapped
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("%s failed: %s (the runbook's steps are %s to %s)", c.Name, c.Summary, r.At(r.Steps[0].Line), r.At(lastLine(r))))
	}
	return out
}

// tokenPointers point a cluster ID that did not change at the restores
// that reused the cluster's token.
func tokenPointers(r *Runbook, env Env, c record.Check) []string {
	var bad, all []string
	for _, st := range r.Steps {
		for _, a := range st.Actions {
			for i, l := range strings.Split(a.Text, "\n") {
				if !strings.Contains(l, "--initial-cluster-token") {
					continue
				}
				at := r.At(a.Line + i)
				all = append(all, at)
				if strings.Contains(l, "CLUSTER_TOKEN") || (env.ClusterToken != "" && strings.Contains(l, env.ClusterToken)) {
					bad = append(bad, at)
				}
			}
		}
	}
	switch {
	case len(bad) > 0:
		return []string{fmt.Sprintf("%s: the restore at %s reuses the cluster's old --initial-cluster-token; a restore needs a fresh one (${TOKEN}) so the restored members form a new cluster", c.Name, strings.Join(bad, ", "))}
	case len(all) > 0:
		return []string{fmt.Sprintf("%s: the cluster ID did not change: check the --initial-cluster-token at %s", c.Name, strings.Join(all, ", "))}
	}
	return []string{fmt.Sprintf("%s: the cluster ID did not change, and no line of %s sets --initial-cluster-token on the restore", c.Name, r.File)}
}

// sortedMatches are the member names text mentions, in members' order.
func sortedMatches(text string, members []string) []string {
	found := memberRE.FindAllString(text, -1)
	var out []string
	for _, m := range members {
		if slices.Contains(found, m) {
			out = append(out, m)
		}
	}
	return out
}

// missing says what ran on member m, and which commands most of the
// other members' hosts ran that m's did not (gap).
func missing(r *Runbook, ran []ran, m string, members int) (s string, gap bool) {
	on := map[string][]string{} // command -> "m1 at runbook.md:12"
	who := map[string]map[string]bool{}
	mine := map[string]bool{}
	var spans []string
	for _, a := range ran {
		for _, k := range commands(a.Action) {
			if a.member == m {
				mine[k] = true
			} else if a.err == nil {
				on[k] = append(on[k], a.member+" at "+r.Span(a.Action))
				if who[k] == nil {
					who[k] = map[string]bool{}
				}
				who[k][a.member] = true
			}
		}
		if a.member == m {
			spans = append(spans, r.Span(a.Action)+" ("+summary(a.Action)+")")
		}
	}
	var gaps []string
	for _, k := range slices.Sorted(maps.Keys(on)) {
		if !mine[k] && 2*len(who[k]) > members-1 {
			gaps = append(gaps, fmt.Sprintf("`%s` (run on %s)", k, strings.Join(on[k], ", ")))
		}
	}
	s = "no runbook line ran on " + m
	if len(spans) > 0 {
		s = "ran " + strings.Join(spans, ", ")
	}
	if len(gaps) > 0 {
		s = "it never ran " + strings.Join(gaps, ", ") + "; on " + m + " the runbook " + s
	}
	return s, len(gaps) > 0
}

// commands are the commands an action runs, as their leading words:
// "stop etcd", "etcdutl snapshot restore", "rm".
func commands(a Action) []string {
	if a.Kind != Shell {
		return []string{a.Kind.String()}
	}
	var out []string
	for _, l := range strings.Split(a.Text, "\n") {
		f := strings.Fields(stripComment(strings.TrimSpace(l)))
		if len(f) == 0 {
			continue
		}
		if f[0] != "etcdctl" && f[0] != "etcdutl" {
			continue
		}
		k := []string{f[0]}
		for _, w := range f[1:] {
			if len(k) == 3 {
				break
			}
			if !strings.HasPrefix(w, "-") && !strings.ContainsAny(w, "$\"'/=") {
				k = append(k, w)
			}
		}
		out = append(out, strings.Join(k, " "))
	}
	return out
}

// summary is an action's first command line, shortened.
func summary(a Action) string {
	for _, l := range strings.Split(a.Text, "\n") {
		if t := strings.TrimSpace(stripComment(strings.TrimSpace(l))); t != "" {
			if len(t) > 60 {
				t = t[:57] + "..."
			}
			return t
		}
	}
	return a.Kind.String()
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// find are the lines that contain s.
func find(r *Runbook, s string) []string {
	var out []string
	for _, st := range r.Steps {
		for _, a := range st.Actions {
			for i, l := range strings.Split(a.Text, "\n") {
				if strings.Contains(l, s) {
					out = append(out, r.At(a.Line+i))
				}
			}
		}
	}
	return out
}

// lastLine is the last line of the last action.
func lastLine(r *Runbook) int {
	st := r.Steps[len(r.Steps)-1]
	return st.Actions[len(st.Actions)-1].End
}
