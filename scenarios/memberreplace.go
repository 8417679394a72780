package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// MemberReplace follows seeds 002 and 004 ("one member lost for good"): a
// follower loses its data dir under load; the cluster keeps quorum and
// keeps taking writes while the lost member shows unhealthy. The operator
// removes it by ID, adds it back under its name, and starts it with an
// empty data dir and --initial-cluster-state=existing; it rejoins with a
// new member ID and the full keyspace.
var MemberReplace = register(memberReplace(false))

// MemberReplaceLearner is member-replace the safer way (seed 002's
// procedure with the learner step etcd recommends since 3.4): the lost
// member is added back with `member add --learner`, so it does not count
// toward quorum while its empty data dir catches up, and is promoted with
// `member promote` once etcd says it is in sync.
var MemberReplaceLearner = register(memberReplace(true))

// memberReplace declares the drill, as a voter or as a learner first.
func memberReplace(learner bool) *drill.Scenario {
	s := &drill.Scenario{
		Name:         "member-replace",
		Summary:      "a follower loses its data dir; member remove, member add, start it empty with --initial-cluster-state=existing; it rejoins with a new ID",
		Seeds:        []string{"002", "004"},
		Labels:       []string{"fault", "membership"},
		Members:      3,
		TLS:          true,
		AlsoWithAuth: true,
		Fault:        fault.Destroy(fault.Follower()),
		Observe: []drill.Step{
			{Title: "writes continue on the two survivors", Do: expectWritesContinue},
			{Title: "endpoint health reports the lost member unhealthy", Do: expectLostUnhealthy},
		},
		Recover: []drill.Step{
			{Title: "find the lost member's ID", Do: findLostMember},
			{Title: "remove the lost member from the cluster", Do: removeLostMember},
			{Title: "add the member back under its name", Do: addLostMember(false)},
			{Title: "start it with an empty data dir, joining the existing cluster", Do: startReplacement},
		},
		Verify: []drill.Step{{Title: "verify members, keys and the new member ID", Do: verifyReplaced}},
		// With an operator's runbook: note the lost member's ID first
		// (the new-member-id check compares with it).
		RunbookBefore: []drill.Step{{Title: "find the lost member's ID", Do: findLostMember}},
		RunbookAfter: []drill.Step{
			{Title: "the replaced member takes writes", Do: drill.WriteMore},
			{Title: "stop the load", Do: drill.StopLoad}},
	}
	if learner {
		s.Name, s.AlsoWithAuth = "member-replace-learner", false
		s.Summary = "a follower loses its data dir; member remove, member add --learner, start it empty, member promote once in sync; it rejoins with a new ID"
		s.Labels = append(s.Labels, "learner")
		s.Recover[2] = drill.Step{Title: "add the member back as a learner", Do: addLostMember(true)}
		s.Recover = append(s.Recover, drill.Step{Title: "promote the learner once it is in sync", Do: promoteLearner})
	}
	s.Recover = append(s.Recover,
		drill.Step{Title: "wait until every member is healthy", Do: waitReplaced},
		drill.Step{Title: "the replaced member takes writes", Do: drill.WriteMore},
		drill.Step{Title: "stop the load", Do: drill.StopLoad})
	return s
}

// replaceState is what the member-replace drills learn as they go.
type replaceState struct {
	oldID uint64         // the lost member's ID before it was removed
	added recovery.Added // what `member add` printed
}

// lostAndOps are the follower that lost its data dir and a healthy
// member the operator runs etcdctl on.
func lostAndOps(d *drill.Drill) (lost, ops *harness.Member) {
	return drill.State[drill.Outage](d).Victims[0], drill.Survivors(d)[0]
}

// expectWritesContinue waits for writes that started after the fault: a
// lost follower costs no availability, so the RTO is the first of them.
func expectWritesContinue(ctx context.Context, d *drill.Drill) error {
	lost, _ := lostAndOps(d)
	at := drill.State[drill.Outage](d).FaultAt
	return d.Log.Do(record.PhaseObserve, "writes are still acknowledged without "+lost.Name(), "", func() (record.Action, error) {
		n, err := d.WaitAcks(ctx, at, 50)
		if err != nil {
			return record.Action{}, err
		}
		t, _ := d.Ledger.FirstAckAfter(at)
		d.Recovered(t)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged since %s was lost, the first %s after the fault: 2 of 3 members are a quorum",
			n, lost.Name(), t.Sub(at).Round(time.Millisecond))}, nil
	})
}

// expectLostUnhealthy runs `endpoint health` over every member: etcdctl
// exits non-zero because the lost member does not answer. The output must
// name the lost member, and only it, as unhealthy.
func expectLostUnhealthy(ctx context.Context, d *drill.Drill) error {
	lost, ops := lostAndOps(d)
	c := d.Cluster
	var out string
	if _, err := d.Log.Refused(record.PhaseObserve, "endpoint health reports "+lost.Name()+" unhealthy", ops.Name(), recovery.Unreachable(), func() (record.Action, error) {
		e, err := ops.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "--command-timeout="+recovery.RefusalTimeout.String(), "endpoint", "health")...)
		out = e.Output
		return e, err
	}); err != nil {
		return err
	}
	return recovery.OnlyUnhealthy(out, lost.ClientURL(), len(c.ClientURLs()))
}

// findLostMember reads `member list -w json` on a healthy member and
// takes the lost member's ID by its name.
func findLostMember(ctx context.Context, d *drill.Drill) error {
	lost, ops := lostAndOps(d)
	m, err := recovery.ListMembers(ctx, d.Log, record.PhaseRecovery, "find "+lost.Name()+"'s member ID", ops, func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByName(ms, lost.Name())
		return m, fmt.Sprintf("%s is member %s", lost.Name(), recovery.HexID(m.ID)), err
	})
	drill.State[replaceState](d).oldID = m.ID
	return err
}

func removeLostMember(ctx context.Context, d *drill.Drill) error {
	lost, ops := lostAndOps(d)
	return recovery.RemoveMember(ctx, d.Log, d.Cluster, ops, lost.Name(), drill.State[replaceState](d).oldID)
}

// addLostMember runs `member add`, with --learner when learner is set.
func addLostMember(learner bool) func(ctx context.Context, d *drill.Drill) error {
	return func(ctx context.Context, d *drill.Drill) error { return addBack(ctx, d, learner) }
}

func addBack(ctx context.Context, d *drill.Drill, learner bool) error {
	lost, ops := lostAndOps(d)
	title := "add " + lost.Name() + " back"
	if learner {
		title += " as a learner"
	}
	a, err := recovery.AddMember(ctx, d.Log, record.PhaseRecovery, title, d.Cluster, ops, lost.Name(), lost.PeerURL(), learner)
	drill.State[replaceState](d).added = a
	return err
}

// startReplacement creates the lost member again with an empty data dir
// and the ETCD_INITIAL_CLUSTER that `member add` printed, and starts it
// with --initial-cluster-state=existing.
func startReplacement(ctx context.Context, d *drill.Drill) error {
	st := drill.State[replaceState](d)
	m, _ := lostAndOps(d)
	if st.added.Name != m.Name() {
		return fmt.Errorf("member add printed ETCD_NAME %q for member %s", st.added.Name, m.Name())
	}
	spec := d.Cluster.Spec(m.Name(), st.added.InitialCluster, "existing")
	return recovery.StartMember(ctx, d.Log, d.Cluster, m, spec, "start etcd on "+m.Name()+" with an empty data dir (the old one was lost)")
}

func promoteLearner(ctx context.Context, d *drill.Drill) error {
	lost, ops := lostAndOps(d)
	return recovery.PromoteLearner(ctx, d.Log, d.Cluster, ops, lost.Name(), drill.State[replaceState](d).added.ID)
}

func waitReplaced(ctx context.Context, d *drill.Drill) error {
	_, ops := lostAndOps(d)
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, ops)
}

// verifyReplaced checks the replaced member came back under a new ID,
// then runs every member and key check.
func verifyReplaced(ctx context.Context, d *drill.Drill) error {
	return drill.VerifyWith(ctx, d, newMemberIDCheck(ctx, d))
}

// newMemberIDCheck is the new-member-id check of the member the last fault
// took: it must be back under another ID than the one it had.
func newMemberIDCheck(ctx context.Context, d *drill.Drill) record.Check {
	lost, _ := lostAndOps(d)
	cli, err := d.Cluster.Client()
	if err != nil {
		return record.Check{Name: "new-member-id", Verdict: record.Fail, Summary: err.Error()}
	}
	list, err := verify.MemberList(ctx, cli, d.Config.Timeouts.Request)
	cli.Close()
	if err != nil {
		return record.Check{Name: "new-member-id", Verdict: record.Fail, Summary: err.Error()}
	}
	return verify.NewMemberID(lost.Name(), drill.State[replaceState](d).oldID, list)
}
