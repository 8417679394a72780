// Package fault holds every way a drill breaks a cluster. A fault acts on
// the members its Target picks, says before anything starts whether it
// can apply to a cluster (Available), records what it did as drill steps
// with the command an operator would type, and returns an Undo when the
// damage can be reversed.
package fault

import (
	"context"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Undo reverses a fault; nil means the fault cannot be undone.
type Undo func(ctx context.Context) error

// Env is what a fault may depend on to apply, known before any container
// starts.
type Env struct {
	Members int
	Version harness.Version
}

// Injection is what one injection did.
type Injection struct {
	// Victims are the members the fault acted on, in the order it acted.
	Victims []*harness.Member
	// Undo reverses the fault; nil when it cannot be undone.
	Undo Undo
	// At is when the outage began: once the damage was confirmed, so a
	// request that slipped in before is not counted as a recovery. Zero
	// for a fault that costs no availability by itself (a damaged file, a
	// member added by mistake).
	At time.Time
}

// Fault is one kind of failure.
type Fault interface {
	// Name is short and stable, for listings and labels: "kill-leader".
	Name() string
	// Target is what the fault acts on.
	Target() Target
	// Available says why the fault cannot apply to env, or nil.
	Available(env Env) error
	// Inject breaks c, recording each action in log.
	Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error)
}

// Needs is implemented by a fault that can only be injected into a
// cluster started with particular harness options: a partition or a link
// shaping needs a peer network apart from the client ports
// (harness.WithPeerNetwork). The drill engine starts the cluster with the
// options of every fault the drill declares.
type Needs interface {
	ClusterOptions() []harness.Option
}

// ClusterOptions are the harness options the faults need (see Needs).
func ClusterOptions(fs ...Fault) []harness.Option {
	var opts []harness.Option
	for _, f := range fs {
		if n, ok := f.(Needs); ok {
			opts = append(opts, n.ClusterOptions()...)
		}
	}
	return opts
}
