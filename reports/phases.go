package reports

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// phaseTable is the RTO split into its phases (record.Metrics.Phases),
// formatted for the reports. Start offsets count from the moment the
// fault was complete, when the RTO clock starts; a record without a
// fault event counts from the first phase.
type phaseTable struct {
	// From says what the start offsets count from, in words.
	From    string
	Members bool // some phase names a member: the reports add a column
	Rows    []phaseRow
	// Outside is the time from the origin to the end of the last phase
	// that no phase covers, such as the harness noticing the fault; ""
	// when it is under 10 ms.
	Outside string
	// Total is the time from the origin to the end of the last phase.
	Total string
	// Overlap is true when phases ran at the same time (a restore on
	// every member at once), so the rows add up to more than Total.
	Overlap bool
}

// phaseRow is one phase, every value formatted; Class names its kind for
// the page's colours, Title is one line for tooltips and JUnit.
type phaseRow struct {
	Name, Class, Member  string
	At, Took, MBps, Size string
	Title                string
}

// phaseSlack is the difference under which the phase table does not call
// out time outside any phase or overlapping phases: the harness stamps
// the end of one phase and the start of the next a little apart.
const phaseSlack = 10 * time.Millisecond

// newPhaseTable formats r's RTO phases in record order, or returns nil
// when the record has none.
func newPhaseTable(r *record.Record) *phaseTable {
	phases := r.Metrics.Phases
	if len(phases) == 0 {
		return nil
	}
	origin := faultEnd(r)
	t := &phaseTable{From: "the moment the fault was complete, when the RTO clock starts"}
	if origin.IsZero() {
		origin = firstStart(phases)
		t.From = "the start of the first phase (the record has no fault event)"
	}
	var last time.Time
	var sum time.Duration
	for _, p := range phases {
		row := phaseRow{Name: p.Name, Class: phaseClass(p.Name), Member: p.Member,
			At: "—", Took: span(p.Start, p.End), MBps: "—", Size: "—"}
		if !p.Start.IsZero() && !origin.IsZero() {
			row.At = offset(p.Start.Sub(origin))
		}
		if p.Bytes > 0 {
			row.Size = humanBytes(p.Bytes)
			if v := p.MBps(); v > 0 {
				row.MBps = mbps(v)
			}
		}
		t.Members = t.Members || p.Member != ""
		row.Title = phaseTitle(row)
		t.Rows = append(t.Rows, row)
		if !p.Start.IsZero() && !p.End.IsZero() {
			sum += p.Duration()
			if p.End.After(last) {
				last = p.End
			}
		}
	}
	if origin.IsZero() || last.IsZero() {
		t.Total = "—"
		return t
	}
	total := last.Sub(origin)
	covered := coverage(phases, origin)
	t.Total = seconds(total)
	if gap := total - covered; gap >= phaseSlack {
		t.Outside = seconds(gap)
	}
	t.Overlap = sum-covered >= phaseSlack
	return t
}

// writePhases writes the RTO by phase, one row per phase and member in
// record order, then the time no phase covers and the total; nothing when
// the record has no phases.
func writePhases(b *bytes.Buffer, r *record.Record) {
	t := newPhaseTable(r)
	if t == nil {
		return
	}
	b.WriteString("\n## RTO by phase\n\n")
	fmt.Fprintf(b, "Start counts from %s.\n\n", t.From)
	header := []string{"Phase", "Member", "Start", "Took", "Throughput", "Data"}
	row := func(cells ...string) []string {
		if t.Members {
			return cells
		}
		return append(cells[:1:1], cells[2:]...)
	}
	var rows [][]string
	for _, p := range t.Rows {
		rows = append(rows, row(text(p.Name), dash(p.Member, text(p.Member)), p.At, p.Took, p.MBps, p.Size))
	}
	if t.Outside != "" {
		rows = append(rows, row("outside any phase", "", "", t.Outside, "", ""))
	}
	rows = append(rows, row("**total**", "", "", "**"+t.Total+"**", "", ""))
	table(b, row(header...), rows)
	if t.Overlap {
		b.WriteString("\nSome phases ran at the same time (on several members at once), so the rows add up to more than the total.\n")
	}
}

// faultEnd is when the fault was complete: the last fault event, as the
// RTO band of the chart takes it; zero when the record has none.
func faultEnd(r *record.Record) time.Time {
	var t time.Time
	for _, e := range r.Events {
		if e.Kind == "fault" && e.T.After(t) {
			t = e.T
		}
	}
	return t
}

// firstStart is the earliest known start of the phases.
func firstStart(phases []record.RTOPhase) time.Time {
	var t time.Time
	for _, p := range phases {
		if !p.Start.IsZero() && (t.IsZero() || p.Start.Before(t)) {
			t = p.Start
		}
	}
	return t
}

// coverage is how much time from origin on at least one phase was
// running: the length of the union of the phases' spans.
func coverage(phases []record.RTOPhase, origin time.Time) time.Duration {
	var spans [][2]time.Time
	for _, p := range phases {
		if p.Start.IsZero() || p.End.IsZero() || !p.End.After(origin) {
			continue
		}
		s := p.Start
		if s.Before(origin) {
			s = origin
		}
		if p.End.After(s) {
			spans = append(spans, [2]time.Time{s, p.End})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0].Before(spans[j][0]) })
	var total time.Duration
	var cur [2]time.Time
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case !s[0].After(cur[1]):
			if s[1].After(cur[1]) {
				cur[1] = s[1]
			}
		default:
			total += cur[1].Sub(cur[0])
			cur = s
		}
	}
	if len(spans) > 0 {
		total += cur[1].Sub(cur[0])
	}
	return total
}

// phaseClass names a phase's kind for the page's colours; a phase the
// reports do not know is "other".
func phaseClass(name string) string {
	switch name {
	case record.PhaseTransfer:
		return "transfer"
	case record.PhaseRestore:
		return "restore"
	case record.PhaseBoot:
		return "boot"
	case record.PhaseLeader:
		return "leader"
	case record.PhaseFirstWrite:
		return "write"
	}
	return "other"
}

// phaseName is "name on member", or the name alone.
func phaseName(name, member string) string {
	if member == "" {
		return name
	}
	return name + " on " + member
}

// phaseTitle is a phase in one line: "restore on m1: starts +2.62 s,
// took 5.31 s, 202 MB/s, 1.1 GB".
func phaseTitle(row phaseRow) string {
	parts := []string{"starts " + row.At, "took " + row.Took}
	if row.Size != "—" {
		parts = append(parts, row.MBps, row.Size)
	}
	return phaseName(row.Name, row.Member) + ": " + strings.Join(parts, ", ")
}

// offset formats a time since the origin with its sign: "+2.62 s".
func offset(d time.Duration) string {
	if d < 0 {
		return "−" + seconds(-d)
	}
	return "+" + seconds(d)
}

// mbps formats a throughput in megabytes per second with three
// significant digits at most: "412 MB/s", "25.5 MB/s", "4.12 MB/s".
func mbps(v float64) string {
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f MB/s", v)
	case v >= 9.995:
		return fmt.Sprintf("%.1f MB/s", v)
	}
	return fmt.Sprintf("%.2f MB/s", v)
}

// slowest is the longest phase, "restore on m2, 5.40 s", for the index;
// "" when no phase has both times.
func slowest(phases []record.RTOPhase) string {
	best := -1
	for i, p := range phases {
		if p.Start.IsZero() || p.End.IsZero() {
			continue
		}
		if best < 0 || p.Duration() > phases[best].Duration() {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	p := phases[best]
	return phaseName(p.Name, p.Member) + ", " + seconds(p.Duration())
}
