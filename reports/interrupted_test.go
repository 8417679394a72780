package reports

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// interrupted is minimal() stopped by Ctrl-C in its second step, which
// the harness records as failed with the cancelled context.
func interrupted() *record.Record {
	r := minimal()
	r.Verdict = record.Interrupted
	r.Steps = []record.Step{faultStep(r), {Phase: record.PhaseObserve, Name: "writes resume",
		Start: r.Start.Add(2 * time.Second), End: r.Start.Add(3 * time.Second), Verdict: record.Fail, Error: "context canceled"}}
	return r
}

func TestInterruptedRendering(t *testing.T) {
	r := minimal()
	r.Verdict = record.Interrupted
	r.Steps = []record.Step{{Phase: record.PhaseObserve, Name: "watch", Verdict: record.Interrupted}}
	md := render(t, r)
	for _, want := range []string{
		"# Drill: single-node — ⏹ INTERRUPTED\n\n**Reason:** the operator stopped the drill before it finished\n",
		"1. observe · **watch** · ⏹ interrupted\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	page := renderString(t, r)
	for _, want := range []string{
		`<header class="head interrupted">`,
		`<span class="badge interrupted">⏹ INTERRUPTED</span>`,
		"<b>Reason:</b> the operator stopped the drill before it finished",
		`<li class="step interrupted">`, `<span class="chip interrupted">interrupted</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	r.Reason = "interrupted by the operator (SIGINT) during step watch"
	if md := render(t, r); !strings.Contains(md, "**Reason:** interrupted by the operator (SIGINT) during step watch\n") {
		t.Errorf("Markdown does not give the record's reason:\n%s", md)
	}
}

// TestJUnitInterruptedIsNotAFailure: CI must not count Ctrl-C as a failed
// drill, even though the step it cut short failed.
func TestJUnitInterruptedIsNotAFailure(t *testing.T) {
	failed := minimal()
	failed.Verdict, failed.Reason = record.Fail, "check hashkv: members differ"
	out := junitOf(t, interrupted(), failed)
	var doc junitSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suite
	if s.Failures != 1 || s.Errors != 0 || s.Skipped != 1 || doc.Failures != 1 || doc.Skipped != 1 {
		t.Errorf("suite counts %d failures, %d errors, %d skipped; want 1, 0, 1", s.Failures, s.Errors, s.Skipped)
	}
	c := s.Cases[0]
	if c.Failure != nil || c.Error != nil {
		t.Errorf("interrupted drill has a <failure> or <error>:\n%s", out)
	}
	if c.Skipped == nil || c.Skipped.Message != "interrupted by the operator" {
		t.Errorf("interrupted drill is not <skipped message=%q>:\n%s", "interrupted by the operator", out)
	}
	if !strings.Contains(string(c.SystemOut), "⏹ INTERRUPTED; step writes resume: context canceled;") {
		t.Errorf("system-out %q does not say where the drill stopped", c.SystemOut)
	}
}

func TestIndexCountsInterrupted(t *testing.T) {
	root := t.TempDir()
	for i, v := range []record.Verdict{record.Pass, record.Fail, record.NotApplicable, record.Interrupted, record.Interrupted} {
		r := minimal()
		r.Verdict, r.Start = v, r.Start.Add(time.Duration(i)*time.Minute)
		if err := WriteDir(filepath.Join(root, string(v)+"-"+string(rune('a'+i))), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteIndex(root); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"5 runs: 1 passed, 1 failed, 1 not applicable, 2 interrupted.",
		`<tr class="interrupted">`, `<span class="chip interrupted">interrupted</span>`,
		`<div class="why">the operator stopped the drill before it finished</div>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index lacks %q", want)
		}
	}
}
