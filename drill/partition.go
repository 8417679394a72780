package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// ExpectSideLosesLeader marks the partition on the timeline and waits
// until every cut-off member says, through its own published client port
// (`endpoint status`, answered locally), that it has no leader: an
// isolated leader has stepped down, an isolated follower has lost it.
func ExpectSideLosesLeader(ctx context.Context, d *Drill) error {
	side := State[Outage](d).Victims
	markFault(d, "partition", names(side)+" cut off from the other members")
	c := d.Cluster
	return d.Log.Do(record.PhaseObserve, "the cut-off side has no leader", side[0].Name(), func() (record.Action, error) {
		var cmds []string
		for _, m := range side {
			cmds = append(cmds, etcdctlOn(c, m, "endpoint", "status", "--write-out=table"))
		}
		act := record.Action{Command: strings.Join(cmds, "\n")}
		cli, err := c.ClientAs(nil, side...)
		if err != nil {
			return act, err
		}
		defer cli.Close()
		pctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.Election)
		defer cancel()
		start := time.Now()
		var lines []string
		err = harness.Poll(pctx, 100*time.Millisecond, func(ctx context.Context) error {
			lines = lines[:0]
			for _, m := range side {
				st, err := c.Status(ctx, cli, m)
				if err != nil {
					return err
				}
				lines = append(lines, fmt.Sprintf("%s: member %x, leader %x, raft term %d, index %d, errors %v", m.Name(), st.Header.MemberId, st.Leader, st.RaftTerm, st.RaftIndex, st.Errors))
				if st.Leader != 0 {
					return fmt.Errorf("%s still follows or is leader %x", m.Name(), st.Leader)
				}
			}
			return nil
		})
		act.Output = strings.Join(lines, "\n") + fmt.Sprintf("\n# no leader on the cut-off side %s after the partition", time.Since(start).Round(time.Millisecond))
		if l := leaderBefore(d); l != "" && strings.Contains(", "+names(side)+",", ", "+l+",") {
			act.Output += fmt.Sprintf("\n# %s led the cluster before the fault: it stepped down", l)
		}
		return act, err
	})
}

// ExpectMajorityLeader waits until the members no fault acted on agree on
// a leader among them, and shows their `endpoint status`.
func ExpectMajorityLeader(ctx context.Context, d *Drill) error {
	alive := Survivors(d)
	return d.Log.Do(record.PhaseObserve, "the majority has a leader", "", func() (record.Action, error) {
		l, err := d.Cluster.WaitLeader(ctx, alive...)
		if err != nil {
			return record.Action{}, err
		}
		d.Event("leader", l.Name()+" leads the majority")
		var urls []string
		for _, m := range alive {
			urls = append(urls, m.ClientURL())
		}
		e, err := l.Exec(ctx, d.Cluster.EtcdctlArgs(urls, "endpoint", "status", "--write-out=table")...)
		e.Output = fmt.Sprintf("%s leads %s, %s after the fault\n%s", l.Name(), names(alive), time.Since(State[Outage](d).FaultAt).Round(time.Millisecond), e.Output)
		return e, err
	})
}

// ExpectMajorityWrites waits for the load's first write acknowledged
// after the fault: the majority keeps taking writes.
func ExpectMajorityWrites(ctx context.Context, d *Drill) error {
	return d.AwaitAck(ctx, "the majority keeps taking writes", State[Outage](d).FaultAt, "since the fault")
}

// notAcknowledged is what a write sent to a member without a quorum may
// end with; any of them proves it was not acknowledged for that reason.
var notAcknowledged = record.Refusal{Reason: "not acknowledged without a quorum", Says: []string{
	"context deadline exceeded", "DeadlineExceeded", "no leader", "request timed out", "leader changed", "timed out",
}}

// ExpectCutOffWriteRefused puts a key through a client bound to the first
// cut-off member only: it must not be acknowledged.
func ExpectCutOffWriteRefused(ctx context.Context, d *Drill) error {
	m := State[Outage](d).Victims[0]
	key := probeKey(d) + "/cut-off-write"
	line, err := d.Log.Refused(record.PhaseObserve, "a write sent to the cut-off side is not acknowledged", m.Name(), notAcknowledged, func() (record.Action, error) {
		act := record.Action{Command: etcdctlOn(d.Cluster, m, "--command-timeout="+CutOffRequestTimeout.String(), "put", key, "must-not-be-acknowledged")}
		cli, err := d.Cluster.Client(m)
		if err != nil {
			return act, err
		}
		defer cli.Close()
		a := probePut(ctx, cli, m.Name(), key, "must-not-be-acknowledged", CutOffRequestTimeout)
		State[ProbeKey](d).History.Add(a)
		act.Output = a.String()
		if !a.OK() {
			return act, errors.New(a.Err)
		}
		return act, nil
	})
	d.AddChecks(RefusalCheck("cut-off-write-not-acknowledged", line, err))
	return err
}

// ExpectNoStaleRead has the majority overwrite the probe key, then reads
// it on the first cut-off member: linearizably, which must fail, time out
// or return the new value, never the old one; and serializably, which
// etcd serves from the member's own stale state by design. Both go to the
// stale-read check: the linearizable read must pass it, and the
// serializable one, the planted defect, must be caught by it.
func ExpectNoStaleRead(ctx context.Context, d *Drill) error {
	m := State[Outage](d).Victims[0]
	key := probeKey(d)
	p := State[ProbeKey](d)
	var lin, planted verify.Access
	err := d.Log.Do(record.PhaseObserve, "a linearizable read on the cut-off side is not stale", m.Name(), func() (record.Action, error) {
		alive := Survivors(d)
		act := record.Action{Command: strings.Join([]string{
			"# on " + alive[0].Name() + "\n" + harness.ShellJoin(d.Cluster.EtcdctlArgs(urlsOf(alive), "put", key, "after-the-fault")),
			"# then, against " + m.Name() + " only\n" + etcdctlOn(d.Cluster, m, "--command-timeout="+CutOffRequestTimeout.String(), "get", key),
			etcdctlOn(d.Cluster, m, "get", key, "--consistency=s") + "  # serializable: served from " + m.Name() + "'s own state",
		}, "\n")}
		maj, err := d.Cluster.Client(alive...)
		if err != nil {
			return act, err
		}
		defer maj.Close()
		w := probePut(ctx, maj, names(alive), key, "after-the-fault", d.Config.Timeouts.Request)
		if !w.OK() {
			return act, fmt.Errorf("the majority did not acknowledge the probe write: %s", w.Err)
		}
		p.History.Add(w)
		p.Newest = w
		cli, err := d.Cluster.Client(m)
		if err != nil {
			return act, err
		}
		defer cli.Close()
		lin = probeGet(ctx, cli, m.Name(), key, false, CutOffRequestTimeout)
		p.History.Add(lin)
		planted = probeGet(ctx, cli, m.Name(), key, true, CutOffRequestTimeout)
		act.Output = strings.Join([]string{w.String(), lin.String(), planted.String()}, "\n")
		return act, nil
	})
	if err != nil {
		return err
	}
	checks := []record.Check{verify.StaleReads(p.History.Accesses()).Check("stale-read"), plantedCheck(p, planted)}
	d.AddChecks(checks...)
	return CheckErr(checks...)
}

// Heal undoes the partition (each `docker network connect` a step),
// marks it on the timeline, and waits until every member is healthy.
func Heal(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if o.Undo == nil {
		return errors.New("nothing to heal: the last fault cannot be undone")
	}
	if err := o.Undo(ctx); err != nil {
		return err
	}
	d.Event("heal", names(o.Victims)+" reconnected to the other members")
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, o.Victims[0])
}

// ExpectCaughtUp reads the probe key linearizably on every formerly cut-off
// member: each must return the majority's newest value.
func ExpectCaughtUp(ctx context.Context, d *Drill) error {
	p := State[ProbeKey](d)
	key := probeKey(d)
	for _, m := range State[Outage](d).Victims {
		err := d.Log.Do(record.PhaseRecovery, m.Name()+" serves the majority's write", m.Name(), func() (record.Action, error) {
			act := record.Action{Command: etcdctlOn(d.Cluster, m, "get", key)}
			cli, err := d.Cluster.Client(m)
			if err != nil {
				return act, err
			}
			defer cli.Close()
			// A healed member may still be applying what it missed: poll,
			// every read going to the stale-read check.
			pctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
			defer cancel()
			start := time.Now()
			tries := 0
			var a verify.Access
			err = harness.Poll(pctx, 200*time.Millisecond, func(ctx context.Context) error {
				tries++
				a = probeGet(ctx, cli, m.Name(), key, false, d.Config.Timeouts.Request)
				p.History.Add(a)
				switch {
				case !a.OK():
					return errors.New(a.Err)
				case a.Revision < p.Newest.Revision:
					return harness.Permanent(fmt.Errorf("%s returned revision %d, older than %d", m.Name(), a.Revision, p.Newest.Revision))
				}
				return nil
			})
			act.Output = fmt.Sprintf("%s\n# after %d reads, %s", a, tries, time.Since(start).Round(time.Millisecond))
			return act, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
