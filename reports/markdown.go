package reports

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// Markdown writes r as a report an operator can follow and an auditor can
// check: the verdict, what the drill ran against (with the data load, when
// there was one), the recovery numbers, the RTO by phase, every step as
// the command typed and what it printed, the checks, and etcdrill's peak
// memory. Steps, checks and phases keep the order of the record; a figure
// the record does not have (older records have none of the phases,
// sizes, load or memory) leaves no row or section behind. The whole
// report is rendered before anything is written to w.
func Markdown(w io.Writer, r *record.Record) error {
	b, err := renderMarkdown(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

// renderMarkdown is Markdown into memory.
func renderMarkdown(r *record.Record) ([]byte, error) {
	if r == nil {
		return nil, errNilRecord
	}
	var b bytes.Buffer
	writeTitle(&b, r)
	writeConfig(&b, r)
	writeNumbers(&b, r)
	writePhases(&b, r)
	writeRunbook(&b, r.Steps)
	writeClients(&b, r)
	writeChecks(&b, r.Checks)
	if line := peakRSS(r.Metrics); line != "" {
		fmt.Fprintf(&b, "\n*%s*\n", line)
	}
	return b.Bytes(), nil
}

// writeTitle writes the heading with the verdict and, unless the drill
// passed, why (see reason).
func writeTitle(b *bytes.Buffer, r *record.Record) {
	fmt.Fprintf(b, "# Drill: %s — %s\n", text(r.Scenario), verdictWord(r.Verdict))
	if why := reason(r); why != "" {
		fmt.Fprintf(b, "\n**Reason:** %s\n", text(why))
	}
}

// writeConfig writes what the drill ran against: the data profile and
// the operator's snapshot file only when the drill had them, then the
// data load, which is setup and not part of the drill's timings, on a
// line of its own.
func writeConfig(b *bytes.Buffer, r *record.Record) {
	c := r.Config
	image := dash(c.Image, code(c.Image))
	if c.ImageID != "" {
		image += " (ID " + code(shortID(c.ImageID)) + ")"
	}
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = code(s)
	}
	start := "—"
	if !r.Start.IsZero() {
		start = r.Start.UTC().Format(time.RFC3339)
	}
	b.WriteString("\n## Configuration\n\n")
	rows := [][]string{
		{"etcd version", dash(c.EtcdVersion, text(c.EtcdVersion))},
		{"image", image},
		{"members", strconv.Itoa(c.Members)},
		{"TLS", yesNo(c.TLS)},
		{"auth", yesNo(c.Auth)},
		{"random seed", strconv.FormatInt(c.Seed, 10)},
		{"writers", strconv.Itoa(c.Writers)},
		{"run ID", dash(r.RunID, code(r.RunID))},
		{"started (UTC)", start},
		{"duration", span(r.Start, r.End)},
		{"runbooks followed", dash(strings.Join(seeds, ", "), strings.Join(seeds, ", "))},
	}
	if c.Data != "" {
		rows = append(rows, []string{"data profile", text(c.Data)})
	}
	if c.FromSnapshot != "" {
		rows = append(rows, []string{"started from snapshot", code(c.FromSnapshot)})
	}
	table(b, []string{"Setting", "Value"}, rows)
	if line := loadLine(r.Metrics.Load); line != "" {
		fmt.Fprintf(b, "\n**Data load** (%s): %s.\n", loadNote, text(line))
	}
}

// withNote adds the note to a figure that is not measured, in brackets.
func withNote(value, note string) string {
	if value != notMeasured || note == "" {
		return value
	}
	return value + " (" + note + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeNumbers writes the figures an operator is asked for after a drill.
// RTO and RPO appear only in a drill's record, and say "not measured"
// with the reason when the drill has no value for them; the RPO in
// revisions and in time appears when the drill measured either. Snapshot
// revision and size, cluster IDs, and the database size and key count
// around the drill appear only when the record has them.
func writeNumbers(b *bytes.Buffer, r *record.Record) {
	m, p := r.Metrics, newFigures(r)
	var rows [][]string
	if p.Drill {
		rpo := p.RPO
		if n, ok := rpoWrites(r); ok && p.RPO != "—" {
			rpo = strconv.Itoa(n) // the row's name says what it counts
		}
		rows = append(rows,
			[]string{"RTO: fault to first acknowledged write", withNote(p.RTO, p.RTONote)},
			[]string{"RPO: acknowledged writes lost", withNote(rpo, p.RPONote)})
		if revisions, lost, ok := rpoRevisions(m); ok && p.RPO != "—" {
			rows = append(rows,
				[]string{"RPO: revisions lost", revisions},
				[]string{"RPO: time lost (snapshot to the last write it lost)", lost})
		}
	}
	if m.SnapshotRevision != 0 {
		rows = append(rows, []string{"snapshot revision", strconv.FormatInt(m.SnapshotRevision, 10)})
	}
	s := newSizes(m)
	if s != nil && m.SnapshotBytes != 0 {
		rows = append(rows, []string{"snapshot size", s.Snapshot})
	}
	if m.ClusterIDBefore != "" || m.ClusterIDAfter != "" {
		rows = append(rows, []string{"cluster ID before → after",
			dash(m.ClusterIDBefore, code(m.ClusterIDBefore)) + " → " + dash(m.ClusterIDAfter, code(m.ClusterIDAfter))})
	}
	rows = append(rows,
		[]string{"writes", fmt.Sprintf("%d acknowledged, %d failed, %d indeterminate",
			m.Acknowledged, m.Failed, m.Indeterminate)},
		[]string{"keys after recovery", strconv.Itoa(m.KeyCount)},
	)
	if s != nil && s.DB != "—" {
		rows = append(rows, []string{"database size, before the fault → after recovery", s.DB})
	}
	if s != nil && s.Keys != "—" {
		rows = append(rows, []string{"keys, before the fault → after recovery", s.Keys})
	}
	if m.Digest != "" {
		rows = append(rows, []string{"keyspace digest (SHA-256)", code(m.Digest)})
	}
	b.WriteString("\n## Recovery numbers\n\n")
	table(b, []string{"Measure", "Value"}, rows)
}

// writeRunbook writes the steps as a numbered list. Item content is
// indented to the width of the widest marker, so every command and output
// block stays inside its item however many steps there are.
func writeRunbook(b *bytes.Buffer, steps []record.Step) {
	b.WriteString("\n## Runbook\n\n")
	if len(steps) == 0 {
		b.WriteString("No steps were recorded.\n")
		return
	}
	width := len(strconv.Itoa(len(steps))) + 2 // "N." and one space
	indent := strings.Repeat(" ", width)
	for i, s := range steps {
		if i > 0 {
			b.WriteString("\n")
		}
		marker := strconv.Itoa(i+1) + "."
		fmt.Fprintf(b, "%-*s%s\n", width, marker, stepHeading(s))
		writeStepBody(b, indent, s)
	}
}

// stepHeading is the first line of a step: phase, name, member, duration
// and verdict.
func stepHeading(s record.Step) string {
	parts := []string{text(string(s.Phase)), "**" + text(s.Name) + "**"}
	if s.Member != "" {
		parts = append(parts, "on "+text(s.Member))
	}
	if s.Concurrent != "" {
		parts = append(parts, "concurrently with the other "+text(s.Concurrent)+" steps")
	}
	if !s.Start.IsZero() && !s.End.IsZero() {
		parts = append(parts, seconds(s.Duration()))
	}
	return strings.Join(append(parts, verdictCell(s.Verdict)), " · ")
}

// writeStepBody writes the command, its output, exit code and error. A
// step without a command was done by the harness itself, so an exit code
// would mean nothing; its output and error still show.
func writeStepBody(b *bytes.Buffer, indent string, s record.Step) {
	if s.Command != "" {
		block(b, indent, "sh", strings.TrimRight(s.Command, " \t\r\n"))
	}
	out := trimOutput(s.Output)
	if out != "" {
		block(b, indent, "text", out)
	}
	if s.Command != "" {
		exit := fmt.Sprintf("Exit code %d.", s.Exit)
		if out == "" {
			exit = fmt.Sprintf("Exit code %d, no output.", s.Exit)
		}
		fmt.Fprintf(b, "\n%s%s\n", indent, exit)
	}
	if s.Error != "" {
		fmt.Fprintf(b, "\n%s**Error:** %s\n", indent, text(s.Error))
	}
}

// writeChecks writes the verification table, then the evidence of every
// failed check.
func writeChecks(b *bytes.Buffer, checks []record.Check) {
	b.WriteString("\n## Checks\n\n")
	if len(checks) == 0 {
		b.WriteString("No checks were run.\n")
		return
	}
	rows := make([][]string, len(checks))
	for i, c := range checks {
		rows[i] = []string{text(c.Name), verdictCell(c.Verdict), text(c.Summary)}
	}
	table(b, []string{"Check", "Verdict", "Summary"}, rows)
	for _, c := range checks {
		if c.Passed() || len(c.Details) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n**%s** failed: %s\n\n", text(c.Name), text(c.Summary))
		for _, d := range c.Details {
			fmt.Fprintf(b, "- %s\n", code(d))
		}
	}
}

// block writes s as a fenced code block, each line indented. The fence is
// longer than any backtick run in s, so s cannot close it early. Empty
// lines get no indent: they stay inside the list item anyway.
func block(b *bytes.Buffer, indent, lang, s string) {
	f := fence(s)
	fmt.Fprintf(b, "\n%s%s%s\n", indent, f, lang)
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(b, "%s%s\n", indent, line)
	}
	fmt.Fprintf(b, "%s%s\n", indent, f)
}

// table writes a Markdown table. Cells must already be inline Markdown;
// table escapes the pipes in them.
func table(b *bytes.Buffer, header []string, rows [][]string) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			fmt.Fprintf(b, " %s |", strings.ReplaceAll(c, "|", `\|`))
		}
		b.WriteString("\n")
	}
	row(header)
	b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, r := range rows {
		row(r)
	}
}
