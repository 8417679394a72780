package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// WrongPeerURL follows seed 000's "membership mis-reconfiguration with
// wrong URLs": `member add` with a peer URL nobody can reach makes a
// fourth voter that never starts, so the quorum grows to 3 of 4 and one
// more failed member stops every write. The fix is `member remove` of the
// bad member, not --force-new-cluster. The same mistake made with
// `member add --learner` is harmless: learners do not vote.
var WrongPeerURL = register(&Scenario{
	Name:    "wrong-peer-url",
	Summary: "member add with an unreachable peer URL: one more failure stops writes; member remove fixes it; the same mistake as a learner keeps quorum",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "membership", "learner"},
	Members: 3,
	TLS:     true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"add a member whose peer URL nobody can reach", addWrongMember},
		{"writes continue; the new member stays unstarted", expectWrongUnstarted},
		{"one follower fails: 2 of 4 voters, writes are refused", killFollowerNoQuorum},
		{"restart the follower", restartVictims},
		{"writes resume", expectWritesResume},
		{"see whether the timed-out write was applied", readNoQuorumProbe},
		{"remove the member with the wrong peer URL", removeWrongMember},
		{"do not use --force-new-cluster", noForceNewCluster},
		{"add the same wrong member as a learner", addWrongLearner},
		{"one follower fails: 2 of 3 voters, writes are accepted", killFollowerWithLearner},
		{"restart the follower", restartVictims},
		{"remove the learner", removeWrongLearner},
		{"more writes are acknowledged", writeMore},
		{"stop the load", stopLoad},
		{"verify members and keys", verifyAll},
	},
})

// wrongName is the name the mistaken member is added under; its peer URL
// names a host that does not exist.
const wrongName = "m4"

type wrongState struct {
	ops     *harness.Member // the member the operator runs etcdctl on
	url     string          // the wrong peer URL
	addedAt time.Time       // when the wrong voter was added
}

func wrongPeer(d *Drill) *wrongState {
	st := State[wrongState](d)
	if st.ops == nil {
		st.ops = d.Cluster.Members()[0]
		st.url = harness.PeerURL(wrongName+"-wrong", d.Cluster.Config().TLS)
	}
	return st
}

func addWrongMember(ctx context.Context, d *Drill) error {
	st := wrongPeer(d)
	st.addedAt = time.Now()
	_, err := addMember(ctx, d, record.PhaseFault, "add "+wrongName+" with the wrong peer URL "+st.url, st.ops, wrongName, st.url, false)
	return err
}

// expectWrongUnstarted shows the damage: writes still succeed, but
// `member list` has a fourth voter that never started.
func expectWrongUnstarted(ctx context.Context, d *Drill) error {
	st := wrongPeer(d)
	if err := d.Log.Do(record.PhaseObserve, "writes are still acknowledged", "", func() (record.Action, error) {
		n, err := d.waitAcks(ctx, st.addedAt, 50)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged since %s was added: 3 of 4 voters are exactly a quorum", n, wrongName)}, err
	}); err != nil {
		return err
	}
	_, err := memberList(ctx, d, record.PhaseObserve, "member list shows "+wrongName+" unstarted", st.ops, func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByPeerURL(ms, st.url)
		if err != nil {
			return m, "", err
		}
		voters, started := recovery.Voters(ms)
		if m.Started() || m.IsLearner || voters != 4 || started != 3 {
			return m, "", fmt.Errorf("want %s an unstarted voter among 4 voters, 3 started; got name %q learner %v, %d voters, %d started", st.url, m.Name, m.IsLearner, voters, started)
		}
		return m, fmt.Sprintf("member %s (%s) is unstarted: %d voters, %d started, quorum %d: one more failure stops writes",
			recovery.HexID(m.ID), st.url, voters, started, voters/2+1), nil
	})
	return err
}

// killFollowerNoQuorum kills one follower: 2 of 4 voters are up, so a
// write on a survivor is refused. The outage (RTO) starts here.
func killFollowerNoQuorum(ctx context.Context, d *Drill) error {
	if err := killFollower(ctx, d); err != nil {
		return err
	}
	d.faultAt = time.Now()
	m := survivors(d)[0]
	var out string
	if err := d.Log.Refused(record.PhaseObserve, "a write on "+m.Name()+" is refused: 2 of 4 voters are no quorum", m.Name(), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "--command-timeout=5s", "put", noQuorumProbe, "refused")
		out = e.Output
		if err != nil {
			e.Output = "etcdctl gave up: without quorum the put is neither committed nor rejected, and may still be applied once quorum returns\n" + e.Output
		}
		return e, err
	}); err != nil {
		return err
	}
	if !recovery.NoQuorum(out) {
		return fmt.Errorf("the write on %s was refused for another reason than lost quorum: %q", m.Name(), out)
	}
	return nil
}

// noQuorumProbe is the key written while quorum is lost.
const noQuorumProbe = "/etcdrill-probe/wrong-peer-url/no-quorum"

// readNoQuorumProbe reads the key whose put timed out without quorum. It
// passes either way: etcd may have committed the proposal once quorum came
// back, which is why a timed-out write is indeterminate, not failed.
func readNoQuorumProbe(ctx context.Context, d *Drill) error {
	m := wrongPeer(d).ops
	return d.Log.Do(record.PhaseObserve, "read the key whose put timed out", m.Name(), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "get", noQuorumProbe, "--print-value-only")
		if err != nil {
			return e, err
		}
		note := "absent: the timed-out put was never committed"
		if strings.TrimSpace(e.Output) != "" {
			note = "present: the put that timed out was committed once quorum returned; a timeout is not a refusal"
		}
		e.Output = note + "\n" + e.Output
		return e, nil
	})
}

// killFollowerWithLearner kills one follower while the wrong member is a
// learner: 2 of 3 voters are a quorum, so a write on a survivor succeeds.
func killFollowerWithLearner(ctx context.Context, d *Drill) error {
	if err := killFollower(ctx, d); err != nil {
		return err
	}
	m := survivors(d)[0]
	return d.Log.Do(record.PhaseObserve, "a write on "+m.Name()+" is accepted: the learner does not vote", m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "--command-timeout=5s", "put", "/etcdrill-probe/wrong-peer-url/with-learner", "accepted")
	})
}

func killFollower(ctx context.Context, d *Drill) error {
	victims, undo, err := fault.Kill(fault.Follower()).Inject(ctx, d.Cluster, d.Log)
	d.victims, d.undo = victims, undo
	return err
}

// removeWrongMember finds the bad member by its peer URL (it has no name)
// and removes it.
func removeWrongMember(ctx context.Context, d *Drill) error {
	return removeWrong(ctx, d, false)
}

func removeWrongLearner(ctx context.Context, d *Drill) error {
	return removeWrong(ctx, d, true)
}

func removeWrong(ctx context.Context, d *Drill, learner bool) error {
	st := wrongPeer(d)
	what := "the unstarted member"
	if learner {
		what = "the unstarted learner"
	}
	m, err := memberList(ctx, d, record.PhaseRecovery, "find "+what+" with peer URL "+st.url, st.ops, func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByPeerURL(ms, st.url)
		if err == nil && m.IsLearner != learner {
			err = fmt.Errorf("member %s with peer URL %s: learner %v, want %v", recovery.HexID(m.ID), st.url, m.IsLearner, learner)
		}
		return m, fmt.Sprintf("%s is member %s", what, recovery.HexID(m.ID)), err
	})
	if err != nil {
		return err
	}
	return removeMember(ctx, d, st.ops, what, m.ID)
}

func addWrongLearner(ctx context.Context, d *Drill) error {
	st := wrongPeer(d)
	_, err := addMember(ctx, d, record.PhaseFault, "add "+wrongName+" as a learner with the same wrong peer URL", st.ops, wrongName, st.url, true)
	return err
}

// noForceNewCluster records the path not taken, and why.
func noForceNewCluster(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseRecovery, "--force-new-cluster was not used", "", func() (record.Action, error) {
		return record.Action{Output: "Not used, on purpose. `etcd --force-new-cluster` rewrites the membership to the one member it runs on, " +
			"keeping that member's data and discarding every other member's identity. The disaster-recovery guide (seed 000) " +
			"strongly discourages it: it panics if members of the previous cluster are still alive, every other member must be " +
			"wiped and added back, and writes the survivor had not applied are lost. Quorum was still available here, so " +
			"`member remove` of the bad member fixed the membership with no member or data lost; without quorum, restore from a snapshot instead."}, nil
	})
}
