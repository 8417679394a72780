package verify

import (
	"testing"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

func TestResolveIndeterminate(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 3000, indeterminate(put("k", 2, 0))). // seen by the watcher
		add(1, 30, 3000, indeterminate(put("k", 3, 0))). // seen by nobody
		add(2, 40, 3000, indeterminate(put("j", 4, 0))). // read back
		add(3, 3100, 3110, workload.Op{Kind: workload.OpGet, Key: "j", Found: true, Got: 4, ModRevision: 4, Revision: 4})
	sessions := []workload.WatchSession{{Watcher: 0, Prefix: "", From: 2, Cluster: c1, Start: h.at(-5),
		Events: []workload.WatchEvent{{Revision: 2, Key: "k", Value: 1}, {Revision: 3, Key: "k", Value: 2}, {Revision: 4, Key: "j", Value: 4}}}}

	ops, res := ResolveIndeterminate(h.ops, sessions, map[uint64]bool{c1: true})
	if res.Applied != 2 || res.NeverApplied != 1 || res.Unresolved != 0 {
		t.Fatalf("resolution %+v, want 2 applied, 1 never applied", res)
	}
	if len(ops) != 4 {
		t.Fatalf("%d ops, want the never-applied write left out of 5", len(ops))
	}
	for _, o := range ops {
		if o.Kind == workload.OpPut && o.Value == 2 && (o.Outcome != workload.Acknowledged || o.Revision != 3 || !o.Late) {
			t.Errorf("the watched write: %+v, want acknowledged late at revision 3", o)
		}
	}
	if c := CheckLinearizable(ops, LinearizableOptions{}); c.Check.Verdict != record.Pass {
		t.Fatalf("resolved history: %s", c.Check.Summary)
	}

	// Without watchers that delivered everything, an unseen write stays
	// indeterminate.
	_, res = ResolveIndeterminate(h.ops, sessions, nil)
	if res.NeverApplied != 0 || res.Unresolved != 1 {
		t.Fatalf("resolution %+v, want the unseen write unresolved", res)
	}
	// Nor when the watch began after the write was called.
	late := []workload.WatchSession{sessions[0]}
	late[0].Start = h.at(35)
	_, res = ResolveIndeterminate(h.ops, late, map[uint64]bool{c1: true})
	if res.NeverApplied != 0 {
		t.Fatalf("resolution %+v: a write called before the watch began cannot be ruled out", res)
	}
}

// A write resolved as applied must still fit the history: a read that
// saw the key before it and after it pins where it took effect.
func TestLateWriteMustStillLinearize(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 30, workload.Op{Kind: workload.OpPut, Key: "k", Value: 2, Revision: 5, Outcome: workload.Acknowledged, Cluster: c1, Late: true}).
		add(1, 40, 50, get("k", 2, 5)).
		add(1, 60, 70, get("k", 1, 2)) // the value before it: impossible once it was read
	if res := CheckLinearizable(h.ops, LinearizableOptions{}); res.Check.Verdict != record.Fail {
		t.Fatalf("%s", res.Check.Summary)
	}
}
