package drill

import (
	"errors"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestFailureExplainsTheFailedStep(t *testing.T) {
	out := strings.Repeat("noise\n", 30) + "Error: etcdserver: mvcc: database space exceeded"
	rec := &record.Record{Verdict: record.Fail, Reason: "step a put is accepted again: exit 1", Steps: []record.Step{
		{Name: "start a 3-member cluster", Verdict: record.Pass, Output: "fine"},
		{Name: "a put is accepted again", Phase: record.PhaseRecovery, Verdict: record.Fail, Exit: 1, Command: "etcdctl put /k v", Output: out, Error: "exit 1"},
	}, Checks: []record.Check{
		{Name: "alarms", Verdict: record.Fail, Summary: "1 alarm raised: NOSPACE"},
		{Name: "health", Verdict: record.Pass, Summary: "3 of 3"},
	}}
	got := Result{Record: rec, Dir: "/r/quota-exhaustion-v3.6.16-x"}.Failure(errors.New("quota-exhaustion: a put is accepted again: exit 1"))
	for _, want := range []string{"quota-exhaustion: a put is accepted again", `failed step "a put is accepted again"`, "$ etcdctl put /k v",
		"database space exceeded", "failed check alarms: 1 alarm raised: NOSPACE", "report: /r/quota-exhaustion-v3.6.16-x"} {
		if !strings.Contains(got, want) {
			t.Errorf("Failure() lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"start a 3-member cluster", "health"} {
		if strings.Contains(got, not) {
			t.Errorf("Failure() names %q, which passed:\n%s", not, got)
		}
	}
	if n := strings.Count(got, "noise"); n > 11 {
		t.Errorf("Failure() keeps %d lines of a long output, want the last 12 at most", n)
	}
	rec.Verdict = record.Pass
	if got := (Result{Record: rec}).Failure(nil); got != "" {
		t.Errorf("a passing drill explains itself: %q", got)
	}
}
