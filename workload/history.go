package workload

import (
	"slices"
	"sync"
	"time"
)

// OpKind is what one client operation asked of the cluster.
type OpKind string

// The operations a history holds, each on one key.
const (
	// OpGet is a linearizable get of one key.
	OpGet OpKind = "get"
	// OpPut is an unconditional put.
	OpPut OpKind = "put"
	// OpDel is a delete of one key.
	OpDel OpKind = "delete"
	// OpCAS is a Kubernetes-style update: a transaction that puts Value
	// when the key's mod revision equals Expect (0: the key must not
	// exist), and changes nothing otherwise.
	OpCAS OpKind = "cas"
)

// Op is one operation as its client saw it: when it was called, when it
// returned, and what the cluster answered. Values are recorded by their
// HashValue, so a history of millions of operations stays small.
type Op struct {
	// Client is the writer that made the operation; a client makes one
	// operation at a time.
	Client int    `json:"client"`
	Kind   OpKind `json:"kind"`
	Key    string `json:"key"`
	// Value is the HashValue of the value a put or CAS writes.
	Value uint64 `json:"value,omitempty"`
	// Expect is the mod revision a CAS compares against.
	Expect int64     `json:"expect,omitempty"`
	Call   time.Time `json:"call"`
	Return time.Time `json:"return"`
	// Outcome says what the client learned: Acknowledged with an answer,
	// Failed when the cluster surely refused it, Indeterminate when the
	// client gave up and it may or may not have taken effect.
	Outcome Outcome `json:"outcome"`

	// The answer of an acknowledged operation.

	// Revision is the header revision: for a write, the revision it
	// committed at.
	Revision int64 `json:"revision,omitempty"`
	// Cluster is the header's cluster ID; a restore makes a new one.
	Cluster uint64 `json:"cluster,omitempty"`
	// Found is, for a get, that the key exists; for a delete, that a key
	// was deleted; for a CAS, that the comparison held and the put was
	// applied.
	Found bool `json:"found,omitempty"`
	// Got is the HashValue of the value a get read.
	Got uint64 `json:"got,omitempty"`
	// ModRevision is the mod revision of the key a get read.
	ModRevision int64 `json:"mod_revision,omitempty"`
	// Late marks a write the client gave up on, later found applied (its
	// value was seen): the cluster may have applied it after Return.
	Late bool `json:"late,omitempty"`
}

// Write reports whether the operation can change the key.
func (o Op) Write() bool { return o.Kind != OpGet }

// History is the record of every operation of a workload, safe for
// concurrent use.
type History struct {
	mu  sync.Mutex
	ops []Op
}

// Record appends one operation.
func (h *History) Record(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Len is the number of operations recorded.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// Ops returns a copy of the operations ordered by call time.
func (h *History) Ops() []Op {
	h.mu.Lock()
	out := slices.Clone(h.ops)
	h.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Op) int { return a.Call.Compare(b.Call) })
	return out
}
