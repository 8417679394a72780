package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// Output longer than maxOutputLines is cut to its first headLines and last
// tailLines: the start shows what the command did, the end how it ended.
const (
	maxOutputLines = 60
	headLines      = 40
	tailLines      = 10
)

// trimOutput removes trailing whitespace from every line and trailing
// blank lines (container output often ends in "\r\n"), then shortens long
// output, saying how many lines it left out.
func trimOutput(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > maxOutputLines {
		omitted := len(lines) - headLines - tailLines
		cut := append([]string{}, lines[:headLines]...)
		cut = append(cut, fmt.Sprintf("… %d lines omitted …", omitted))
		lines = append(cut, lines[len(lines)-tailLines:]...)
	}
	return strings.Join(lines, "\n")
}

// fence returns a code fence of backticks longer than the longest run of
// backticks in s, and at least three long.
func fence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}

// code returns s as an inline code span on one line, with a delimiter
// longer than any backtick run in s.
func code(s string) string {
	s = oneLine(s)
	d := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.Contains(s, "`") {
		return d + " " + s + " " + d
	}
	return d + s + d
}

// textEscaper escapes the characters that would turn plain text into
// emphasis, code, links or HTML. Pipes are left to table.
var textEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `&lt;`, `>`, `&gt;`,
)

// text returns s as inline Markdown that renders as s, on one line.
func text(s string) string {
	return textEscaper.Replace(oneLine(s))
}

// lineBreaks turns every line break into a space.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// oneLine puts s on one line, so a value cannot break out of a table row,
// list item or heading.
func oneLine(s string) string {
	return lineBreaks.Replace(s)
}

// dash returns md, or an em dash when the value it renders is empty.
func dash(value, md string) string {
	if value == "" {
		return "—"
	}
	return md
}

// shortID shortens an image ID the way docker does: no digest algorithm,
// twelve hex digits.
func shortID(id string) string {
	if _, hex, ok := strings.Cut(id, ":"); ok {
		id = hex
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// seconds formats d in seconds with two decimals, adding minutes from one
// minute on: "0.46 s", "1 min 12.54 s".
func seconds(d time.Duration) string {
	d = d.Round(10 * time.Millisecond)
	if d < time.Minute {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	m := d / time.Minute
	return fmt.Sprintf("%d min %05.2f s", m, (d - m*time.Minute).Seconds())
}

// span formats the time from start to end, or an em dash when either is
// unknown.
func span(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "—"
	}
	return seconds(end.Sub(start))
}

// verdictWord is the verdict as the title shows it.
func verdictWord(v record.Verdict) string {
	switch v {
	case "":
		return "NO VERDICT"
	case record.NotApplicable:
		return "NOT APPLICABLE"
	case record.Interrupted:
		return "⏹ INTERRUPTED"
	}
	return strings.ToUpper(strings.ReplaceAll(text(string(v)), "-", " "))
}

// verdictCell is the verdict with its mark, for tables and step headings.
func verdictCell(v record.Verdict) string {
	switch v {
	case record.Pass:
		return "✅ pass"
	case record.Fail:
		return "❌ fail"
	case record.NotApplicable:
		return "⚪ not applicable"
	case record.Expected:
		return "☑️ expected failure"
	case record.Interrupted:
		return "⏹ interrupted"
	case "":
		return "—"
	}
	return text(string(v))
}
