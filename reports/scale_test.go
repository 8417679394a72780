package reports

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// scaleRow is a drill at gb GiB whose phases take gb times the given
// seconds: a transfer, a restore on m1 and a slower one on m2, boot,
// leader and first write, then the total and a bare restore.
func scaleRow(size string, gb int64, verdict record.Verdict) Scale {
	t0 := time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)
	ms := func(v int64) time.Duration { return time.Duration(v*gb) * time.Millisecond }
	phase := func(name, member string, from, took int64) record.RTOPhase {
		return record.RTOPhase{Name: name, Member: member, Start: t0.Add(ms(from)), End: t0.Add(ms(from + took)), Bytes: gb << 30}
	}
	return Scale{Size: size, DBSize: gb * 1_100_000_000, Keys: int(gb) * 262144,
		Phases: []record.RTOPhase{
			phase(record.PhaseTransfer, "", 0, 2000),
			phase(record.PhaseRestore, "m1", 2000, 2500), phase(record.PhaseRestore, "m2", 2000, 2750),
			phase(record.PhaseBoot, "", 4750, 1500), phase(record.PhaseLeader, "", 6250, 100), phase(record.PhaseFirstWrite, "", 6350, 10),
		},
		RTO: ms(7000), BareRestore: ms(2200), Verdict: verdict}
}

func TestScaleMarkdown(t *testing.T) {
	rows := []Scale{scaleRow("1GiB", 1, record.Pass), scaleRow("4GiB", 4, record.Fail)}
	md := ScaleMarkdown(rows)
	for _, want := range []string{
		"| Size | Keys | DB size | snapshot transfer | restore | member boot | first leader | first acknowledged write | RTO | bare restore | restore ÷ bare | Verdict |",
		// The restore column is the slower member's (m2, 2.75 s); the
		// ratio is 2.75 ÷ 2.2.
		"| 1GiB | 262144 | 1.1 GB | 2.00 s | 2.75 s | 1.50 s | 0.10 s | 0.01 s | 7.00 s | 2.20 s | 1.25× | ✅ pass |",
		"| 4GiB | 1048576 | 4.4 GB | 8.00 s | 11.00 s | 6.00 s | 0.40 s | 0.04 s | 28.00 s | 8.80 s | 1.25× | ❌ fail |",
		"slowest member",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("scaling report lacks %q:\n%s", want, md)
		}
	}

	// A row without a bare restore or phases has dashes, not zeros.
	bare := Scale{Size: "8GiB", DBSize: 8_800_000_000, Verdict: record.Interrupted}
	md = ScaleMarkdown([]Scale{bare})
	if want := "| 8GiB | — | 8.8 GB | — | — | — | ⏹ interrupted |"; !strings.Contains(md, want) {
		t.Errorf("scaling report lacks %q:\n%s", want, md)
	}
}

func TestScaleMarkdownEmpty(t *testing.T) {
	md := ScaleMarkdown(nil)
	if !strings.Contains(md, noScaleData) || strings.Contains(md, "|") {
		t.Errorf("empty scaling report:\n%s", md)
	}
}

// svgDoc decodes an SVG with encoding/xml, failing on any error, and
// counts its elements by name and its series paths.
func svgDoc(t *testing.T, svg string) (elements map[string]int, series int, texts []string) {
	t.Helper()
	elements = map[string]int{}
	d := xml.NewDecoder(strings.NewReader(svg))
	var root bool
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if !root {
				root = true
				if el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root element %v, want svg in the SVG namespace", el.Name)
				}
			}
			elements[el.Name.Local]++
			for _, a := range el.Attr {
				if el.Name.Local == "path" && a.Name.Local == "class" && a.Value == "series" {
					series++
				}
			}
		case xml.CharData:
			texts = append(texts, string(el))
		}
	}
	return elements, series, texts
}

func TestScaleSVG(t *testing.T) {
	rows := []Scale{scaleRow("4GiB", 4, record.Fail), scaleRow("1GiB", 1, record.Pass), scaleRow("2GiB", 2, record.Pass)}
	svg := ScaleSVG(rows)
	elements, series, texts := svgDoc(t, svg)
	all := strings.Join(texts, "\n")
	// Five phases, the total RTO and the bare restore.
	if series != 7 || elements["path"] != 8 { // and the axes
		t.Errorf("%d series paths of %d paths, want 7 of 8", series, elements["path"])
	}
	if elements["circle"] != 21 {
		t.Errorf("%d dots, want one per series and row: 21", elements["circle"])
	}
	for _, want := range []string{
		"snapshot transfer", "restore", "member boot", "first leader", "first acknowledged write", "total RTO",
		"bare etcdutl snapshot restore", // legend
		"restore at 4GiB (4.4 GB): 11.00 s", "bare etcdutl snapshot restore at 1GiB (1.1 GB): 2.20 s",
		"total RTO at 2GiB (2.2 GB): 14.00 s", // tooltips
		"4GiB fail", "database size before the fault", "seconds", "Recovery time by database size",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	// Drawn by size: the restore line runs 1, 2, then 4 GiB.
	restore := svg[strings.Index(svg, "<title>restore</title>"):]
	restore = restore[:strings.Index(restore, "</g>")]
	if i, j, k := strings.Index(restore, "1GiB"), strings.Index(restore, "2GiB"), strings.Index(restore, "4GiB"); !(i < j && j < k) {
		t.Errorf("restore series not in order of size: %s", restore)
	}
	for _, bad := range []string{"<script", "@font-face", "url(", "href", "<image", "<foreignObject"} {
		if strings.Contains(svg, bad) {
			t.Errorf("SVG is not self-contained: has %q", bad)
		}
	}
}

func TestScaleSVGOneRow(t *testing.T) {
	svg := ScaleSVG([]Scale{scaleRow("1GiB", 1, record.Pass)})
	elements, series, texts := svgDoc(t, svg)
	if series != 7 || elements["circle"] != 7 {
		t.Errorf("%d series and %d dots for one row, want 7 and 7", series, elements["circle"])
	}
	if all := strings.Join(texts, "\n"); !strings.Contains(all, "restore at 1GiB (1.1 GB): 2.75 s") {
		t.Errorf("SVG lacks the restore:\n%s", svg)
	}
}

func TestScaleSVGNoData(t *testing.T) {
	tests := []struct {
		name string
		rows []Scale
		want string
	}{
		{"no rows", nil, noScaleData},
		{"no database size", []Scale{{Size: "1GiB", RTO: time.Second}}, "no row has both a database size and a time"},
		{"no times", []Scale{{Size: "1GiB", DBSize: 1 << 30}}, "no row has both a database size and a time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := ScaleSVG(tt.rows)
			elements, series, texts := svgDoc(t, svg)
			if series != 0 || elements["circle"] != 0 {
				t.Errorf("%d series and %d dots without data", series, elements["circle"])
			}
			if !strings.Contains(strings.Join(texts, "\n"), tt.want) {
				t.Errorf("SVG does not say %q:\n%s", tt.want, svg)
			}
		})
	}
}

// TestScaleEscapes: a size label is text, in Markdown and in the SVG.
func TestScaleEscapes(t *testing.T) {
	r := scaleRow(`<b>1GiB</b> & "x"|y`, 1, record.Pass)
	svgDoc(t, ScaleSVG([]Scale{r}))
	if md := ScaleMarkdown([]Scale{r}); !strings.Contains(md, `| &lt;b&gt;1GiB&lt;/b&gt; & "x"\|y |`) {
		t.Errorf("size label not escaped:\n%s", md)
	}
}
