package upgrade

import (
	"strings"
)

// GateTableMarkdown renders Advisories as the Markdown table README.md
// prints under "Upgrade gates", one row per advisory in table order, with
// the columns gate, applies to, severity, what to do, source, published.
// Placeholders in the texts read as X (the running version) and Y (the
// target). The output ends in a newline and is the same on every call.
func GateTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| gate | applies to | severity | what to do | source | published |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, a := range Advisories {
		applies := a.Path.String()
		if a.Condition != "" {
			applies += ", if " + a.Condition
		}
		var sources, dates []string
		for _, r := range a.Sources {
			sources = append(sources, "["+r.Name+"]("+r.URL+")")
			dates = append(dates, r.Published)
		}
		cells := []string{
			"`" + a.ID + "`: " + a.Title,
			applies,
			string(a.Severity),
			abstract(a.Do),
			strings.Join(sources, "; "),
			strings.Join(dates, "; "),
		}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}
