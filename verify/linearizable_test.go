package verify

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// hist builds histories by hand: each op takes [call, ret] in
// milliseconds from a fixed base.
type hist struct {
	base time.Time
	ops  []workload.Op
}

func newHist() *hist { return &hist{base: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (h *hist) at(ms int) time.Time { return h.base.Add(time.Duration(ms) * time.Millisecond) }

func (h *hist) add(client int, call, ret int, op workload.Op) *hist {
	op.Client, op.Call, op.Return = client, h.at(call), h.at(ret)
	if op.Outcome == "" {
		op.Outcome = workload.Acknowledged
	}
	if op.Outcome == workload.Acknowledged && op.Cluster == 0 {
		op.Cluster = 0xc1
	}
	h.ops = append(h.ops, op)
	return h
}

func put(key string, v uint64, rev int64) workload.Op {
	return workload.Op{Kind: workload.OpPut, Key: key, Value: v, Revision: rev}
}

func get(key string, v uint64, mod int64) workload.Op {
	return workload.Op{Kind: workload.OpGet, Key: key, Found: true, Got: v, ModRevision: mod, Revision: mod}
}

func absent(key string, rev int64) workload.Op {
	return workload.Op{Kind: workload.OpGet, Key: key, Revision: rev}
}

func indeterminate(op workload.Op) workload.Op {
	op.Outcome, op.Revision, op.Cluster = workload.Indeterminate, 0, 0
	return op
}

func checkLin(t *testing.T, h *hist, opts LinearizableOptions) Linearizability {
	t.Helper()
	sort.SliceStable(h.ops, func(i, j int) bool { return h.ops[i].Call.Before(h.ops[j].Call) })
	return CheckLinearizable(h.ops, opts)
}

func TestLinearizableHistoryPasses(t *testing.T) {
	h := newHist().
		add(0, 0, 10, absent("a", 1)).
		add(0, 20, 30, put("a", 1, 2)).
		add(1, 25, 40, get("a", 1, 2)).
		add(0, 50, 60, workload.Op{Kind: workload.OpCAS, Key: "a", Value: 2, Expect: 2, Found: true, Revision: 3}).
		add(1, 55, 70, workload.Op{Kind: workload.OpCAS, Key: "a", Value: 3, Expect: 2}). // compare failed
		add(0, 80, 90, get("a", 2, 3)).
		add(1, 80, 95, workload.Op{Kind: workload.OpDel, Key: "a", Found: true, Revision: 4}).
		add(0, 100, 110, absent("a", 4)).
		add(2, 0, 5, workload.Op{Kind: workload.OpPut, Key: "b", Value: 9, Outcome: workload.Failed})
	res := checkLin(t, h, LinearizableOptions{})
	if res.Check.Verdict != record.Pass {
		t.Fatalf("verdict %s: %s %v", res.Check.Verdict, res.Check.Summary, res.Check.Details)
	}
	if res.Ops != 8 || res.Keys != 1 {
		t.Errorf("ops %d keys %d, want 8 ops (the failed put left out) on 1 key", res.Ops, res.Keys)
	}
}

// The planted defect: a read that returns a value overwritten by a write
// acknowledged before the read was called.
func TestStaleReadIsNotLinearizable(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 30, put("k", 2, 3)).
		add(1, 40, 50, get("k", 1, 2))
	res := checkLin(t, h, LinearizableOptions{})
	if res.Check.Verdict != record.Fail || res.Violations() != 1 {
		t.Fatalf("stale read not caught: %s %s", res.Check.Verdict, res.Check.Summary)
	}
	if !strings.Contains(res.Check.Summary, "key k") || !strings.Contains(res.Check.Summary, "get →") {
		t.Errorf("summary should name the key and the stale get: %s", res.Check.Summary)
	}
	var buf bytes.Buffer
	if err := res.Visualize(&buf); err != nil || !strings.Contains(buf.String(), "<html") {
		t.Errorf("visualisation: err %v, %d bytes", err, buf.Len())
	}
}

// The planted defect: an acknowledged write that a later read does not
// see.
func TestLostAcknowledgedWriteIsNotLinearizable(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(1, 20, 30, absent("k", 5))
	if res := checkLin(t, h, LinearizableOptions{}); res.Check.Verdict != record.Fail {
		t.Fatalf("lost write not caught: %s", res.Check.Summary)
	}
}

func TestIndeterminateWriteMayOrMayNotApply(t *testing.T) {
	seen := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 1000, indeterminate(put("k", 2, 0))).
		add(1, 30, 40, get("k", 1, 2)). // not applied yet
		add(1, 50, 60, get("k", 2, 3))  // applied now
	if res := checkLin(t, seen, LinearizableOptions{}); res.Check.Verdict != record.Pass {
		t.Fatalf("an indeterminate write applied late must pass: %s", res.Check.Summary)
	}
	never := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 1000, indeterminate(put("k", 2, 0))).
		add(1, 2000, 2010, get("k", 1, 2))
	if res := checkLin(t, never, LinearizableOptions{}); res.Check.Verdict != record.Pass {
		t.Fatalf("an indeterminate write never applied must pass: %s", res.Check.Summary)
	}
	flapping := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 1000, indeterminate(put("k", 2, 0))).
		add(1, 30, 40, get("k", 2, 3)).
		add(1, 50, 60, get("k", 1, 2)) // it cannot be undone
	if res := checkLin(t, flapping, LinearizableOptions{}); res.Check.Verdict != record.Fail {
		t.Fatalf("a write seen and then unseen must fail: %s", res.Check.Summary)
	}
}

func TestCASMustMatchTheModRevision(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("k", 1, 2)).
		add(0, 20, 30, workload.Op{Kind: workload.OpCAS, Key: "k", Value: 2, Expect: 7, Found: true, Revision: 3})
	if res := checkLin(t, h, LinearizableOptions{}); res.Check.Verdict != record.Fail {
		t.Fatalf("a CAS that succeeded against the wrong revision must fail: %s", res.Check.Summary)
	}
}

// A restore rolls the keyspace back: the new cluster's answers are
// checked from the restored state, not as a continuation.
func TestRestoreStartsANewEpoch(t *testing.T) {
	restored := func() *hist {
		return newHist().
			add(0, 0, 10, put("k", 1, 2)).
			add(0, 20, 30, put("k", 2, 3)).
			add(1, 1000, 1010, workload.Op{Kind: workload.OpGet, Key: "k", Found: true, Got: 1, ModRevision: 2, Revision: 2, Cluster: 0xc2})
	}
	res := checkLin(t, restored(), LinearizableOptions{})
	if res.Check.Verdict != record.Pass || len(res.Epochs) != 2 {
		t.Fatalf("a rollback across a restore must pass as a new epoch: %s, %d epochs", res.Check.Summary, len(res.Epochs))
	}
	if !strings.Contains(strings.Join(res.Check.Details, "\n"), "restore rolled the keyspace back") {
		t.Errorf("the report must say the restore began a new epoch: %v", res.Check.Details)
	}
	// With the snapshot's contents known, a read that does not match
	// them is a violation.
	init := map[uint64]map[string]KeyState{0xc2: {"k": {Exists: true, Value: 2, ModRevision: 3}}}
	if res := checkLin(t, restored(), LinearizableOptions{Init: init}); res.Check.Verdict != record.Fail {
		t.Fatalf("a read not matching the restored state must fail: %s", res.Check.Summary)
	}
	// A key the snapshot does not hold is absent in the restored cluster.
	gone := map[uint64]map[string]KeyState{0xc2: {}}
	if res := checkLin(t, restored(), LinearizableOptions{Init: gone}); res.Check.Verdict != record.Fail {
		t.Fatalf("a key read back that the snapshot does not hold must fail: %s", res.Check.Summary)
	}
	matching := map[uint64]map[string]KeyState{0xc2: {"k": {Exists: true, Value: 1}}}
	res = checkLin(t, restored(), LinearizableOptions{Init: matching})
	if res.Check.Verdict != record.Pass || !strings.Contains(strings.Join(res.Check.Details, "\n"), "from the snapshot's contents") {
		t.Fatalf("a read matching the snapshot must pass and say so: %s %v", res.Check.Summary, res.Check.Details)
	}
}

func TestAssignEpochs(t *testing.T) {
	h := newHist().
		add(0, 0, 10, put("a", 1, 2)).
		add(1, 5, 900, indeterminate(put("a", 2, 0))). // called in epoch 1
		add(0, 1000, 1010, workload.Op{Kind: workload.OpPut, Key: "a", Value: 3, Revision: 2, Cluster: 0xc2}).
		add(1, 1020, 1030, indeterminate(put("a", 4, 0))) // called after epoch 2 answered
	sort.SliceStable(h.ops, func(i, j int) bool { return h.ops[i].Call.Before(h.ops[j].Call) })
	of, epochs, ends := assignEpochs(h.ops)
	if want := []int{0, 0, 1, 1}; len(of) != 4 || of[0] != want[0] || of[1] != want[1] || of[2] != want[2] || of[3] != want[3] {
		t.Fatalf("epochs %v, want %v", of, want)
	}
	if len(epochs) != 2 || epochs[1].Cluster != 0xc2 || ends[0] != h.at(1000).UnixNano() {
		t.Fatalf("epochs %+v ends %v", epochs, ends)
	}
}

// simulate makes a linearizable history: clients call operations on a
// few hot keys one after another, each taking effect at a random instant
// between its call and its return; a few are indeterminate.
func simulate(seed uint64, clients, keys int, d time.Duration, rate float64) []workload.Op {
	r := rand.New(rand.NewPCG(seed, 1))
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	type pending struct {
		op workload.Op
		at time.Time
	}
	var ps []pending
	gap := time.Duration(float64(time.Second) * float64(clients) / rate)
	for c := range clients {
		t := base.Add(time.Duration(r.Int64N(int64(gap))))
		for t.Before(base.Add(d)) {
			lat := time.Duration(1+r.Int64N(20)) * time.Millisecond
			op := workload.Op{Client: c, Key: "hot/" + string(rune('a'+r.IntN(keys))), Call: t, Return: t.Add(lat)}
			switch n := r.IntN(10); {
			case n < 4:
				op.Kind = workload.OpGet
			case n < 7:
				op.Kind, op.Value = workload.OpPut, r.Uint64()
			case n < 8:
				op.Kind = workload.OpDel
			default:
				op.Kind, op.Value = workload.OpCAS, r.Uint64()
			}
			ps = append(ps, pending{op, t.Add(time.Duration(r.Int64N(int64(lat))))})
			t = t.Add(lat + gap)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].at.Before(ps[j].at) })
	type kv struct {
		v   uint64
		mod int64
	}
	state := map[string]kv{}
	rev := int64(1)
	ops := make([]workload.Op, 0, len(ps))
	for _, p := range ps {
		o := p.op
		cur, exists := state[o.Key]
		if o.Kind == workload.OpCAS {
			if r.IntN(2) == 0 && exists {
				o.Expect = cur.mod
			} else {
				o.Expect = int64(r.IntN(int(rev) + 1))
			}
		}
		lost := o.Write() && r.IntN(200) == 0 // the client gives up
		applied := true
		if lost {
			applied = r.IntN(2) == 0
		}
		o.Outcome, o.Cluster = workload.Acknowledged, 0xc1
		switch o.Kind {
		case workload.OpGet:
			o.Found, o.Got, o.ModRevision, o.Revision = exists, cur.v, cur.mod, rev
		case workload.OpPut:
			if applied {
				rev++
				state[o.Key] = kv{o.Value, rev}
			}
			o.Revision = rev
		case workload.OpDel:
			o.Found = exists
			if exists && applied {
				rev++
				delete(state, o.Key)
			}
			o.Revision = rev
		case workload.OpCAS:
			ok := o.Expect == 0 && !exists || exists && cur.mod == o.Expect
			o.Found = ok
			if ok && applied {
				rev++
				state[o.Key] = kv{o.Value, rev}
			}
			o.Revision = rev
		}
		if lost {
			o = indeterminate(o)
		}
		ops = append(ops, o)
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call.Before(ops[j].Call) })
	return ops
}

func TestSimulatedHistoryIsLinearizable(t *testing.T) {
	ops := simulate(1, 8, 4, 20*time.Second, 100)
	res := CheckLinearizable(ops, LinearizableOptions{})
	if res.Check.Verdict != record.Pass {
		t.Fatalf("%s %v", res.Check.Summary, res.Check.Details)
	}
}

// BenchmarkLinearizable checks the history of a 10-minute chaos run at 100
// operations a second (issue 11's target: ≤ 10 s and ≤ 500 MiB).
func BenchmarkLinearizable(b *testing.B) {
	ops := simulate(7, 8, 16, 10*time.Minute, 100)
	for b.Loop() {
		res := CheckLinearizable(ops, LinearizableOptions{})
		if res.Check.Verdict != record.Pass {
			b.Fatalf("%s", res.Check.Summary)
		}
	}
	b.ReportMetric(float64(len(ops)), "ops")
}
