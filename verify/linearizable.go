package verify

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// LinearizableTimeout bounds the search of one key's history in one
// epoch. A search that runs out of time proves nothing either way and is
// reported as such, never as a pass.
const LinearizableTimeout = 20 * time.Second

// KeyState is what a key holds: whether it exists, the HashValue of its
// value and its mod revision (0 when not known).
type KeyState struct {
	Exists      bool
	Value       uint64
	ModRevision int64
}

// LinearizableOptions tunes CheckLinearizable.
type LinearizableOptions struct {
	// Init gives, by cluster ID, the state of every key when a cluster
	// after the first began: the restored snapshot's contents, where a key
	// it does not list is absent. The keys of a cluster it has no map for
	// are learned from their first observation in that epoch.
	Init map[uint64]map[string]KeyState
	// Timeout bounds each key's search; LinearizableTimeout when zero.
	Timeout time.Duration
}

// Epoch is the part of a history one cluster answered. A restore starts
// a new logical cluster, and with it a new epoch: the keyspace legitimately
// rolls back to the snapshot, so each epoch is checked on its own.
type Epoch struct {
	Cluster uint64    `json:"cluster"`
	From    time.Time `json:"from"`
	Ops     int       `json:"ops"`
	// FromSnapshot says the epoch's keys started from the restored
	// snapshot's contents rather than from their first observation.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
}

// Linearizability is the result of CheckLinearizable.
type Linearizability struct {
	Check  record.Check
	Epochs []Epoch
	// Ops is the number of operations checked, Keys the number of
	// (epoch, key) histories they fell into.
	Ops, Keys int
	distinct  int // keys
	// Unknown counts histories whose search ran out of Timeout.
	Unknown int
	Timeout time.Duration
	bad     []badKey
}

type badKey struct {
	epoch int
	key   string
	model porcupine.Model
	info  porcupine.LinearizationInfo
	first string // the first operation that could not be placed
}

// Violations is the number of (epoch, key) histories that are not
// linearizable.
func (l Linearizability) Violations() int { return len(l.bad) }

// Visualize writes porcupine's HTML visualisation of the first history
// that is not linearizable; it writes nothing when there is none.
func (l Linearizability) Visualize(w io.Writer) error {
	if len(l.bad) == 0 {
		return nil
	}
	b := l.bad[0]
	return porcupine.Visualize(b.model, b.info, w)
}

// kvInput is an operation's request, kvOutput its answer: unknown for an
// operation whose outcome is indeterminate.
type kvInput struct {
	kind   workload.OpKind
	value  uint64
	expect int64
}

type kvOutput struct {
	unknown  bool
	found    bool
	got      uint64
	modRev   int64
	revision int64
}

// kvState is one key's state in the model. known is false until the
// epoch's first observation when the epoch began from a restore that did
// not say what the key held.
type kvState struct {
	known  bool
	exists bool
	value  uint64
	modRev int64 // 0: not known (after a put whose revision is unknown)
}

// stepKV is the model of one key in etcd: the states that op with answer
// out can lead to from s, none when the answer is impossible. An
// operation with an unknown answer may or may not have taken effect.
func stepKV(s kvState, in kvInput, out kvOutput) []kvState {
	switch in.kind {
	case workload.OpGet:
		if out.unknown {
			return []kvState{s}
		}
		got := kvState{known: true, exists: out.found, value: out.got, modRev: out.modRev}
		if !out.found {
			got.value, got.modRev = 0, 0
		}
		if !s.known {
			return []kvState{got}
		}
		if s.exists != out.found || s.exists && s.value != out.got {
			return nil
		}
		if s.exists && s.modRev != 0 && s.modRev != out.modRev {
			return nil
		}
		return []kvState{got}
	case workload.OpPut:
		put := kvState{known: true, exists: true, value: in.value}
		if out.unknown {
			return []kvState{s, put}
		}
		if s.known && s.modRev != 0 && out.revision <= s.modRev {
			return nil // a write must commit after the key's last change
		}
		put.modRev = out.revision
		return []kvState{put}
	case workload.OpDel:
		gone := kvState{known: true}
		if out.unknown {
			return []kvState{s, gone}
		}
		if s.known && s.exists != out.found {
			return nil
		}
		return []kvState{gone}
	case workload.OpCAS:
		// holds: whether the comparison can hold in s; held: whether it
		// can fail. An unknown state or revision allows both.
		holds, fails := true, true
		if s.known {
			switch {
			case in.expect == 0:
				holds, fails = !s.exists, s.exists
			case !s.exists:
				holds, fails = false, true
			case s.modRev != 0:
				holds, fails = s.modRev == in.expect, s.modRev != in.expect
			}
		}
		put := kvState{known: true, exists: true, value: in.value}
		if out.unknown {
			var next []kvState
			if fails {
				next = append(next, s)
			}
			if holds {
				next = append(next, put)
			}
			return next
		}
		if !out.found {
			if !fails {
				return nil
			}
			return []kvState{s}
		}
		if !holds || s.known && s.modRev != 0 && out.revision <= s.modRev {
			return nil
		}
		put.modRev = out.revision
		return []kvState{put}
	}
	return nil
}

func describeOp(in kvInput, out kvOutput) string {
	var req string
	switch in.kind {
	case workload.OpGet:
		req = "get"
	case workload.OpPut:
		req = "put " + shortHash(in.value)
	case workload.OpDel:
		req = "delete"
	case workload.OpCAS:
		req = fmt.Sprintf("put %s if mod_revision=%d", shortHash(in.value), in.expect)
	}
	switch {
	case out.unknown:
		return req + " → ? (indeterminate)"
	case in.kind == workload.OpGet && !out.found:
		return req + " → absent"
	case in.kind == workload.OpGet:
		return fmt.Sprintf("%s → %s@%d", req, shortHash(out.got), out.modRev)
	case in.kind == workload.OpDel:
		return fmt.Sprintf("%s → deleted=%t @%d", req, out.found, out.revision)
	case in.kind == workload.OpCAS && !out.found:
		return req + " → compare failed"
	}
	return fmt.Sprintf("%s → ok @%d", req, out.revision)
}

func describeState(s kvState) string {
	switch {
	case !s.known:
		return "not yet observed"
	case !s.exists:
		return "absent"
	case s.modRev == 0:
		return shortHash(s.value) + "@?"
	}
	return shortHash(s.value) + "@" + strconv.FormatInt(s.modRev, 10)
}

func shortHash(v uint64) string { return fmt.Sprintf("%08x", uint32(v>>32)) }

func kvModel(init kvState) porcupine.NondeterministicModel {
	return porcupine.NondeterministicModel{
		Init: func() []any { return []any{init} },
		Step: func(state, input, output any) []any {
			next := stepKV(state.(kvState), input.(kvInput), output.(kvOutput))
			out := make([]any, len(next))
			for i, s := range next {
				out[i] = s
			}
			return out
		},
		Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
		DescribeOperation: func(in, out any) string {
			return describeOp(in.(kvInput), out.(kvOutput))
		},
		DescribeState: func(s any) string { return describeState(s.(kvState)) },
	}
}

// CheckLinearizable checks a workload history for linearizability with
// porcupine, one key and one epoch at a time: etcd is linearizable per
// key, and a restore legitimately rolls the keyspace back, so each
// cluster's part of the history is checked from its own start. Failed
// operations changed nothing and are left out; an indeterminate write may
// have taken effect at any point after its call until its epoch ended; an
// indeterminate read says nothing and is left out.
func CheckLinearizable(ops []workload.Op, opts LinearizableOptions) Linearizability {
	if opts.Timeout == 0 {
		opts.Timeout = LinearizableTimeout
	}
	res := Linearizability{Timeout: opts.Timeout}
	epochOf, epochs, ends := assignEpochs(ops)
	res.Epochs = epochs

	type part struct {
		epoch int
		key   string
		ops   []porcupine.Operation
	}
	parts := map[[2]string]*part{}
	var order []*part
	clients := 0
	for _, o := range ops {
		clients = max(clients, o.Client+1)
	}
	lane := clients
	for i, o := range ops {
		if o.Outcome == workload.Failed || o.Outcome == workload.Indeterminate && !o.Write() {
			continue
		}
		e := epochOf[i]
		k := [2]string{strconv.Itoa(e), o.Key}
		p := parts[k]
		if p == nil {
			p = &part{epoch: e, key: o.Key}
			parts[k] = p
			order = append(order, p)
		}
		in := kvInput{kind: o.Kind, value: o.Value, expect: o.Expect}
		op := porcupine.Operation{ClientId: o.Client, Input: in, Call: o.Call.UnixNano(), Return: o.Return.UnixNano()}
		switch {
		case o.Outcome == workload.Indeterminate:
			// It may take effect until its epoch ends; it gets a lane
			// of its own, since it overlaps its client's next ones.
			op.Output = kvOutput{unknown: true}
			op.Return = max(ends[e], op.Call+1)
			op.ClientId = lane
			lane++
		case o.Late:
			// Found applied after the client gave up: its answer is
			// known, not when it took effect.
			op.Output = kvOutput{found: o.Found, revision: o.Revision}
			op.Return = max(ends[e], op.Call+1)
			op.ClientId = lane
			lane++
		default:
			op.Output = kvOutput{found: o.Found, got: o.Got, modRev: o.ModRevision, revision: o.Revision}
		}
		p.ops = append(p.ops, op)
		res.Ops++
		epochs[e].Ops++
	}
	res.Keys = len(order)
	distinct := map[string]bool{}
	for _, p := range order {
		distinct[p.key] = true
	}
	res.distinct = len(distinct)

	type verdict struct {
		result porcupine.CheckResult
		model  porcupine.Model
		info   porcupine.LinearizationInfo
	}
	verdicts := make([]verdict, len(order))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Go(func() {
			for i := range work {
				p := order[i]
				init := kvState{known: true}
				if p.epoch > 0 {
					init = kvState{}
					if keys, ok := opts.Init[epochs[p.epoch].Cluster]; ok {
						ks := keys[p.key]
						init = kvState{known: true, exists: ks.Exists, value: ks.Value, modRev: ks.ModRevision}
					}
				}
				nm := kvModel(init)
				m := nm.ToModel()
				r, info := porcupine.CheckOperationsVerbose(m, p.ops, opts.Timeout)
				verdicts[i] = verdict{r, m, info}
			}
		})
	}
	for i := range order {
		work <- i
	}
	close(work)
	wg.Wait()

	for i, v := range verdicts {
		p := order[i]
		switch v.result {
		case porcupine.Unknown:
			res.Unknown++
		case porcupine.Illegal:
			res.bad = append(res.bad, badKey{epoch: p.epoch, key: p.key, model: v.model, info: v.info,
				first: firstUnplaced(v.model, p.ops, v.info)})
		}
	}
	sort.SliceStable(res.bad, func(i, j int) bool { return res.bad[i].epoch < res.bad[j].epoch })
	for e := range res.Epochs {
		_, res.Epochs[e].FromSnapshot = opts.Init[res.Epochs[e].Cluster]
	}
	res.Check = linearizableCheck(res)
	return res
}

// assignEpochs gives every operation the index of the cluster that
// answered it: clusters are numbered in the order they first answered. An
// operation with no answer belongs to the latest cluster that had
// answered some operation before it was called. ends[e] is when epoch e
// ended: when the first operation the next cluster answered was called
// (math.MaxInt64 for the last).
func assignEpochs(ops []workload.Op) (epochOf []int, epochs []Epoch, ends []int64) {
	idx := map[uint64]int{}
	answered := make([]int, 0, len(ops))
	for i, o := range ops {
		if o.Outcome == workload.Acknowledged && o.Cluster != 0 {
			answered = append(answered, i)
		}
	}
	sort.SliceStable(answered, func(a, b int) bool { return ops[answered[a]].Return.Before(ops[answered[b]].Return) })
	for _, i := range answered {
		o := ops[i]
		if _, ok := idx[o.Cluster]; !ok {
			idx[o.Cluster] = len(epochs)
			epochs = append(epochs, Epoch{Cluster: o.Cluster, From: o.Call})
		}
	}
	if len(epochs) == 0 {
		epochs = []Epoch{{}}
	}
	for i := range epochs {
		epochs[i].From = time.Time{}
	}
	// Epoch e starts at the earliest call of an operation it answered.
	for _, i := range answered {
		o := ops[i]
		e := idx[o.Cluster]
		if epochs[e].From.IsZero() || o.Call.Before(epochs[e].From) {
			epochs[e].From = o.Call
		}
	}
	ends = make([]int64, len(epochs))
	for e := range epochs {
		ends[e] = math.MaxInt64
		if e+1 < len(epochs) {
			ends[e] = epochs[e+1].From.UnixNano()
		}
	}
	// The latest epoch known to have answered before each call: sweep
	// the answers in return order alongside the calls in call order.
	calls := make([]int, len(ops))
	for i := range calls {
		calls[i] = i
	}
	sort.SliceStable(calls, func(a, b int) bool { return ops[calls[a]].Call.Before(ops[calls[b]].Call) })
	epochOf = make([]int, len(ops))
	latest, j := 0, 0
	for _, i := range calls {
		for j < len(answered) && !ops[answered[j]].Return.After(ops[i].Call) {
			latest = max(latest, idx[ops[answered[j]].Cluster])
			j++
		}
		if e, ok := idx[ops[i].Cluster]; ok && ops[i].Outcome == workload.Acknowledged {
			epochOf[i] = e
		} else {
			epochOf[i] = latest
		}
	}
	return epochOf, epochs, ends
}

// firstUnplaced names the operation the longest partial linearization of
// a bad history could not go past: of the operations it left out, the one
// that returned first.
func firstUnplaced(m porcupine.Model, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	placed := map[[2]int64]bool{}
	for _, o := range longest {
		placed[[2]int64{o.Call, o.Return}] = true
	}
	var first *porcupine.Operation
	for i := range ops {
		o := &ops[i]
		if placed[[2]int64{o.Call, o.Return}] {
			continue
		}
		if first == nil || o.Return < first.Return {
			first = o
		}
	}
	if first == nil {
		return ""
	}
	return fmt.Sprintf("%s (client %d, called %s)", m.DescribeOperation(first.Input, first.Output), first.ClientId,
		time.Unix(0, first.Call).UTC().Format("15:04:05.000"))
}

func linearizableCheck(res Linearizability) record.Check {
	c := record.Check{Name: "linearizable", Verdict: record.Pass}
	var details []string
	for e, ep := range res.Epochs {
		if e == 0 {
			continue
		}
		from := "from their first observation in it"
		if ep.FromSnapshot {
			from = "from the snapshot's contents"
		}
		details = append(details, fmt.Sprintf("epoch %d began at %s with cluster %x: a restore rolled the keyspace back to its snapshot, so its keys were checked %s, not from epoch %d's",
			e+1, ep.From.UTC().Format("15:04:05.000"), ep.Cluster, from, e))
	}
	for i, b := range res.bad {
		if i == maxDetails {
			details = append(details, fmt.Sprintf("… and %d more keys", len(res.bad)-i))
			break
		}
		details = append(details, fmt.Sprintf("key %s (epoch %d): first operation that cannot be linearized: %s", b.key, b.epoch+1, b.first))
	}
	c.Details = details
	switch {
	case len(res.bad) > 0:
		c.Verdict = record.Fail
		c.Summary = fmt.Sprintf("%d of %d key histories are not linearizable; first: key %s: %s", len(res.bad), res.Keys, res.bad[0].key, res.bad[0].first)
	case res.Unknown > 0:
		c.Verdict = record.Fail
		c.Summary = fmt.Sprintf("the search of %d of %d key histories ran out of time (%s each): linearizability not shown", res.Unknown, res.Keys, res.Timeout)
	default:
		c.Summary = fmt.Sprintf("%d operations on %d keys are linearizable", res.Ops, res.distinct)
		if len(res.Epochs) > 1 {
			c.Summary += fmt.Sprintf(", each cluster's part on its own (%d clusters: a restore began a new epoch)", len(res.Epochs))
		}
	}
	return c
}
