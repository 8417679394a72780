package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// faultStep is a kill recorded in the fault phase.
func faultStep(r *record.Record) record.Step {
	return record.Step{Phase: record.PhaseFault, Name: "SIGKILL etcd on m1", Member: "m1",
		Start: r.Start.Add(time.Second), End: r.Start.Add(2 * time.Second), Verdict: record.Pass}
}

// TestNotMeasured: a drill without an RTO or RPO says "not measured" and
// why, never "0.00 s" or a zero count, in Markdown and on the page.
func TestNotMeasured(t *testing.T) {
	integrity := record.Check{Name: keyIntegrity, Verdict: record.Pass, Summary: "all keys present"}
	tests := []struct {
		name     string
		edit     func(r *record.Record)
		md, card []string // Markdown rows, HTML cards
	}{
		{"no fault", func(*record.Record) {},
			[]string{"| RTO: fault to first acknowledged write | not measured (no fault injected) |"},
			[]string{`<div class="label">RTO</div><div class="value">not measured</div><div class="note">no fault injected</div>`}},
		{"fault without a write after it", func(r *record.Record) { r.Steps = []record.Step{faultStep(r)} },
			[]string{"| not measured (no write acknowledged after the fault) |"},
			[]string{`<div class="value">not measured</div><div class="note">no write acknowledged after the fault</div>`}},
		{"fault event only", func(r *record.Record) { r.Events = []record.Event{{T: r.Start, Kind: "fault", Text: "kill"}} },
			[]string{"| not measured (no write acknowledged after the fault) |"}, nil},
		{"no key-integrity check", func(r *record.Record) { r.Metrics.RPOWrites = record.Count(0) },
			[]string{"| RPO: acknowledged writes lost | not measured (no key-integrity check ran) |"},
			[]string{`<div class="label">RPO</div><div class="value">not measured</div><div class="note">no key-integrity check ran</div>`}},
		{"key-integrity check without a count", func(r *record.Record) { r.Checks = []record.Check{integrity} },
			[]string{"| RPO: acknowledged writes lost | not measured (the key-integrity check could not read the keyspace) |"}, nil},
		{"measured", func(r *record.Record) {
			r.Steps, r.Checks = []record.Step{faultStep(r)}, []record.Check{integrity}
			r.Metrics.RTOMillis, r.Metrics.RPOWrites = record.Millis(1830*time.Millisecond), record.Count(3)
		}, []string{"| RTO: fault to first acknowledged write | 1.83 s |", "| RPO: acknowledged writes lost | 3 |"},
			[]string{`<div class="value">1.83 s</div><div class="note">fault to first acknowledged write</div>`,
				`<div class="card key warn"><div class="label">RPO</div><div class="value">3 writes</div>`}},
		{"measured zero", func(r *record.Record) { r.Metrics.RTOMillis = record.Millis(0) },
			[]string{"| RTO: fault to first acknowledged write | 0.00 s |"}, nil},
		{"did not apply", func(r *record.Record) { r.Verdict = record.NotApplicable },
			[]string{"| RTO: fault to first acknowledged write | — |", "| RPO: acknowledged writes lost | — |"},
			[]string{`<div class="label">RTO</div><div class="value">—</div><div class="note">the drill did not run</div>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := minimal()
			tt.edit(r)
			md, page := render(t, r), renderString(t, r)
			for _, w := range tt.md {
				if !strings.Contains(md, w) {
					t.Errorf("Markdown lacks %q:\n%s", w, md)
				}
			}
			for _, w := range tt.card {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if r.Metrics.RTOMillis == nil && (strings.Contains(md, "acknowledged write | 0.00 s |") ||
				strings.Contains(page, `<div class="value">0.00 s</div>`)) {
				t.Errorf("an RTO that was not measured renders as 0.00 s:\n%s", md)
			}
		})
	}
}

// TestLegacyRTO: records written before rto_ms could be null have -1 for
// "not measured"; ReadJSON reads it as nil and writes null back.
func TestLegacyRTO(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "leader-kill-step-fail", JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	legacy := bytes.Replace(b, []byte(`"rto_ms": null`), []byte(`"rto_ms": -1`), 1)
	if bytes.Equal(legacy, b) {
		t.Fatal("testdata/leader-kill-step-fail no longer has rto_ms null to replace")
	}
	path := filepath.Join(t.TempDir(), JSONFile)
	if err := os.WriteFile(path, legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Metrics.RTOMillis != nil {
		t.Fatalf("rto_ms -1 read as %d, want nil (not measured)", *r.Metrics.RTOMillis)
	}
	var out bytes.Buffer
	if err := WriteJSON(&out, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), b) {
		t.Errorf("legacy record written back differs from the current form\n%s", firstDiff(out.String(), string(b)))
	}
	if md := render(t, r); !strings.Contains(md, "| not measured (no write acknowledged after the fault) |") {
		t.Errorf("legacy record's RTO:\n%s", md)
	}
}

// notADrill is a failed snapshot verify with everything a drill would
// show RTO and RPO for: a value, a fault on the timeline, a key check.
func notADrill(kind string) *record.Record {
	r := withTimeline(record.Event{T: minimal().Start.Add(2 * time.Second), Kind: "fault", Text: "kill"})
	r.Kind, r.Scenario, r.Verdict = kind, record.KindSnapshotVerify, record.Fail
	r.Metrics.RTOMillis, r.Metrics.RPOWrites = record.Millis(3*time.Second), record.Count(0)
	r.Checks = []record.Check{{Name: keyIntegrity, Verdict: record.Fail, Summary: "1 key missing", Details: []string{"missing: /k"}}}
	return r
}

// TestNotADrillHasNoRTO: records that are not drills show no RTO or RPO
// row, card, band or JUnit figure, even when the record has values.
func TestNotADrillHasNoRTO(t *testing.T) {
	for _, kind := range []string{record.KindSnapshotVerify, record.KindUpgradeCheck, ""} {
		t.Run("kind "+kind, func(t *testing.T) {
			r := notADrill(kind)
			if kind == record.KindUpgradeCheck {
				r.Scenario = "upgrade-check"
			}
			if md := render(t, r); strings.Contains(md, "RTO") || strings.Contains(md, "RPO") {
				t.Errorf("Markdown has RTO or RPO:\n%s", md)
			}
			page := renderString(t, r)
			for _, bad := range []string{`<div class="label">RTO</div>`, `<div class="label">RPO</div>`, `class="rto"`, "RTO 3.00 s"} {
				if strings.Contains(page, bad) {
					t.Errorf("page has %q", bad)
				}
			}
			if !strings.Contains(page, `<section class="numbers two"`) {
				t.Error("page's numbers are not laid out for two cards")
			}
			if c := newChart(r); c.RTO != nil {
				t.Errorf("RTO band %+v", c.RTO)
			}
			var doc junitSuites
			if err := xml.Unmarshal(junitOf(t, r), &doc); err != nil {
				t.Fatal(err)
			}
			c := doc.Suite.Cases[0]
			if c.Failure == nil {
				t.Fatal("failed record has no <failure>")
			}
			for _, s := range []string{string(c.SystemOut), c.Failure.Message, c.Failure.Text} {
				if strings.Contains(s, "RTO") || strings.Contains(s, "RPO") {
					t.Errorf("JUnit has RTO or RPO: %q", s)
				}
			}
		})
	}
}

// TestDrillStillHasRTO keeps the test above honest: the same record as a
// drill shows every RTO and RPO that it hides.
func TestDrillStillHasRTO(t *testing.T) {
	r := notADrill(record.KindDrill)
	if md := render(t, r); !strings.Contains(md, "| RTO: fault to first acknowledged write | 3.00 s |") {
		t.Errorf("drill's Markdown lacks its RTO:\n%s", md)
	}
	if page := renderString(t, r); !strings.Contains(page, `<div class="label">RTO</div>`) || !strings.Contains(page, "RTO 3.00 s") {
		t.Error("drill's page lacks its RTO card or band")
	}
	if out := string(junitOf(t, r)); !strings.Contains(out, "RTO 3.00 s; RPO 0 writes;") || !strings.Contains(out, "RPO 0 acknowledged writes lost") {
		t.Errorf("drill's JUnit lacks RTO and RPO:\n%s", out)
	}
}

func TestChartNoRTOBandWhenNotMeasured(t *testing.T) {
	r := withTimeline(record.Event{T: minimal().Start.Add(2 * time.Second), Kind: "fault", Text: "kill m1"})
	if c := newChart(r); c.RTO != nil {
		t.Errorf("RTO band %+v for an RTO that was not measured", c.RTO)
	}
	page := renderString(t, r)
	if strings.Contains(page, `class="rto"`) || strings.Contains(page, "(RTO)") {
		t.Error("page draws an RTO band or its legend without an RTO")
	}
}
