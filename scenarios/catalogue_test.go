package scenarios

import (
	"slices"
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

// key names an entry of a matrix: version, then drill (with +auth).
func key(e Entry) string { return e.Version.String() + ":" + e.Name() }

// TestShard: every entry of the real matrix, on every supported version
// with the auth variants, lands in exactly one of n shards; the shards
// differ in size by at most one, and so do their counts of drills that
// start a cluster; each keeps the matrix order; and the split is the
// same however often it is made.
func TestShard(t *testing.T) {
	var vs []harness.Version
	for _, s := range harness.Supported {
		vs = append(vs, harness.MustVersion(s))
	}
	matrix := Matrix(All(), vs, true)
	pos := map[string]int{}
	for k, e := range matrix {
		pos[key(e)] = k
	}
	if len(pos) != len(matrix) {
		t.Fatalf("matrix has duplicate entries: %d entries, %d distinct", len(matrix), len(pos))
	}
	for _, n := range []int{1, 2, 3, 4, 7, len(matrix), len(matrix) + 3} {
		seen := map[string]int{}
		minLen, maxLen, minCost, maxCost := len(matrix), 0, len(matrix), 0
		for i := 1; i <= n; i++ {
			shard, err := Shard(matrix, i, n)
			if err != nil {
				t.Fatalf("Shard(%d/%d): %v", i, n, err)
			}
			again, _ := Shard(slices.Clone(matrix), i, n)
			if fmtKeys(again) != fmtKeys(shard) {
				t.Errorf("Shard(%d/%d) differs between calls:\n%s\n%s", i, n, fmtKeys(shard), fmtKeys(again))
			}
			c := 0
			for k, e := range shard {
				seen[key(e)]++
				c += cost(e)
				if k > 0 && pos[key(shard[k-1])] > pos[key(e)] {
					t.Errorf("shard %d/%d is not in matrix order: %s", i, n, fmtKeys(shard))
				}
			}
			minLen, maxLen = min(minLen, len(shard)), max(maxLen, len(shard))
			minCost, maxCost = min(minCost, c), max(maxCost, c)
		}
		for _, e := range matrix {
			if seen[key(e)] != 1 {
				t.Errorf("n=%d: %s is in %d shards, want exactly 1", n, key(e), seen[key(e)])
			}
		}
		if len(seen) != len(matrix) {
			t.Errorf("n=%d: shards hold %d distinct entries, want %d", n, len(seen), len(matrix))
		}
		if maxLen-minLen > 1 {
			t.Errorf("n=%d: shard sizes from %d to %d, want within one", n, minLen, maxLen)
		}
		if maxCost-minCost > 1 {
			t.Errorf("n=%d: drills that start a cluster per shard from %d to %d, want within one", n, minCost, maxCost)
		}
	}
}

// TestShardSpreadsCost: the drills that do not apply are not all left
// to the last shards.
func TestShardSpreadsCost(t *testing.T) {
	runs := &drill.Scenario{Name: "runs"}
	na := &drill.Scenario{Name: "na", MaxMinor: 5} // not on 3.6
	v := []harness.Version{harness.MustVersion("3.6.16")}
	var list []*drill.Scenario
	for range 3 {
		list = append(list, na)
	}
	for range 3 {
		list = append(list, runs)
	}
	matrix := Matrix(list, v, false)
	for i := 1; i <= 3; i++ {
		shard, err := Shard(matrix, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(shard) != 2 || cost(shard[0])+cost(shard[1]) != 1 {
			t.Errorf("shard %d/3 = %s, want one drill that runs and one that does not apply", i, fmtKeys(shard))
		}
	}
}

func TestShardRefusesBadShards(t *testing.T) {
	matrix := Matrix(All(), []harness.Version{harness.MustVersion(harness.DefaultVersion)}, false)
	for _, in := range [][2]int{{0, 2}, {3, 2}, {-1, 2}, {1, 0}, {0, 0}, {1, -1}} {
		if _, err := Shard(matrix, in[0], in[1]); err == nil {
			t.Errorf("Shard(%d/%d): no error", in[0], in[1])
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("Shard(%d/%d): error spans lines: %q", in[0], in[1], err)
		}
	}
	if s, err := Shard(nil, 2, 3); err != nil || len(s) != 0 {
		t.Errorf("Shard(nil, 2/3) = %v, %v; want an empty shard", s, err)
	}
}

func fmtKeys(es []Entry) string {
	var ks []string
	for _, e := range es {
		ks = append(ks, key(e))
	}
	return strings.Join(ks, " ")
}
