package reports

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates are the HTML pages. They load nothing: styles are inline and
// there are no scripts, fonts or images, so a page renders offline.
var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.tmpl"))

// HTML writes r as one self-contained HTML page: the verdict and setup,
// RTO and RPO, the database size, keys and snapshot size, the data load,
// the RTO by phase, the workload timeline with the fault, leader changes
// and recovery marked and the RTO phases as lanes under it, the cluster
// before and after, every step of the runbook, the checks, and
// etcdrill's peak memory. Figures the record does not have are left out.
// The page has no scripts and loads nothing, so it can be archived and
// opened offline. It is rendered before anything is written.
func HTML(w io.Writer, r *record.Record) error {
	b, err := renderHTML(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// renderHTML is HTML into memory.
func renderHTML(r *record.Record) ([]byte, error) {
	if r == nil {
		return nil, errNilRecord
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "report", newPage(r)); err != nil {
		return nil, fmt.Errorf("render html report: %w", err)
	}
	return b.Bytes(), nil
}

// page is what the report template shows, every value formatted.
type page struct {
	R                     *record.Record
	Verdict, VerdictClass string
	Reason                string
	Started               string // UTC, "" when unknown
	Facts                 []fact
	figures
	Chart        *chart
	Events       []eventRow
	States       []state
	StateColumns []string
	Steps        []stepRow
	Checks       []checkRow
	Clients      *clientsView
	// The figures of drills on large data; absent (nil, "", false) in
	// records written before they were measured, which then render as
	// they always did.
	Phases  *phaseTable
	Sizes   *sizes
	Load    string
	PeakRSS string
	Scale   bool // the page carries the styles that draw them
}

type eventRow struct {
	N                     int // as the chart's markers number them
	At, Kind, Class, Text string
}

type stepRow struct {
	N                    int
	Phase, Name, Member  string
	Concurrent           string
	At, Took             string
	Command              []cmdLine
	Output               string
	OutputLines          string
	Exit                 string // "" for a step the harness did itself
	Verdict, VerdictWord string
	Error                string
	Failed               bool
}

type checkRow struct {
	record.Check
	Class, Word string
}

func newPage(r *record.Record) page {
	p := page{R: r, Verdict: htmlVerdict(r.Verdict), VerdictClass: verdictClass(r.Verdict), StateColumns: stateColumns}
	if !r.Start.IsZero() {
		p.Started = r.Start.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	p.Reason = reason(r)
	p.Facts = facts(r, p.Started)
	p.figures = newFigures(r)
	p.Chart = newChart(r)
	p.Phases, p.Sizes = newPhaseTable(r), newSizes(r.Metrics)
	p.Load, p.PeakRSS, p.Scale = loadLine(r.Metrics.Load), peakRSS(r.Metrics), hasScaleData(r)
	at := offsetFrom(r)
	for i, e := range sortedEvents(r.Events) {
		p.Events = append(p.Events, eventRow{i + 1, at(e.T), e.Kind, eventKind(e.Kind), e.Text})
	}
	for _, s := range []*record.ClusterState{r.Before, r.After} {
		if s != nil {
			p.States = append(p.States, newState(s, at))
		}
	}
	for i, s := range r.Steps {
		row := stepRow{N: i + 1, Phase: string(s.Phase), Name: s.Name, Member: s.Member, Concurrent: s.Concurrent,
			At: at(s.Start), Took: span(s.Start, s.End), Command: words(s.Command),
			Output: trimOutput(s.Output), Verdict: verdictClass(s.Verdict), VerdictWord: verdictLabel(s.Verdict),
			Error: s.Error, Failed: s.Verdict == record.Fail}
		if row.Output != "" {
			row.OutputLines = plural(strings.Count(row.Output, "\n")+1, "line")
		}
		if s.Command != "" {
			row.Exit = strconv.Itoa(s.Exit)
		}
		p.Steps = append(p.Steps, row)
	}
	for _, c := range r.Checks {
		p.Checks = append(p.Checks, checkRow{c, verdictClass(c.Verdict), verdictLabel(c.Verdict)})
	}
	p.Clients = newClientsView(r)
	return p
}

// cmdLine is one line of a command, split at single spaces so the page
// can wrap it between words rather than inside a flag such as
// --initial-cluster. Joining the words with spaces and the lines with
// newlines gives back the command, so copying it from the page works.
type cmdLine struct {
	Comment bool // "# on m1": where the next lines run
	Words   []string
}

func words(cmd string) []cmdLine {
	cmd = strings.TrimRight(cmd, " \t\r\n")
	if cmd == "" {
		return nil
	}
	var out []cmdLine
	for _, line := range strings.Split(cmd, "\n") {
		out = append(out, cmdLine{strings.HasPrefix(line, "#"), strings.Split(line, " ")})
	}
	return out
}

type fact struct {
	Name, Value string
	Wide        bool // takes two cells of the grid
}

// facts are the header's what-ran-against-what table; the data profile
// and the operator's snapshot file only when the drill had them.
func facts(r *record.Record, started string) []fact {
	c := r.Config
	image := orDash(c.Image)
	if c.ImageID != "" {
		image += " (ID " + shortID(c.ImageID) + ")"
	}
	fs := []fact{
		{"etcd version", orDash(c.EtcdVersion), false},
		{"cluster size", plural(c.Members, "member"), false},
		{"TLS", yesNo(c.TLS), false},
		{"auth", yesNo(c.Auth), false},
		{"random seed", strconv.FormatInt(c.Seed, 10), false},
		{"duration", span(r.Start, r.End), false},
		{"started", orDash(started), false},
		{"writers", strconv.Itoa(c.Writers), false},
		{"image", image, true},
		{"run ID", orDash(r.RunID), false},
		{"runbooks followed", orDash(strings.Join(r.Seeds, ", ")), false},
	}
	if c.Data != "" {
		fs = append(fs, fact{"data profile", c.Data, false})
	}
	if c.FromSnapshot != "" {
		fs = append(fs, fact{"started from snapshot", c.FromSnapshot, true})
	}
	return fs
}

// offsetFrom returns a formatter of times as seconds since the drill
// started, the unit of the chart's x axis.
func offsetFrom(r *record.Record) func(time.Time) string {
	return func(t time.Time) string {
		if t.IsZero() || r.Start.IsZero() {
			return "—"
		}
		return seconds(t.Sub(r.Start))
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// htmlVerdict is the verdict as the page title shows it.
func htmlVerdict(v record.Verdict) string {
	switch v {
	case "":
		return "NO VERDICT"
	case record.Interrupted:
		return "⏹ INTERRUPTED"
	}
	return strings.ToUpper(strings.ReplaceAll(string(v), "-", " "))
}

// verdictLabel is a step's or check's verdict in words.
func verdictLabel(v record.Verdict) string {
	if v == "" {
		return "no verdict"
	}
	return strings.ReplaceAll(string(v), "-", " ")
}

// verdictClass is the CSS class that colours a verdict.
func verdictClass(v record.Verdict) string {
	switch v {
	case record.Pass, record.Fail, record.Expected, record.Interrupted:
		return string(v)
	case record.NotApplicable:
		return "na"
	}
	return "none"
}
