package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
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
var WrongPeerURL = register(&drill.Scenario{
	Name:    "wrong-peer-url",
	Summary: "member add with an unreachable peer URL: one more failure stops writes; member remove fixes it; the same mistake as a learner keeps quorum",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "membership", "learner"},
	Members: 3,
	TLS:     true,
	// With 3 voters plus the mistaken one, one more lost member costs
	// quorum; with 5 it would not, so the drill runs on 3 exactly.
	MinMembers: 3,
	MaxMembers: 3,
	Also:       []fault.Fault{fault.AddWrongPeer(wrongName, false), fault.Kill(fault.Follower()), fault.AddWrongPeer(wrongName, true)},
	Prepare:    []drill.Step{{Title: "add a member whose peer URL nobody can reach", Do: addWrongMember}},
	Observe: []drill.Step{
		{Title: "writes continue; the new member stays unstarted", Do: expectWrongUnstarted},
		{Title: "one follower fails: 2 of 4 voters, writes are refused", Do: killFollowerNoQuorum},
	},
	Recover: []drill.Step{
		{Title: "restart the follower", Do: drill.RestartVictims},
		{Title: "writes resume", Do: drill.ExpectWritesResume},
		{Title: "see whether the timed-out write was applied", Do: readNoQuorumProbe},
		{Title: "remove the member with the wrong peer URL", Do: removeWrongMember},
		{Title: "do not use --force-new-cluster", Do: noForceNewCluster},
		{Title: "add the same wrong member as a learner", Do: addWrongLearner},
		{Title: "one follower fails: 2 of 3 voters, writes are accepted", Do: killFollowerWithLearner},
		{Title: "restart the follower", Do: drill.RestartVictims},
		{Title: "remove the learner", Do: removeWrongLearner},
		{Title: "more writes are acknowledged", Do: drill.WriteMore},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify members and keys", Do: drill.VerifyAll}},
})

// wrongName is the name the mistaken member is added under; its peer URL
// names a host that does not exist.
const wrongName = "m4"

// noQuorumProbe is the key written while quorum is lost.
const noQuorumProbe = "/etcdrill-probe/wrong-peer-url/no-quorum"

type wrongState struct {
	voter   *fault.WrongPeer // the mistaken voter, then
	learner *fault.WrongPeer // the same mistake as a learner
	addedAt time.Time        // when the wrong voter was added
}

// opsMember is the member the operator runs etcdctl on: the one the
// mistaken member was added through.
func opsMember(d *drill.Drill) *harness.Member { return d.Cluster.Members()[0] }

func addWrongMember(ctx context.Context, d *drill.Drill) error {
	st := drill.State[wrongState](d)
	st.voter, st.addedAt = fault.AddWrongPeer(wrongName, false), time.Now()
	return drill.Inject(st.voter).Do(ctx, d)
}

// expectWrongUnstarted shows the damage: writes still succeed, but
// `member list` has a fourth voter that never started.
func expectWrongUnstarted(ctx context.Context, d *drill.Drill) error {
	st := drill.State[wrongState](d)
	if err := d.Log.Do(record.PhaseObserve, "writes are still acknowledged", "", func() (record.Action, error) {
		n, err := d.WaitAcks(ctx, st.addedAt, 50)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged since %s was added: 3 of 4 voters are exactly a quorum", n, wrongName)}, err
	}); err != nil {
		return err
	}
	url := st.voter.URL
	_, err := recovery.ListMembers(ctx, d.Log, record.PhaseObserve, "member list shows "+wrongName+" unstarted", opsMember(d), func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByPeerURL(ms, url)
		if err != nil {
			return m, "", err
		}
		voters, started := recovery.Voters(ms)
		if m.Started() || m.IsLearner || voters != 4 || started != 3 {
			return m, "", fmt.Errorf("want %s an unstarted voter among 4 voters, 3 started; got name %q learner %v, %d voters, %d started", url, m.Name, m.IsLearner, voters, started)
		}
		return m, fmt.Sprintf("member %s (%s) is unstarted: %d voters, %d started, quorum %d: one more failure stops writes",
			recovery.HexID(m.ID), url, voters, started, voters/2+1), nil
	})
	return err
}

// killFollowerNoQuorum kills one follower: 2 of 4 voters are up, so a
// write on a survivor is refused for want of quorum. The outage (RTO)
// starts here.
func killFollowerNoQuorum(ctx context.Context, d *drill.Drill) error {
	if err := drill.Inject(fault.Kill(fault.Follower())).Do(ctx, d); err != nil {
		return err
	}
	m := drill.Survivors(d)[0]
	_, err := d.Log.Refused(record.PhaseObserve, "a write on "+m.Name()+" is refused: 2 of 4 voters are no quorum", m.Name(), recovery.NoQuorum(d.Config.Version), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "--command-timeout="+recovery.RefusalTimeout.String(), "put", noQuorumProbe, "refused")
		if err != nil {
			e.Output = "etcdctl gave up: without quorum the put is neither committed nor rejected, and may still be applied once quorum returns\n" + e.Output
		}
		return e, err
	})
	return err
}

// readNoQuorumProbe reads the key whose put timed out without quorum. It
// passes either way: etcd may have committed the proposal once quorum came
// back, which is why a timed-out write is indeterminate, not failed.
func readNoQuorumProbe(ctx context.Context, d *drill.Drill) error {
	m := opsMember(d)
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
func killFollowerWithLearner(ctx context.Context, d *drill.Drill) error {
	if err := drill.Inject(fault.Kill(fault.Follower())).Do(ctx, d); err != nil {
		return err
	}
	m := drill.Survivors(d)[0]
	return d.Log.Do(record.PhaseObserve, "a write on "+m.Name()+" is accepted: the learner does not vote", m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "--command-timeout=5s", "put", "/etcdrill-probe/wrong-peer-url/with-learner", "accepted")
	})
}

func addWrongLearner(ctx context.Context, d *drill.Drill) error {
	st := drill.State[wrongState](d)
	st.learner = fault.AddWrongPeer(wrongName, true)
	return drill.Inject(st.learner).Do(ctx, d)
}

func removeWrongMember(ctx context.Context, d *drill.Drill) error {
	return removeWrong(ctx, d, drill.State[wrongState](d).voter, "the unstarted member")
}

func removeWrongLearner(ctx context.Context, d *drill.Drill) error {
	return removeWrong(ctx, d, drill.State[wrongState](d).learner, "the unstarted learner")
}

// removeWrong finds the bad member by its peer URL (it has no name) and
// removes it.
func removeWrong(ctx context.Context, d *drill.Drill, w *fault.WrongPeer, what string) error {
	m, err := recovery.ListMembers(ctx, d.Log, record.PhaseRecovery, "find "+what+" with peer URL "+w.URL, opsMember(d), func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByPeerURL(ms, w.URL)
		if err == nil && m.IsLearner != w.Learner {
			err = fmt.Errorf("member %s with peer URL %s: learner %v, want %v", recovery.HexID(m.ID), w.URL, m.IsLearner, w.Learner)
		}
		return m, fmt.Sprintf("%s is member %s", what, recovery.HexID(m.ID)), err
	})
	if err != nil {
		return err
	}
	return recovery.RemoveMember(ctx, d.Log, d.Cluster, opsMember(d), what, m.ID)
}

// noForceNewCluster records the path not taken, and why.
func noForceNewCluster(ctx context.Context, d *drill.Drill) error {
	return d.Log.Do(record.PhaseRecovery, "--force-new-cluster was not used", "", func() (record.Action, error) {
		return record.Action{Output: "Not used, on purpose. `etcd --force-new-cluster` rewrites the membership to the one member it runs on, " +
			"keeping that member's data and discarding every other member's identity. The disaster-recovery guide (seed 000) " +
			"strongly discourages it: it panics if members of the previous cluster are still alive, every other member must be " +
			"wiped and added back, and writes the survivor had not applied are lost. Quorum was still available here, so " +
			"`member remove` of the bad member fixed the membership with no member or data lost; without quorum, restore from a snapshot instead."}, nil
	})
}
