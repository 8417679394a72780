package upgrade

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEGateTable keeps the table README.md prints under "Upgrade
// gates" equal to Advisories. To update the README, paste the output of
// GateTableMarkdown between the markers.
func TestREADMEGateTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- gates:begin -->\n", "<!-- gates:end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q markers", strings.TrimSpace(begin), end)
	}
	if got, want := s[i+len(begin):j], GateTableMarkdown(); got != want {
		t.Errorf("the gate table in README.md differs from upgrade.Advisories; replace it with:\n%s", want)
	}
}

func TestGateTableMarkdown(t *testing.T) {
	md := GateTableMarkdown()
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if len(lines) != len(Advisories)+2 {
		t.Fatalf("%d lines, want a header, a rule and %d rows", len(lines), len(Advisories))
	}
	if lines[0] != "| gate | applies to | severity | what to do | source | published |" {
		t.Errorf("header = %q", lines[0])
	}
	for i, a := range Advisories {
		row := lines[i+2]
		if cells := strings.Count(strings.ReplaceAll(row, `\|`, ""), "|"); cells != 7 {
			t.Errorf("row %s has %d separators, want 7: %s", a.ID, cells, row)
		}
		for _, want := range []string{"`" + a.ID + "`", a.Sources[0].URL, a.Sources[0].Published, string(a.Severity)} {
			if !strings.Contains(row, want) {
				t.Errorf("row %s lacks %q: %s", a.ID, want, row)
			}
		}
		if strings.ContainsAny(row, "{}") {
			t.Errorf("row %s keeps a placeholder: %s", a.ID, row)
		}
	}
}
