package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// LeaderKill follows seed 004's "stop the leader, a new one is elected":
// SIGKILL the leader under load, see a new leader and writes resume,
// restart the member, and prove nothing acknowledged was lost.
var LeaderKill = register(&Scenario{
	Name:         "leader-kill",
	Summary:      "SIGKILL the leader under load; a new leader is elected, writes resume, the member rejoins and catches up",
	Seeds:        []string{"004"},
	Labels:       []string{"fault", "availability"},
	Members:      3,
	TLS:          true,
	AlsoWithAuth: true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"SIGKILL the leader", killLeader},
		{"a new leader is elected among the survivors", expectNewLeader},
		{"writes resume", expectWritesResume},
		{"restart the killed member", restartVictims},
		{"the restarted member takes writes again", writeMore},
		{"stop the load", stopLoad},
		{"verify members and keys", verifyAll},
	},
})

func killLeader(ctx context.Context, d *Drill) error {
	victims, undo, err := fault.Kill(fault.Leader()).Inject(ctx, d.Cluster, d.Log)
	// The outage starts once the leader is confirmed dead: a write that
	// slipped in while the kill was on its way is not a recovery.
	d.faultAt = time.Now()
	d.victims, d.undo = victims, undo
	return err
}

func survivors(d *Drill) []*harness.Member {
	var out []*harness.Member
	for _, m := range d.Cluster.Members() {
		lost := false
		for _, v := range d.victims {
			lost = lost || v == m
		}
		if !lost {
			out = append(out, m)
		}
	}
	return out
}

func expectNewLeader(ctx context.Context, d *Drill) error {
	alive := survivors(d)
	return d.Log.Do(record.PhaseObserve, "a new leader is elected", "", func() (record.Action, error) {
		l, err := d.Cluster.WaitLeader(ctx, alive...)
		if err != nil {
			return record.Action{}, err
		}
		d.event("leader", l.Name()+" elected leader")
		var urls []string
		for _, m := range alive {
			urls = append(urls, m.ClientURL())
		}
		e, err := l.Exec(ctx, d.Cluster.EtcdctlArgs(urls, "endpoint", "status", "--write-out=table")...)
		e.Output = fmt.Sprintf("new leader %s, %s after the kill\n%s", l.Name(), time.Since(d.faultAt).Round(time.Millisecond), e.Output)
		return e, err
	})
}

func expectWritesResume(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "writes resume", "", func() (record.Action, error) {
		ctx, cancel := context.WithTimeout(ctx, d.timeouts().Election)
		defer cancel()
		err := harness.Poll(ctx, 50*time.Millisecond, func(context.Context) error {
			if t, ok := d.Ledger.FirstAckAfter(d.faultAt); ok {
				d.recoveredAt = t
				return nil
			}
			return fmt.Errorf("no write acknowledged since the fault")
		})
		if err != nil {
			return record.Action{}, err
		}
		return record.Action{Output: fmt.Sprintf("first write acknowledged %s after the fault (RTO)", d.recoveredAt.Sub(d.faultAt).Round(time.Millisecond))}, nil
	})
}

func restartVictims(ctx context.Context, d *Drill) error {
	if d.undo == nil {
		return fmt.Errorf("nothing to restart")
	}
	if err := d.undo(ctx); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseRecovery, "wait until every member is healthy", "", func() (record.Action, error) {
		if err := d.Cluster.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return endpointStatus(ctx, d.Cluster, d.victims[0])
	})
}

func writeMore(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "more writes are acknowledged", "", func() (record.Action, error) {
		n, err := d.waitAcks(ctx, time.Now(), 100)
		return record.Action{Output: fmt.Sprintf("%d more writes acknowledged", n)}, err
	})
}
