package drill

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The probe key: what the partition and pause drills put and get, each
// request sent to one member only, for the stale-read check.

// CutOffRequestTimeout bounds one put or get sent to a cut-off or frozen
// member only: a member with a quorum answers in milliseconds even on a
// busy machine, and one without never does, so waiting longer proves
// nothing more.
const CutOffRequestTimeout = 3 * time.Second

// ProbeKey is what the partition and pause drills learn, kept with State:
// the probe key, and every put and get of it each sent to one member
// only, which the stale-read check reads.
type ProbeKey struct {
	History verify.History
	// Newest is the probe write the majority acknowledged last.
	Newest verify.Access
}

// probeKey is the drill's probe key, outside the load's prefix so the
// ledger check does not see it.
func probeKey(d *Drill) string { return "/etcdrill-probe/" + d.Scenario.Name }

// probePut puts key=val through cli (bound to member) within timeout.
func probePut(ctx context.Context, cli *clientv3.Client, member, key, val string, timeout time.Duration) verify.Access {
	a := verify.Access{Write: true, Key: key, Value: val, Member: member, Call: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.Put(rctx, key, val)
	a.Return = time.Now()
	if err != nil {
		a.Err = err.Error()
		return a
	}
	a.Revision = resp.Header.Revision
	return a
}

// probeGet gets key through cli (bound to member) within timeout,
// linearizable unless serializable.
func probeGet(ctx context.Context, cli *clientv3.Client, member, key string, serializable bool, timeout time.Duration) verify.Access {
	a := verify.Access{Key: key, Member: member, Serializable: serializable, Call: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var opts []clientv3.OpOption
	if serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := cli.Get(rctx, key, opts...)
	a.Return = time.Now()
	if err != nil {
		a.Err = err.Error()
		return a
	}
	if len(resp.Kvs) > 0 {
		a.Value, a.Revision = string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
	}
	return a
}

// etcdctlOn is the etcdctl command line an operator types on their own
// machine against the member's published client port.
func etcdctlOn(c *harness.Cluster, m *harness.Member, args ...string) string {
	return harness.ShellJoin(c.EtcdctlArgs([]string{m.Endpoint()}, args...))
}

// markFault puts an event of kind on the timeline at the end of the last
// fault step: "partition" or "pause".
func markFault(d *Drill, kind, text string) {
	t := time.Now()
	steps := d.Log.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Phase == record.PhaseFault {
			t = steps[i].End
			break
		}
	}
	d.events = append(d.events, record.Event{T: t, Kind: kind, Text: text})
}

// leaderBefore is the member that led the cluster before the fault, as
// the record's "before the fault" state shows it; "" when unknown.
func leaderBefore(d *Drill) string {
	if d.Record.Before == nil {
		return ""
	}
	for _, m := range d.Record.Before.Members {
		if m.IsLeader {
			return m.Name
		}
	}
	return ""
}

func names(ms []*harness.Member) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name())
	}
	return strings.Join(s, ", ")
}

// WriteProbe puts the probe key through the whole cluster before the
// fault, so every member holds a value the majority later overwrites.
func WriteProbe(ctx context.Context, d *Drill) error {
	key := probeKey(d)
	return d.Log.Do(record.PhaseWorkload, "write the probe key", "", func() (record.Action, error) {
		cli, err := d.Cluster.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		a := probePut(ctx, cli, "any", key, "before-the-fault", d.Config.Timeouts.Request)
		act := record.Action{Command: harness.ShellJoin(d.Cluster.EtcdctlArgs(d.Cluster.ClientURLs(), "put", key, a.Value)), Output: a.String()}
		if !a.OK() {
			return act, errors.New(a.Err)
		}
		p := State[ProbeKey](d)
		p.History.Add(a)
		p.Newest = a
		return act, nil
	})
}

// plantedCheck feeds the serializable read, with the writes before it,
// to the stale-read check, which must catch it: that proves the check
// can fail, and that the member really was cut off from the majority's
// write.
func plantedCheck(p *ProbeKey, planted verify.Access) record.Check {
	c := record.Check{Name: "stale-read-caught", Verdict: record.Pass}
	var ops []verify.Access
	for _, a := range p.History.Accesses() {
		if a.Write {
			ops = append(ops, a)
		}
	}
	r := verify.StaleReads(append(ops, planted))
	switch {
	case !planted.OK():
		c.Verdict, c.Summary = record.Fail, "the planted serializable read got no answer: "+planted.Err
	case len(r.Stale) == 0:
		c.Verdict, c.Summary = record.Fail, "the stale-read check missed the planted serializable read: "+planted.String()
	default:
		c.Summary = "the planted serializable read was reported stale: " + r.Stale[0].String()
	}
	return c
}

func urlsOf(ms []*harness.Member) []string {
	var urls []string
	for _, m := range ms {
		urls = append(urls, m.ClientURL())
	}
	return urls
}

// VerifyProbe is VerifyAll with the stale-read check over every probe
// access of the drill.
func VerifyProbe(ctx context.Context, d *Drill) error {
	return VerifyWith(ctx, d, verify.StaleReads(State[ProbeKey](d).History.Accesses()).Check("stale-read-all"))
}
