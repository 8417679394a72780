package scenarios

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
)

func TestMatrix(t *testing.T) {
	a := &drill.Scenario{Name: "a", AlsoWithAuth: true}
	b := &drill.Scenario{Name: "b"}
	vs := []harness.Version{harness.MustVersion("3.5.35"), harness.MustVersion("3.6.16")}
	runs := Matrix([]*drill.Scenario{a, b}, vs, true)
	var got []string
	for _, r := range runs {
		got = append(got, r.Version.String()+":"+r.Name())
	}
	want := "3.5.35:a 3.5.35:a+auth 3.5.35:b 3.6.16:a 3.6.16:a+auth 3.6.16:b"
	if strings.Join(got, " ") != want {
		t.Fatalf("matrix = %v, want %s", got, want)
	}
	if n := len(Matrix([]*drill.Scenario{a, b}, vs[1:], false)); n != 2 {
		t.Fatalf("without variants: %d runs, want 2", n)
	}
}

func TestLookupNamesKnownScenarios(t *testing.T) {
	_, err := Lookup("no-such-drill")
	if err == nil || !strings.Contains(err.Error(), "leader-kill") {
		t.Fatalf("Lookup error %v should list the known scenarios", err)
	}
}

// TestImpossibleSizes is defect 1: `run quorum-loss --members 1` (and
// force-new-cluster, snapshot-from-db-file) panicked with index out of
// range after containers started. Every drill must say before anything
// starts whether it can run on 1, 3 or 5 members.
func TestImpossibleSizes(t *testing.T) {
	v := harness.MustVersion(harness.DefaultVersion)
	mustRefuse := map[string][]int{
		"quorum-loss":           {1},
		"force-new-cluster":     {1, 5},
		"snapshot-from-db-file": {1},
		"snapshot-integrity":    {1},
		"member-replace":        {1},
		"wrong-peer-url":        {1, 5},
		"single-node":           {3, 5},
	}
	for _, s := range All() {
		for _, n := range []int{1, 3, 5} {
			err := s.Available(fault.Env{Members: n, Version: v})
			refuse := false
			for _, m := range mustRefuse[s.Name] {
				refuse = refuse || m == n
			}
			switch {
			case refuse && err == nil:
				t.Errorf("%s on %d members: no error, want one before anything starts", s.Name, n)
			case !refuse && err != nil && n == s.Members:
				t.Errorf("%s on its own size %d: %v", s.Name, n, err)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("%s on %d members: error is not one line: %q", s.Name, n, err)
			}
		}
	}
}

// TestEveryDrillDeclaresItsFaults: `etcdrill list` shows the faults, so
// every drill but v2-data (which has none) declares at least one.
func TestEveryDrillDeclaresItsFaults(t *testing.T) {
	for _, s := range All() {
		if len(s.Faults()) == 0 && s.Name != "v2-data" {
			t.Errorf("%s declares no fault", s.Name)
		}
	}
}
