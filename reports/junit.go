package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// JUnitFile is the name RenderAll gives the JUnit report of a run root.
const JUnitFile = "junit.xml"

// JUnit XML as CI systems read it: one <testsuites> holding the single
// suite "etcdrill".
type junitSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Suite    junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut junitOut      `xml:"system-out,omitempty"`
}

// junitOut is a testcase's <system-out>: character data when it is one
// line, as it always was, and CDATA when it has several (the RTO
// phases), so the lines read as lines when someone opens junit.xml.
type junitOut string

// MarshalXML writes o as character data or, with a line break, CDATA.
func (o junitOut) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if !strings.Contains(string(o), "\n") {
		return e.EncodeElement(string(o), start)
	}
	return e.EncodeElement(struct {
		Text string `xml:",cdata"`
	}{xmlText(string(o))}, start)
}

// junitProblem's text is CDATA so the evidence reads as it was printed
// when someone opens junit.xml itself; xmlText keeps it valid XML.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes recs as JUnit XML for CI: one testsuite "etcdrill"
// with one testcase per record, in the order given, named
// "<scenario>[+auth] (etcd <version>)" with classname
// "etcdrill.<scenario>" and the drill's duration in seconds. A failed
// drill has a <failure> whose message says what was lost: the reason, the
// missing or changed keys, the RPO and the failed step; its text has the
// evidence. A drill that does not apply is <skipped> with the reason,
// and so is one the operator interrupted (message "interrupted by the
// operator"): CI systems count neither as failed. One without a known
// verdict (it never finished) is an <error>. RTO and RPO appear only for
// drills. Every testcase's <system-out> has the summary line and, for a
// drill that recorded them, the RTO phases one per line. Everything is
// rendered before anything is written to w.
func WriteJUnit(w io.Writer, recs []*record.Record) error {
	s := junitSuite{Name: "etcdrill"}
	var total time.Duration
	var first time.Time
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("junit: record %d: %w", i, errNilRecord)
		}
		c := junitCase{Name: caseName(r), Classname: "etcdrill." + r.Scenario, Time: junitSeconds(r.Start, r.End),
			SystemOut: junitOut(systemOut(r))}
		switch r.Verdict {
		case record.Pass:
		case record.NotApplicable:
			c.Skipped = &junitSkipped{Message: r.Reason}
			s.Skipped++
		case record.Interrupted:
			c.Skipped = &junitSkipped{Message: interruptedMessage}
			s.Skipped++
		case record.Fail:
			c.Failure = &junitProblem{Message: failureMessage(r), Type: "drill failed", Text: xmlText(failureText(r))}
			s.Failures++
		default:
			c.Error = &junitProblem{Message: "drill has no verdict " + strconv.Quote(string(r.Verdict)), Type: "no verdict", Text: xmlText(failureText(r))}
			s.Errors++
		}
		if !r.Start.IsZero() && !r.End.IsZero() {
			total += r.End.Sub(r.Start)
		}
		if !r.Start.IsZero() && (first.IsZero() || r.Start.Before(first)) {
			first = r.Start
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests, s.Time = len(s.Cases), strconv.FormatFloat(total.Seconds(), 'f', 3, 64)
	if !first.IsZero() {
		s.Timestamp = first.UTC().Format("2006-01-02T15:04:05")
	}
	doc := junitSuites{Name: "etcdrill", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors,
		Skipped: s.Skipped, Time: s.Time, Suite: s}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit report: %w", err)
	}
	b.WriteString("\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// interruptedMessage is the <skipped> message of an interrupted drill;
// system-out says where it stopped.
const interruptedMessage = "interrupted by the operator"

// caseName is "<scenario>[+auth] (etcd <version>)".
func caseName(r *record.Record) string {
	name := r.Scenario
	if r.Config.Auth {
		name += "+auth"
	}
	return fmt.Sprintf("%s (etcd %s)", name, r.Config.EtcdVersion)
}

// junitSeconds is the time from start to end in seconds with millisecond
// precision, "0.000" when either is unknown.
func junitSeconds(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "0.000"
	}
	return strconv.FormatFloat(end.Sub(start).Seconds(), 'f', 3, 64)
}

// summaryLine is the one line CI shows for every drill.
func summaryLine(r *record.Record) string {
	p := newFigures(r)
	line := fmt.Sprintf("run %s: %s; ", orDash(r.RunID), htmlVerdict(r.Verdict))
	if why := reason(r); r.Verdict == record.Interrupted && why != "" {
		line += oneLine(why) + "; "
	}
	if p.Drill {
		line += fmt.Sprintf("RTO %s; RPO %s; ", p.RTO, p.RPO)
		if p.RPOMore != "" {
			line = strings.TrimSuffix(line, "; ") + " (" + p.RPOMore + "); "
		}
	}
	line += fmt.Sprintf("writes %s; etcd %s, %s, TLS %s, auth %s, seed %d", p.Writes, orDash(r.Config.EtcdVersion),
		plural(r.Config.Members, "member"), yesNo(r.Config.TLS), yesNo(r.Config.Auth), r.Config.Seed)
	if p.Data != "" {
		line += "; " + p.Data
	}
	if n := r.Metrics.PeakRSSBytes; n > 0 {
		line += "; etcdrill peak RSS " + humanBytes(n)
	}
	return line
}

// systemOut is the summary line, then for a drill the RTO phases one per
// line with the time outside any phase and the total.
func systemOut(r *record.Record) string {
	t := newPhaseTable(r)
	if t == nil || !r.IsDrill() {
		return summaryLine(r)
	}
	var b strings.Builder
	b.WriteString(summaryLine(r))
	fmt.Fprintf(&b, "\nRTO by phase (start counts from %s):\n", t.From)
	for _, row := range t.Rows {
		fmt.Fprintf(&b, "  %s\n", oneLine(row.Title))
	}
	if t.Outside != "" {
		fmt.Fprintf(&b, "  outside any phase: %s\n", t.Outside)
	}
	fmt.Fprintf(&b, "  total: %s", t.Total)
	return b.String()
}

// failureMessage says in one line why the drill failed and what was lost.
func failureMessage(r *record.Record) string {
	why := reason(r)
	if why == "" {
		why = "drill failed"
	}
	parts := []string{oneLine(why)}
	if c, ok := findCheck(r, keyIntegrity); ok && !c.Passed() {
		missing, changed := lostKeys(c.Details)
		if len(missing) > 0 {
			parts = append(parts, "missing "+firstFew(missing))
		}
		if len(changed) > 0 {
			parts = append(parts, "changed "+firstFew(changed))
		}
	}
	if _, ok := findCheck(r, keyIntegrity); ok && r.IsDrill() {
		rpo := "RPO not measured"
		if n, measured := rpoWrites(r); measured {
			rpo = "RPO " + plural(n, "acknowledged write") + " lost by design"
		}
		parts = append(parts, rpo)
	} else if len(r.Checks) == 0 {
		parts = append(parts, "keys not checked: the drill stopped before its checks")
	}
	if s, ok := failedStep(r); ok && !strings.HasPrefix(why, "step "+s.Name+":") {
		parts = append(parts, "failed step: "+stepTitle(s))
	}
	return strings.Join(parts, "; ")
}

// failureText is the evidence under a failure: the numbers, every failed
// check with its details, and the failed step with its command and output.
func failureText(r *record.Record) string {
	var b strings.Builder
	p := newFigures(r)
	b.WriteString("\n")
	if p.Drill {
		fmt.Fprintf(&b, "RTO: %s (%s)\nRPO: %s (%s)\n", p.RTO, p.RTONote, p.RPO, p.RPONote)
	}
	fmt.Fprintf(&b, "writes: %s\n", p.Writes)
	for _, c := range r.Checks {
		if c.Passed() {
			continue
		}
		fmt.Fprintf(&b, "\nfailed check %s: %s\n", c.Name, oneLine(c.Summary))
		for _, d := range c.Details {
			fmt.Fprintf(&b, "  %s\n", oneLine(d))
		}
	}
	for i, s := range r.Steps {
		if s.Verdict != record.Fail {
			continue
		}
		fmt.Fprintf(&b, "\nfailed step %d (%s): %s\n", i+1, s.Phase, stepTitle(s))
		if s.Command != "" {
			fmt.Fprintf(&b, "  command: %s\n  exit code: %d\n", strings.ReplaceAll(strings.TrimSpace(s.Command), "\n", "\n           "), s.Exit)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", oneLine(s.Error))
		}
		if out := trimOutput(s.Output); out != "" {
			fmt.Fprintf(&b, "  output:\n    %s\n", strings.ReplaceAll(out, "\n", "\n    "))
		}
	}
	return b.String()
}

// xmlText replaces the characters XML 1.0 cannot hold, such as the escape
// codes of coloured command output, with U+FFFD. encoding/xml does so for
// attributes and character data but not for CDATA.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// failedStep is the first failed step of r.
func failedStep(r *record.Record) (record.Step, bool) {
	for _, s := range r.Steps {
		if s.Verdict == record.Fail {
			return s, true
		}
	}
	return record.Step{}, false
}

// stepTitle is "name on member" (or the name alone).
func stepTitle(s record.Step) string {
	if s.Member == "" {
		return s.Name
	}
	return s.Name + " on " + s.Member
}

// lostKeys picks the keys out of key-integrity details, which read
// "missing: /key" and "changed: /key: want … got …".
func lostKeys(details []string) (missing, changed []string) {
	for _, d := range details {
		for _, kind := range []string{"missing", "changed"} {
			rest, ok := strings.CutPrefix(d, kind)
			if !ok {
				continue
			}
			key, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(rest, ":")), ": ")
			if kind == "missing" {
				missing = append(missing, key)
			} else {
				changed = append(changed, key)
			}
		}
	}
	return missing, changed
}

// firstFew lists up to three keys and counts the rest.
func firstFew(keys []string) string {
	if len(keys) <= 3 {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:3], ", "), len(keys)-3)
}
