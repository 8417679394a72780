package fault

import (
	"context"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// WrongPeer is seed 000's "membership mis-reconfiguration with wrong
// URLs": `member add` of a member whose peer URL nobody can reach, run on
// the first member. As a voter it raises the quorum without ever
// starting; as a learner it is harmless. There is no Undo: the fix is
// `member remove`, a recovery procedure.
type WrongPeer struct {
	// Member is the name the member is added under.
	Member string
	// Learner adds it with --learner.
	Learner bool
	// URL is the unreachable peer URL, set by Inject.
	URL string
	// Added is what `member add` printed.
	Added recovery.Added
}

// AddWrongPeer adds a voter (or a learner) called name with a peer URL
// naming a host that does not exist.
func AddWrongPeer(name string, learner bool) *WrongPeer {
	return &WrongPeer{Member: name, Learner: learner}
}

func (w *WrongPeer) Name() string {
	if w.Learner {
		return "add-unreachable-learner"
	}
	return "add-unreachable-member"
}

func (w *WrongPeer) Target() Target { return Nothing("membership") }

// Available needs nothing: a member can be added to any cluster.
func (w *WrongPeer) Available(Env) error { return nil }

// Inject runs `member add` on the first member; the cluster keeps
// serving, so the outage does not begin here.
func (w *WrongPeer) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	w.URL = harness.PeerURL(w.Member+"-wrong", c.Config().TLS)
	title := "add " + w.Member + " with the wrong peer URL " + w.URL
	if w.Learner {
		title = "add " + w.Member + " as a learner with the same wrong peer URL"
	}
	var err error
	w.Added, err = recovery.AddMember(ctx, log, record.PhaseFault, title, c, c.Members()[0], w.Member, w.URL, w.Learner)
	return Injection{}, err
}
