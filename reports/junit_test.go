package reports

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

// goldenRecords reads every golden case's record.
func goldenRecords(t *testing.T) map[string]*record.Record {
	t.Helper()
	recs := map[string]*record.Record{}
	for _, name := range goldenCases {
		r, err := ReadJSON(filepath.Join("testdata", name, JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		recs[name] = r
	}
	return recs
}

func junitOf(t *testing.T, recs ...*record.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, recs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestJUnitGolden(t *testing.T) {
	recs := goldenRecords(t)
	var all []*record.Record
	for _, name := range goldenCases {
		all = append(all, recs[name])
	}
	golden(t, filepath.Join("testdata", JUnitFile), junitOf(t, all...))
}

func TestJUnitParsesBack(t *testing.T) {
	recs := goldenRecords(t)
	var all []*record.Record
	for _, name := range goldenCases {
		all = append(all, recs[name])
	}
	var doc junitSuites
	if err := xml.Unmarshal(junitOf(t, all...), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	s := doc.Suite
	if s.Name != "etcdrill" || s.Tests != len(goldenCases) || s.Failures != 2 || s.Skipped != 2 || s.Errors != 0 {
		t.Errorf("suite %q: %d tests, %d failures, %d skipped, %d errors; want etcdrill: %d, 2, 2, 0",
			s.Name, s.Tests, s.Failures, s.Skipped, s.Errors, len(goldenCases))
	}
	cases := map[string]junitCase{}
	for i, c := range s.Cases {
		cases[goldenCases[i]] = c
	}

	lost := cases["leader-kill-fail"]
	if lost.Name != "leader-kill (etcd 3.6.16)" || lost.Classname != "etcdrill.leader-kill" || lost.Time != "47.120" {
		t.Errorf("failed case is %q %q time %s", lost.Name, lost.Classname, lost.Time)
	}
	if lost.Failure == nil {
		t.Fatal("failed drill has no <failure>")
	}
	for _, want := range []string{
		"check key-integrity: 2 acknowledged keys missing after the leader was killed",
		"missing /drill/leader-kill/w2/000903, /drill/leader-kill/w5/000417",
		"RPO 0 acknowledged writes lost by design",
		"failed step: compare keyspace with ledger",
	} {
		if !strings.Contains(lost.Failure.Message, want) {
			t.Errorf("failure message %q lacks %q", lost.Failure.Message, want)
		}
	}
	if !strings.Contains(lost.Failure.Text, "  missing: /drill/leader-kill/w5/000417\n") {
		t.Errorf("failure text lacks the missing key:\n%s", lost.Failure.Text)
	}

	step := cases["leader-kill-step-fail"]
	if step.Name != "leader-kill+auth (etcd 3.6.16)" {
		t.Errorf("auth drill named %q", step.Name)
	}
	if step.Failure == nil || !strings.HasPrefix(step.Failure.Message, "step a new leader is elected: ") ||
		strings.Contains(step.Failure.Message, "failed step:") {
		t.Errorf("step failure %+v: want the reason once", step.Failure)
	}

	na := cases["v2-data-not-applicable"]
	if na.Skipped == nil || !strings.Contains(na.Skipped.Message, "removed in etcd 3.6") || na.Failure != nil {
		t.Errorf("not-applicable case %+v, want skipped with the reason", na)
	}
	if pass := cases["leader-kill"]; pass.Failure != nil || pass.Skipped != nil || pass.Error != nil || pass.Time != "13.004" {
		t.Errorf("passed case %+v", pass)
	}

	// Ctrl-C is not a failure, even though the step it cut short failed.
	stopped := cases["leader-kill-interrupted"]
	if stopped.Failure != nil || stopped.Error != nil || stopped.Skipped == nil || stopped.Skipped.Message != "interrupted by the operator" {
		t.Errorf("interrupted case %+v, want <skipped> and no <failure>", stopped)
	}
	if !strings.Contains(string(stopped.SystemOut), "⏹ INTERRUPTED; interrupted by the operator (SIGINT) during step writes resume; RTO not measured;") {
		t.Errorf("interrupted case says %q", stopped.SystemOut)
	}
	if sv := cases["snapshot-verify"]; sv.Failure != nil || sv.Skipped != nil || strings.Contains(string(sv.SystemOut), "RTO") || strings.Contains(string(sv.SystemOut), "RPO") {
		t.Errorf("snapshot verify case %+v, want a pass without RTO or RPO", sv)
	}
}

func TestJUnitOddText(t *testing.T) {
	r := minimal()
	r.Verdict = ""
	r.Steps = []record.Step{{Name: "colour", Verdict: record.Fail, Output: "\x1b[31mred]]>\x00\n", Error: "a\nb"}}
	var doc junitSuites
	out := junitOf(t, r)
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, out)
	}
	c := doc.Suite.Cases[0]
	if c.Error == nil || doc.Suite.Errors != 1 {
		t.Fatalf("record without verdict: %+v, want an <error>", c)
	}
	if !strings.Contains(c.Error.Text, "\uFFFD[31mred]]>\uFFFD") {
		t.Errorf("output not kept readable:\n%q", c.Error.Text)
	}
}
