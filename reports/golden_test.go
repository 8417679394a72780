package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Golden files: every case below is a directory testdata/<case>/ holding a
// saved record, report.json, and what the renderers make of it: report.md,
// report.html, and for all cases together testdata/junit.xml. The tests
// fail when rendering differs from the saved files.
//
// To regenerate after a change to the renderers, or from a real run:
//
//	cp reports/runs/<run>/report.json reports/testdata/<case>/  # a real run (etcdrill run --out reports/runs); a new <case> also goes into goldenCases
//	go test ./reports -run Golden -update                        # rewrites report.md, report.html and junit.xml from the records
//	git diff reports/testdata                                    # review before committing
//
// -update never rewrites report.json. TestTestdataCanonical requires it in
// the form WriteJSON writes, which a record written by etcdrill already is;
// a record from an older etcdrill fails there where ReadJSON reads it
// differently (rto_ms -1 is read as null), and is fixed by hand.
var update = flag.Bool("update", false, "rewrite the golden files under testdata (and the browser screenshot)")

// goldenCases are the saved drill records under testdata. quorum-loss,
// leader-kill-fail, leader-kill-interrupted (cut from the leader-kill run)
// and snapshot-verify are written by hand; the others are real runs.
// quorum-loss-phases is the quorum-loss run with the figures of a drill
// on 1 GiB of data added by hand: RTO phases (a restore per member),
// RPO in revisions and time, sizes, the data load and peak RSS.
var goldenCases = []string{"quorum-loss", "leader-kill-fail", "leader-kill", "leader-kill-step-fail", "v2-data-not-applicable",
	"leader-kill-interrupted", "snapshot-verify", "quorum-loss-phases"}

func TestMarkdownGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			r, err := ReadJSON(filepath.Join(dir, JSONFile))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Markdown(&got, r); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, MarkdownFile), got.Bytes())
		})
	}
}

func TestHTMLGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			r, err := ReadJSON(filepath.Join(dir, JSONFile))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := HTML(&got, r); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, HTMLFile), got.Bytes())
		})
	}
}

// golden compares got with the file at path, rewriting it first under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the rendered record; run go test ./reports -run Golden -update and review the diff\n%s",
			path, firstDiff(string(got), string(want)))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

// TestGoldenQuorumLossIsCurrent is defect 9: the quorum-loss golden was a
// record older than today's engine (wording no longer produced, and
// "failed" writes that the ledger now calls indeterminate). It must come
// from a real run of the current code: the refusal carries the reason
// record.Log.Refused checks, and losing quorum fails no write for sure
// (a put without quorum times out: indeterminate).
func TestGoldenQuorumLossIsCurrent(t *testing.T) {
	r, err := ReadJSON(filepath.Join("testdata", "quorum-loss", JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "drill" || r.Metrics.RTOMillis == nil || r.Metrics.RPOWrites == nil {
		t.Fatalf("kind %q, rto %v, rpo %v: not a record of today's engine", r.Kind, r.Metrics.RTOMillis, r.Metrics.RPOWrites)
	}
	if r.Metrics.Failed != 0 {
		t.Errorf("%d writes failed: a lost quorum makes writes indeterminate, not failed", r.Metrics.Failed)
	}
	refused := false
	for _, s := range r.Steps {
		refused = refused || s.Verdict == "expected-failure" && strings.Contains(s.Output, "# refused: no quorum")
	}
	if !refused {
		t.Error("no step shows a refusal checked for its reason (\"# refused: no quorum\")")
	}
}
