package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
var MemberReplace = register(&Scenario{
	Name:         "member-replace",
	Summary:      "a follower loses its data dir; member remove, member add, start it empty with --initial-cluster-state=existing; it rejoins with a new ID",
	Seeds:        []string{"002", "004"},
	Labels:       []string{"fault", "membership"},
	Members:      3,
	TLS:          true,
	AlsoWithAuth: true,
	Steps: append(replaceUntilRemoved(),
		Step{"add the member back under its name", addLostMember},
		Step{"start it with an empty data dir, joining the existing cluster", startReplacement},
		Step{"wait until every member is healthy", waitReplaced},
		Step{"the replaced member takes writes", writeMore},
		Step{"stop the load", stopLoad},
		Step{"verify members, keys and the new member ID", verifyReplaced},
	),
})

// replaceUntilRemoved are the steps both member-replace drills share, up
// to and including `member remove`.
func replaceUntilRemoved() []Step {
	return []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"lose a follower and its data dir", loseFollower},
		{"writes continue on the two survivors", expectWritesContinue},
		{"endpoint health reports the lost member unhealthy", expectLostUnhealthy},
		{"find the lost member's ID", findLostMember},
		{"remove the lost member from the cluster", removeLostMember},
	}
}

// replaceState is what the member-replace drills learn as they go.
type replaceState struct {
	lost  *harness.Member // the follower that lost its data dir
	ops   *harness.Member // a healthy member the operator runs etcdctl on
	oldID uint64          // the lost member's ID before it was removed
	added recovery.Added  // what `member add` printed
}

func loseFollower(ctx context.Context, d *Drill) error {
	victims, _, err := fault.Destroy(fault.Follower()).Inject(ctx, d.Cluster, d.Log)
	d.faultAt = time.Now()
	d.victims = victims
	if err != nil {
		return err
	}
	st := State[replaceState](d)
	st.lost, st.ops = victims[0], survivors(d)[0]
	return nil
}

// expectWritesContinue waits for writes that started after the fault: a
// lost follower costs no availability, so the RTO is the first of them.
func expectWritesContinue(ctx context.Context, d *Drill) error {
	lost := State[replaceState](d).lost
	return d.Log.Do(record.PhaseObserve, "writes are still acknowledged without "+lost.Name(), "", func() (record.Action, error) {
		n, err := d.waitAcks(ctx, d.faultAt, 50)
		if err != nil {
			return record.Action{}, err
		}
		t, _ := d.Ledger.FirstAckAfter(d.faultAt)
		d.recoveredAt = t
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged since %s was lost, the first %s after the fault: 2 of 3 members are a quorum",
			n, lost.Name(), t.Sub(d.faultAt).Round(time.Millisecond))}, nil
	})
}

// expectLostUnhealthy runs `endpoint health` over every member: etcdctl
// exits non-zero because the lost member does not answer. The output must
// name the lost member, and only it, as unhealthy.
func expectLostUnhealthy(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	c := d.Cluster
	var out string
	err := d.Log.Refused(record.PhaseObserve, "endpoint health reports "+st.lost.Name()+" unhealthy", st.ops.Name(), func() (record.Action, error) {
		e, err := st.ops.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "health")...)
		out = e.Output
		return e, err
	})
	if err != nil {
		return err
	}
	return onlyUnhealthy(out, st.lost.ClientURL(), len(c.ClientURLs()))
}

// onlyUnhealthy checks `endpoint health` output: n endpoints reported,
// want the only unhealthy one.
func onlyUnhealthy(out, want string, n int) error {
	hs := recovery.ParseEndpointHealth(out)
	var bad []string
	for _, h := range hs {
		if !h.Healthy {
			bad = append(bad, h.Endpoint)
		}
	}
	if len(hs) != n || len(bad) != 1 || bad[0] != want {
		return fmt.Errorf("endpoint health: want %s alone unhealthy among %d endpoints, got %d endpoints, unhealthy %v", want, n, len(hs), bad)
	}
	return nil
}

// findLostMember reads `member list -w json` on a healthy member and
// takes the lost member's ID by its name.
func findLostMember(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	m, err := memberList(ctx, d, record.PhaseRecovery, "find "+st.lost.Name()+"'s member ID", st.ops, func(ms []recovery.Member) (recovery.Member, string, error) {
		m, err := recovery.FindByName(ms, st.lost.Name())
		return m, fmt.Sprintf("%s is member %s", st.lost.Name(), recovery.HexID(m.ID)), err
	})
	st.oldID = m.ID
	return err
}

func removeLostMember(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	return removeMember(ctx, d, st.ops, st.lost.Name(), st.oldID)
}

func addLostMember(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	a, err := addMember(ctx, d, record.PhaseRecovery, "add "+st.lost.Name()+" back", st.ops, st.lost.Name(), st.lost.PeerURL(), false)
	st.added = a
	return err
}

// startReplacement creates the lost member again with an empty data dir
// and the ETCD_INITIAL_CLUSTER that `member add` printed, and starts it
// with --initial-cluster-state=existing.
func startReplacement(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	m := st.lost
	if st.added.Name != m.Name() {
		return fmt.Errorf("member add printed ETCD_NAME %q for member %s", st.added.Name, m.Name())
	}
	spec := d.Cluster.Spec(m.Name(), st.added.InitialCluster, "existing")
	return recovery.StartMember(ctx, d.Log, d.Cluster, m, spec, "start etcd on "+m.Name()+" with an empty data dir (the old one was lost)")
}

// waitReplaced waits until every member, the new one included, is healthy
// with one leader, and shows `endpoint status` with the new member's ID.
func waitReplaced(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	return d.Log.Do(record.PhaseRecovery, "wait until every member is healthy", st.ops.Name(), func() (record.Action, error) {
		if err := d.Cluster.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return endpointStatus(ctx, d.Cluster, st.ops)
	})
}

// verifyReplaced runs every member and key check, and checks the replaced
// member came back under a new ID.
func verifyReplaced(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	cli, err := d.Cluster.Client()
	if err != nil {
		return err
	}
	list, err := verify.MemberList(ctx, cli, d.timeouts().Request)
	cli.Close()
	check := verify.NewMemberID(st.lost.Name(), st.oldID, list)
	if err != nil {
		check = record.Check{Name: "new-member-id", Verdict: record.Fail, Summary: err.Error()}
	}
	d.Record.Checks = append(d.Record.Checks, check)
	err = verifyAll(ctx, d)
	if !check.Passed() {
		err = errors.Join(err, fmt.Errorf("%s: %s", check.Name, check.Summary))
	}
	return err
}

// memberList records `etcdctl member list -w json` on m as one step, and
// picks a member out of it with pick, whose note is shown above the
// output.
func memberList(ctx context.Context, d *Drill, phase record.Phase, title string, m *harness.Member, pick func([]recovery.Member) (recovery.Member, string, error)) (recovery.Member, error) {
	var got recovery.Member
	err := d.Log.Do(phase, title, m.Name(), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "member", "list", "--write-out=json")
		if err != nil {
			return e, err
		}
		ms, err := recovery.ParseMemberList(e.Output)
		if err != nil {
			return e, err
		}
		p, note, err := pick(ms)
		if err != nil {
			return e, err
		}
		got = p
		e.Output = note + "\n" + e.Output
		return e, nil
	})
	return got, err
}

// removeMember runs `etcdctl member remove <hex id>` on m.
func removeMember(ctx context.Context, d *Drill, m *harness.Member, what string, id uint64) error {
	return d.Log.Do(record.PhaseRecovery, "remove "+what+" ("+recovery.HexID(id)+")", m.Name(), func() (record.Action, error) {
		return reconfigure(ctx, d, m, "member", "remove", recovery.HexID(id))
	})
}

// addMember runs `etcdctl member add name [--learner] --peer-urls=url`
// on m as one step, and parses what it printed.
func addMember(ctx context.Context, d *Drill, phase record.Phase, title string, m *harness.Member, name, url string, learner bool) (recovery.Added, error) {
	args := []string{"member", "add", name}
	if learner {
		args = append(args, "--learner")
	}
	args = append(args, "--peer-urls="+url)
	var a recovery.Added
	err := d.Log.Do(phase, title, m.Name(), func() (record.Action, error) {
		e, err := reconfigure(ctx, d, m, args...)
		if err != nil {
			return e, err
		}
		a, err = recovery.ParseMemberAdd(e.Output)
		return e, err
	})
	return a, err
}

// reconfigure runs a membership change with etcdctl on m. etcd refuses
// one with "unhealthy cluster" until the member asked has been connected
// to its peers for 5 s (right after a restart, say); that refusal is
// retried within the election budget, and the attempts are noted.
func reconfigure(ctx context.Context, d *Drill, m *harness.Member, args ...string) (record.Action, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeouts().Election)
	defer cancel()
	var e record.Action
	attempts := 0
	err := harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) error {
		attempts++
		var err error
		e, err = m.Etcdctl(ctx, args...)
		if err != nil && !strings.Contains(e.Output, recovery.Unhealthy) {
			return harness.Permanent(err)
		}
		return err
	})
	if attempts > 1 {
		e.Output = fmt.Sprintf("attempt %d; etcd answered %q to the earlier ones\n%s", attempts, recovery.Unhealthy, e.Output)
	}
	if err != nil {
		return e, fmt.Errorf("%s on %s: %w", strings.Join(args[:2], " "), m.Name(), err)
	}
	return e, nil
}
