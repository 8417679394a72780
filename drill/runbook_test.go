package drill

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

// fakeProcedure is an operator's runbook whose one step fails.
type fakeProcedure struct{ explained *bool }

func (p fakeProcedure) Steps() []Step {
	return []Step{{Title: "runbook.md:12", Do: func(context.Context, *Drill) error { return errors.New("runbook.md:12: exit 1") }}}
}

func (p fakeProcedure) Explain(d *Drill) []record.Check {
	*p.explained = true
	return []record.Check{{Name: "runbook", Verdict: record.Fail, Summary: "runbook.md:12 failed"}}
}

// TestRunbookFailureStillVerifies: with an operator's runbook, a failing
// runbook step ends the procedure but not the drill: the checks run and
// the runbook explains them. Without one, the first failure ends all.
func TestRunbookFailureStillVerifies(t *testing.T) {
	explained := false
	verified := false
	s := &Scenario{
		Name:         "unit",
		Recover:      []Step{{Title: "built-in", Do: func(context.Context, *Drill) error { t.Error("the built-in procedure ran"); return nil }}},
		RunbookAfter: []Step{{Title: "after", Do: func(context.Context, *Drill) error { t.Error("a step after the failed runbook ran"); return nil }}},
		Verify:       []Step{{Title: "verify", Do: func(context.Context, *Drill) error { verified = true; return nil }}},
	}
	d, _ := newTestDrill(t, Options{Runbook: fakeProcedure{&explained}})
	rec := s.RecoverFor(d.Config)
	if len(rec) != 2 || rec[0].Title != "runbook.md:12" {
		t.Fatalf("RecoverFor = %d steps, first %q; want the runbook's then RunbookAfter", len(rec), rec[0].Title)
	}
	prologue := []Step{{Title: "prologue", Do: func(context.Context, *Drill) error { return nil }}}
	steps := append(append(prologue, rec...), s.Verify...)
	err := d.runRunbook(context.Background(), steps, len(rec), len(s.Verify))
	if err == nil || !strings.Contains(err.Error(), "runbook.md:12") {
		t.Errorf("err = %v, want the runbook step's failure", err)
	}
	if !verified || !explained {
		t.Errorf("verified %v, explained %v: want both", verified, explained)
	}
	if n := len(d.Record.Checks); n != 1 || d.Record.Checks[0].Name != "runbook" {
		t.Errorf("checks %+v, want the runbook check", d.Record.Checks)
	}

	d2, _ := newTestDrill(t, Options{})
	if got := s.RecoverFor(d2.Config); len(got) != 1 || got[0].Title != "built-in" {
		t.Errorf("without a runbook RecoverFor = %+v, want Recover", got)
	}
}

// TestRunbookDefaultAfter: a scenario that says nothing about runbooks
// stops the load after one.
func TestRunbookDefaultAfter(t *testing.T) {
	explained := false
	d, _ := newTestDrill(t, Options{Runbook: fakeProcedure{&explained}})
	got := (&Scenario{Name: "unit"}).RecoverFor(d.Config)
	if len(got) != 2 || got[1].Title != "stop the load" {
		t.Errorf("RecoverFor = %+v, want the runbook then stop the load", got)
	}
}
