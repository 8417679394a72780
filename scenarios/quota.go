package scenarios

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
	"github.com/etcdrill/etcdrill/workload"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// The quota drill's fill: a few keys overwritten with large values and
// never compacted, as Kubernetes objects rewritten on a cluster without
// auto-compaction, so the history grows until it hits the quota.
const (
	quotaBytes    = 4 << 20 // --quota-backend-bytes: small, so the fill is quick on 2 cores
	fillPrefix    = "/etcdrill-fill/"
	fillKeys      = 4         // the small set of keys overwritten
	fillValueSize = 128 << 10 // bytes per value
	// fillMaxWrites bounds the fill at four times what the quota can hold.
	fillMaxWrites = 4 * quotaBytes / fillValueSize
)

// QuotaExhaustion follows seed 004 §3 ("database space exceeded"): the
// history fills a small quota until etcd refuses writes and raises the
// NOSPACE alarm; the operator saves a snapshot, reads the revision,
// compacts, defragments every member and disarms the alarm.
var QuotaExhaustion = register(&Scenario{
	Name:           "quota-exhaustion",
	Summary:        "history fills a small --quota-backend-bytes until NOSPACE; snapshot, compact, defrag every member, disarm the alarm",
	Seeds:          []string{"004"},
	Labels:         []string{"fault", "maintenance", "quota"},
	Members:        3,
	TLS:            true,
	ClusterOptions: []harness.Option{harness.WithQuota(quotaBytes)},
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"overwrite a few keys with large values until the quota is exhausted", fillQuota},
		{"a put is refused with database space exceeded", expectNoSpace},
		{"alarm list shows NOSPACE", expectNoSpaceAlarm},
		{"save a snapshot first", quotaSnapshot},
		{"read the revision from endpoint status", readRevision},
		{"compact the history up to that revision", compactHistory},
		{"defragment every member", defragAll},
		{"disarm the alarm", disarmAlarm},
		{"writes are accepted again", expectWritesAccepted},
		{"stop the load", stopLoad},
		{"verify members, keys and the database size", verifyQuota},
	},
})

// quotaState is what the quota drill's steps share.
type quotaState struct {
	fill       workload.Ledger // the fill's puts; keys repeat, so not d.Ledger
	before     []recovery.EndpointStatus
	revision   int64
	disarmedAt time.Time
}

// fillQuota overwrites fillKeys keys with fillValueSize values, one put at
// a time, until a put is answered NOSPACE; that answer is the fault time.
// It gives up after fillMaxWrites puts or the catch-up budget.
func fillQuota(ctx context.Context, d *Drill) error {
	st := State[quotaState](d)
	return d.Log.Do(record.PhaseFault, "overwrite a few keys with large values until the quota is exhausted", "", func() (record.Action, error) {
		cli, err := d.Cluster.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(ctx, d.timeouts().CatchUp)
		defer cancel()
		vals := workload.Config{Seed: d.Opts.Seed, ValueSize: fillValueSize}
		var last workload.Write
		for i := range fillMaxWrites {
			if ctx.Err() != nil {
				break
			}
			k := i % fillKeys
			w, err := workload.Put(ctx, cli, &st.fill, d.timeouts().Request, fmt.Sprintf("%sk%02d", fillPrefix, k), vals.Value(k, i))
			switch {
			case errors.Is(err, rpctypes.ErrNoSpace):
				d.faultAt = w.End
				return record.Action{Output: fillSummary(&st.fill, last) + fmt.Sprintf("\nput %d (%s) refused: %v", i+1, w.Key, err)}, nil
			case w.Outcome == workload.Failed:
				return record.Action{Output: fillSummary(&st.fill, last)}, fmt.Errorf("fill put %d refused, but not for space: %w", i+1, err)
			case w.Outcome == workload.Acknowledged:
				last = w
			}
		}
		if err := ctx.Err(); err != nil {
			return record.Action{Output: fillSummary(&st.fill, last)}, fmt.Errorf("quota of %d bytes not exhausted within %s: %w", quotaBytes, d.timeouts().CatchUp, err)
		}
		return record.Action{Output: fillSummary(&st.fill, last)}, fmt.Errorf("quota of %d bytes not exhausted by %d puts", quotaBytes, fillMaxWrites)
	})
}

func fillSummary(l *workload.Ledger, last workload.Write) string {
	c := l.Counts()
	return fmt.Sprintf("%d puts of %d KiB over %d keys under %s, never compacted, so every overwrite stays in the history: %d acknowledged (the last at revision %d), %d indeterminate",
		len(l.Writes()), fillValueSize>>10, fillKeys, fillPrefix, c[workload.Acknowledged], last.Revision, c[workload.Indeterminate])
}

func expectNoSpace(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	return refusedBecause(d, record.PhaseObserve, "a put is refused with database space exceeded", m.Name(), "nospace-refusal", "database space exceeded",
		func() (record.Action, error) {
			return m.Etcdctl(ctx, "put", "/etcdrill-probe/during-nospace", "refused")
		})
}

func expectNoSpaceAlarm(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	return d.Log.Do(record.PhaseObserve, "alarm list shows NOSPACE", m.Name(), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "alarm", "list")
		if err == nil && !strings.Contains(e.Output, "alarm:NOSPACE") {
			err = fmt.Errorf("no NOSPACE alarm listed")
		}
		return e, err
	})
}

// quotaSnapshot saves a snapshot before touching anything, as the seed
// says. The drill restores nothing, so every acknowledged write must
// survive: the ledger check keeps no snapshot bound.
func quotaSnapshot(ctx context.Context, d *Drill) error {
	_, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
	return err
}

func readRevision(ctx context.Context, d *Drill) error {
	st := State[quotaState](d)
	var err error
	st.before, err = recovery.EndpointStatuses(ctx, d.Log, record.PhaseRecovery, d.Cluster, d.Cluster.Members()[0], "read the revision and database sizes from endpoint status")
	if err != nil {
		return err
	}
	st.revision, err = recovery.CompactRevision(st.before)
	return err
}

func compactHistory(ctx context.Context, d *Drill) error {
	return recovery.Compact(ctx, d.Log, d.Cluster, d.Cluster.Members()[0], State[quotaState](d).revision)
}

func defragAll(ctx context.Context, d *Drill) error {
	return recovery.Defrag(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
}

func disarmAlarm(ctx context.Context, d *Drill) error {
	err := recovery.DisarmAlarms(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
	State[quotaState](d).disarmedAt = time.Now()
	return err
}

// expectWritesAccepted shows the operator's put succeed, then waits for
// the load's first acknowledged write started after the disarm: the end
// of the outage (RTO from the first refused put).
func expectWritesAccepted(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	if err := d.Log.Do(record.PhaseObserve, "a put is accepted again", m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "put", "/etcdrill-probe/after-disarm", "accepted")
	}); err != nil {
		return err
	}
	since := State[quotaState](d).disarmedAt
	return d.Log.Do(record.PhaseObserve, "the load's writes are acknowledged again", "", func() (record.Action, error) {
		ctx, cancel := context.WithTimeout(ctx, d.timeouts().CatchUp)
		defer cancel()
		err := harness.Poll(ctx, 50*time.Millisecond, func(context.Context) error {
			if t, ok := d.Ledger.FirstAckAfter(since); ok {
				d.recoveredAt = t
				return nil
			}
			return fmt.Errorf("no write acknowledged since the alarm was disarmed")
		})
		if err != nil {
			return record.Action{}, err
		}
		return record.Action{Output: fmt.Sprintf("first write acknowledged %s after the disarm, %s after the first refused put (RTO)",
			d.recoveredAt.Sub(since).Round(time.Millisecond), d.recoveredAt.Sub(d.faultAt).Round(time.Millisecond))}, nil
	})
}

// verifyQuota checks that every member's database shrank, that the
// overwritten keys hold their last acknowledged values, then runs the
// member and ledger checks (alarms among them: the list must be empty).
func verifyQuota(ctx context.Context, d *Drill) error {
	st := State[quotaState](d)
	c := d.Cluster
	after, err := recovery.EndpointStatuses(ctx, d.Log, record.PhaseVerify, c, c.Members()[0], "read the database sizes after defrag")
	if err != nil {
		return err
	}
	d.Record.Checks = append(d.Record.Checks, verify.DBShrank(dbSizes(c, st.before, after)))
	cli, err := c.Client()
	if err != nil {
		return err
	}
	kvs, _, err := verify.Keyspace(ctx, cli, fillPrefix, d.timeouts().Command)
	cli.Close()
	if err != nil {
		d.Record.Checks = append(d.Record.Checks, record.Check{Name: "overwritten-keys", Verdict: record.Fail, Summary: err.Error()})
	} else {
		d.Record.Checks = append(d.Record.Checks, verify.Latest(st.fill.Writes(), kvs))
	}
	err = verifyAll(ctx, d)
	for _, ch := range d.Record.Checks {
		if !ch.Passed() && err == nil {
			err = fmt.Errorf("%s: %s", ch.Name, ch.Summary)
		}
	}
	return err
}

// dbSizes pairs each member's size before and after by its endpoint.
func dbSizes(c *harness.Cluster, before, after []recovery.EndpointStatus) []verify.DBSize {
	find := func(st []recovery.EndpointStatus, ep string) int64 {
		for _, s := range st {
			if s.Endpoint == ep {
				return s.DBSize
			}
		}
		return 0
	}
	var out []verify.DBSize
	for _, m := range c.Members() {
		out = append(out, verify.DBSize{Name: m.Name(), Before: find(before, m.ClientURL()), After: find(after, m.ClientURL())})
	}
	return out
}
