package reports

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// Scale is one row of a scaling report: the same drill run on one data
// size, what its recovery took phase by phase, and what a bare `etcdutl
// snapshot restore` of the same snapshot file takes on the same machine,
// the floor under the drill's restore.
type Scale struct {
	// Size labels the data size, such as "1GiB".
	Size string
	// DBSize is the database size in bytes and Keys the number of keys
	// before the fault; 0 when not observed.
	DBSize int64
	Keys   int
	// Phases are the drill's RTO phases (record.Metrics.Phases), several
	// of one name when each member has its own.
	Phases []record.RTOPhase
	// RTO is the drill's recovery time, fault to first acknowledged
	// write; 0 when not measured.
	RTO time.Duration
	// BareRestore is the time of `etcdutl snapshot restore` of the same
	// file alone; 0 when not measured.
	BareRestore time.Duration
	// BareCommand is the bare restore as it was run.
	BareCommand string `json:",omitempty"`
	// SnapshotBytes is the size of the snapshot the drill restored.
	SnapshotBytes int64 `json:",omitempty"`
	// Verdict is the drill's, and Report its report directory.
	Verdict record.Verdict
	Report  string `json:",omitempty"`
	// Verify is `etcdrill snapshot verify` of this size's snapshot, when
	// it was run; nil otherwise.
	Verify *ScaleVerify `json:",omitempty"`
}

// ScaleVerify is one `etcdrill snapshot verify` of a scaling run's
// snapshot, run in a process of its own so that its peak memory is its
// own.
type ScaleVerify struct {
	Command      string
	SizeBytes    int64
	Seconds      float64
	PeakRSSBytes int64
	Verdict      record.Verdict
}

// slowestPhase is the longest of s's phases with the name: members
// restore and boot at once, and the slowest one holds the cluster up.
// ok is false when s has no such phase with both times.
func (s Scale) slowestPhase(name string) (d time.Duration, ok bool) {
	for _, p := range s.Phases {
		if p.Name != name || p.Start.IsZero() || p.End.IsZero() {
			continue
		}
		if !ok || p.Duration() > d {
			d, ok = p.Duration(), true
		}
	}
	return d, ok
}

// restoreRatio is the slowest member's restore over the bare restore;
// ok is false when either is unknown.
func (s Scale) restoreRatio() (ratio float64, ok bool) {
	d, ok := s.slowestPhase(record.PhaseRestore)
	if !ok || s.BareRestore <= 0 {
		return 0, false
	}
	return d.Seconds() / s.BareRestore.Seconds(), true
}

// scalePhaseNames are the phase names of rows: the known phases in the
// order a restore goes through them, then any others in the order they
// first appear.
func scalePhaseNames(rows []Scale) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for _, p := range r.Phases {
			seen[p.Name] = true
		}
	}
	var names []string
	for _, n := range []string{record.PhaseTransfer, record.PhaseRestore, record.PhaseBoot, record.PhaseLeader, record.PhaseFirstWrite} {
		if seen[n] {
			names = append(names, n)
			delete(seen, n)
		}
	}
	for _, r := range rows {
		for _, p := range r.Phases {
			if seen[p.Name] {
				names = append(names, p.Name)
				delete(seen, p.Name)
			}
		}
	}
	return names
}

// noScaleData is what the scaling report says without rows.
const noScaleData = "No scaling data: no drill was run at any data size."

// ScaleMarkdown renders rows, in the order given, as a Markdown table:
// the size, keys and database size, the seconds of each RTO phase (its
// slowest member), the total RTO, the bare `etcdutl snapshot restore` of
// the same file, the restore ratio (slowest member's restore ÷ bare
// restore) and the verdict, with a note on how to read it. A value a row
// does not have is "—". Without rows it says there is no data.
func ScaleMarkdown(rows []Scale) string {
	var b bytes.Buffer
	b.WriteString("## Recovery time by data size\n\n")
	if len(rows) == 0 {
		b.WriteString(noScaleData + "\n")
		return b.String()
	}
	names := scalePhaseNames(rows)
	header := []string{"Size", "Keys", "DB size"}
	for _, n := range names {
		header = append(header, text(n))
	}
	header = append(header, "RTO", "bare restore", "restore ÷ bare", "Verdict")
	var cells [][]string
	for _, r := range rows {
		row := []string{dash(r.Size, text(r.Size)), countOrDash(r.Keys), sizeOrDash(r.DBSize)}
		for _, n := range names {
			row = append(row, durationOrDash(r.slowestPhase(n)))
		}
		row = append(row, durationOrDash(r.RTO, r.RTO > 0), durationOrDash(r.BareRestore, r.BareRestore > 0))
		ratio := "—"
		if v, ok := r.restoreRatio(); ok {
			ratio = strconv.FormatFloat(v, 'f', 2, 64) + "×"
		}
		cells = append(cells, append(row, ratio, verdictCell(r.Verdict)))
	}
	table(&b, header, cells)
	b.WriteString("\nA phase's time is its slowest member's: in production each member restores and boots on its own host, " +
		"and the slowest holds the cluster up. On one machine etcdrill restores snapshots of more than 64 MiB on one member after another, " +
		"so that each restore is timed as on a host of its own, not against the others for the disk. " +
		"Bare restore is `etcdutl snapshot restore` of the same file alone on the same machine (median of its runs); " +
		"restore ÷ bare is how much longer the drill's slowest restore took.\n")
	for _, r := range rows {
		if r.BareCommand != "" {
			fmt.Fprintf(&b, "\nBare restore of %s:\n\n```sh\n%s\n```\n", text(r.Size), r.BareCommand)
			break
		}
	}
	for _, r := range rows {
		if v := r.Verify; v != nil {
			fmt.Fprintf(&b, "\n`etcdrill snapshot verify` of the %s snapshot (%s): %s in %.1f s, peak memory of the etcdrill process %s.\n\n```sh\n%s\n```\n",
				text(r.Size), sizeOrDash(v.SizeBytes), verdictCell(v.Verdict), v.Seconds, sizeOrDash(v.PeakRSSBytes), v.Command)
		}
	}
	return b.String()
}

// durationOrDash is d in seconds, or "—" when not ok.
func durationOrDash(d time.Duration, ok bool) string {
	if !ok {
		return "—"
	}
	return seconds(d)
}

// scaleSeries is one line of the scaling chart: a name and a value per
// row, ok false where the row has none.
type scaleSeries struct {
	Name, Colour string
	Dash         string // SVG stroke-dasharray, "" for a solid line
	Value        func(Scale) (time.Duration, bool)
}

// newScaleSeries are the chart's lines: one per phase, the total RTO and
// the bare restore; a series no row has a value for is left out.
func newScaleSeries(rows []Scale) []scaleSeries {
	var all []scaleSeries
	for i, n := range scalePhaseNames(rows) {
		all = append(all, scaleSeries{Name: n, Colour: phaseColour(n, i),
			Value: func(s Scale) (time.Duration, bool) { return s.slowestPhase(n) }})
	}
	all = append(all,
		scaleSeries{Name: "total RTO", Colour: "#111827", Dash: "2 3",
			Value: func(s Scale) (time.Duration, bool) { return s.RTO, s.RTO > 0 }},
		scaleSeries{Name: "bare etcdutl snapshot restore", Colour: phaseColour(record.PhaseRestore, 0), Dash: "7 4",
			Value: func(s Scale) (time.Duration, bool) { return s.BareRestore, s.BareRestore > 0 }})
	var out []scaleSeries
	for _, s := range all {
		for _, r := range rows {
			if _, ok := s.Value(r); ok && r.DBSize > 0 {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// phaseColour is the colour of a phase, as the report's page draws it;
// phases the reports do not know take the i-th of a few others.
func phaseColour(name string, i int) string {
	switch phaseClass(name) {
	case "transfer":
		return "#0891b2"
	case "restore":
		return "#ea580c"
	case "boot":
		return "#7c3aed"
	case "leader":
		return "#2563eb"
	case "write":
		return "#16a34a"
	}
	others := []string{"#9ca3af", "#be185d", "#854d0e", "#0f766e"}
	return others[i%len(others)]
}

// scaleTitle is one point as its tooltip says it.
func scaleTitle(s scaleSeries, r Scale, d time.Duration) string {
	return fmt.Sprintf("%s at %s (%s): %s", s.Name, orDash(r.Size), humanBytes(r.DBSize), seconds(d))
}
