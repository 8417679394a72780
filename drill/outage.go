package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/workload"
)

// Outage is what the drill's faults did, kept with State: the members
// they acted on, how to undo the last one, and the outage's start and end
// (the RTO).
type Outage struct {
	Victims []*harness.Member
	Undo    fault.Undo
	// FaultAt is the start of the first outage a fault began;
	// RecoveredAt is the first acknowledged write after it.
	FaultAt, RecoveredAt time.Time
}

// Inject is the step that injects f: its victims and undo replace the
// last fault's, and the first fault that costs availability starts the
// outage.
func Inject(f fault.Fault) Step {
	return Step{"inject " + f.Name(), func(ctx context.Context, d *Drill) error {
		in, err := f.Inject(ctx, d.Cluster, d.Log)
		o := State[Outage](d)
		o.Victims, o.Undo = in.Victims, in.Undo
		if o.FaultAt.IsZero() && !in.At.IsZero() {
			o.FaultAt = in.At
		}
		return err
	}}
}

// Recovered marks t as the end of the outage (the RTO's end).
func (d *Drill) Recovered(t time.Time) { State[Outage](d).RecoveredAt = t }

// Survivors are the members no fault acted on last.
func Survivors(d *Drill) []*harness.Member {
	lost := map[*harness.Member]bool{}
	for _, v := range State[Outage](d).Victims {
		lost[v] = true
	}
	var out []*harness.Member
	for _, m := range d.Cluster.Members() {
		if !lost[m] {
			out = append(out, m)
		}
	}
	return out
}

// ExpectNewLeader waits for a leader among the survivors and shows their
// `endpoint status`.
func ExpectNewLeader(ctx context.Context, d *Drill) error {
	alive := Survivors(d)
	return d.Log.Do(record.PhaseObserve, "a new leader is elected", "", func() (record.Action, error) {
		l, err := d.Cluster.WaitLeader(ctx, alive...)
		if err != nil {
			return record.Action{}, err
		}
		d.Event("leader", l.Name()+" elected leader")
		var urls []string
		for _, m := range alive {
			urls = append(urls, m.ClientURL())
		}
		e, err := l.Exec(ctx, d.Cluster.EtcdctlArgs(urls, "endpoint", "status", "--write-out=table")...)
		e.Output = fmt.Sprintf("new leader %s, %s after the fault\n%s", l.Name(), time.Since(State[Outage](d).FaultAt).Round(time.Millisecond), e.Output)
		return e, err
	})
}

// ExpectWritesResume waits for the load's first write acknowledged after
// the fault, which ends the outage.
func ExpectWritesResume(ctx context.Context, d *Drill) error {
	return d.AwaitAck(ctx, "writes resume", State[Outage](d).FaultAt, "since the fault")
}

// AwaitAck waits, as a step, for the first load write acknowledged after
// since (the fault, or an alarm disarmed); it ends the outage.
func (d *Drill) AwaitAck(ctx context.Context, title string, since time.Time, what string) error {
	return d.Log.Do(record.PhaseObserve, title, "", func() (record.Action, error) {
		ctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
		defer cancel()
		var t time.Time
		err := harness.Poll(ctx, 50*time.Millisecond, func(context.Context) error {
			var ok bool
			if t, ok = d.Ledger.FirstAckAfter(since); ok {
				return nil
			}
			return fmt.Errorf("no write acknowledged %s", what)
		})
		if err != nil {
			return record.Action{}, err
		}
		d.Recovered(t)
		o := State[Outage](d)
		return record.Action{Output: fmt.Sprintf("first write acknowledged %s %s, %s after the fault (RTO)",
			t.Sub(since).Round(time.Millisecond), what, t.Sub(o.FaultAt).Round(time.Millisecond))}, nil
	})
}

// RestartVictims undoes the last fault and waits until every member is
// healthy.
func RestartVictims(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if o.Undo == nil {
		return fmt.Errorf("nothing to restart: the last fault cannot be undone")
	}
	if err := o.Undo(ctx); err != nil {
		return err
	}
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, o.Victims[0])
}

// ExpectWritesRefused puts a key with etcdctl on the first survivor: it
// must be refused for want of quorum, as the version words it.
func ExpectWritesRefused(ctx context.Context, d *Drill) error {
	m := Survivors(d)[0]
	_, err := d.Log.Refused(record.PhaseObserve, "a write on the survivor is refused", m.Name(), recovery.NoQuorum(d.Config.Version), func() (record.Action, error) {
		return m.Etcdctl(ctx, "--command-timeout="+recovery.RefusalTimeout.String(), "put", "/etcdrill-probe/during-quorum-loss", "refused")
	})
	return err
}

// Probe puts key (outside the workload prefix, so the ledger check does
// not see it) through the given members, all when none; its
// acknowledgement ends the outage and sets the RTO.
func Probe(ctx context.Context, d *Drill, key string, members ...*harness.Member) (record.Action, error) {
	cli, err := d.Cluster.Client(members...)
	if err != nil {
		return record.Action{}, err
	}
	defer cli.Close()
	var l workload.Ledger
	w, err := workload.Put(ctx, cli, &l, d.Config.Timeouts.Request, key, []byte("accepted"))
	if err != nil {
		return record.Action{}, err
	}
	d.Recovered(w.End)
	return record.Action{Output: fmt.Sprintf("put %s acknowledged at revision %d, %s after the fault (RTO)", key, w.Revision, w.End.Sub(State[Outage](d).FaultAt).Round(time.Millisecond))}, nil
}

// ProbeWrite writes one key through the restored cluster as a step; its
// acknowledgement ends the outage.
func ProbeWrite(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "a write is accepted", "", func() (record.Action, error) {
		return Probe(ctx, d, "/etcdrill-probe/after-restore")
	})
}
