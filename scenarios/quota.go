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
	"github.com/etcdrill/etcdrill/verify"
)

// quotaBytes is the drill's --quota-backend-bytes: small, so the fill is
// quick on 2 cores.
const quotaBytes = 4 << 20

// QuotaExhaustion follows seed 004 §3 ("database space exceeded"): the
// history fills a small quota until etcd refuses writes and raises the
// NOSPACE alarm; the operator saves a snapshot, reads the revision,
// compacts, defragments every member and disarms the alarm.
var QuotaExhaustion = register(&drill.Scenario{
	Name:           "quota-exhaustion",
	Summary:        "history fills a small --quota-backend-bytes until NOSPACE; snapshot, compact, defrag every member, disarm the alarm",
	Seeds:          []string{"004"},
	Labels:         []string{"fault", "maintenance", "quota"},
	Members:        3,
	TLS:            true,
	ClusterOptions: []harness.Option{harness.WithQuota(quotaBytes)},
	Also:           []fault.Fault{fault.FillQuota(quotaBytes, 0)},
	Prepare:        []drill.Step{{Title: "overwrite a few keys with large values until the quota is exhausted", Do: fillQuota}},
	Observe: []drill.Step{
		{Title: "a put is refused with database space exceeded", Do: expectNoSpace},
		{Title: "alarm list shows NOSPACE", Do: expectNoSpaceAlarm},
	},
	Recover: []drill.Step{
		{Title: "save a snapshot first", Do: quotaSnapshot},
		{Title: "read the revision from endpoint status", Do: readRevision},
		{Title: "compact the history up to that revision", Do: compactHistory},
		{Title: "defragment every member", Do: defragAll},
		{Title: "disarm the alarm", Do: disarmAlarm},
		{Title: "writes are accepted again", Do: expectWritesAccepted},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	// With an operator's runbook: note the database sizes before it (the
	// db-size check compares with them), and after it expect writes.
	RunbookBefore: []drill.Step{{Title: "read the revision and database sizes", Do: readRevision}},
	RunbookAfter: []drill.Step{
		{Title: "writes are accepted again", Do: func(ctx context.Context, d *drill.Drill) error {
			drill.State[quotaState](d).disarmedAt = time.Now() // the runbook has ended
			return expectWritesAccepted(ctx, d)
		}},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify members, keys and the database size", Do: verifyQuota}},
})

// quotaState is what the quota drill's steps share.
type quotaState struct {
	fill       *fault.QuotaFill
	before     []recovery.EndpointStatus
	revision   int64
	disarmedAt time.Time
}

// fillQuota injects a fill of this run's own, seeded by the drill: the
// fault keeps the fill's writes, so it cannot be shared between runs (the
// one in Also is for listing).
func fillQuota(ctx context.Context, d *drill.Drill) error {
	st := drill.State[quotaState](d)
	st.fill = fault.FillQuota(quotaBytes, d.Config.Seed)
	return drill.Inject(st.fill).Do(ctx, d)
}

func expectNoSpace(ctx context.Context, d *drill.Drill) error {
	m := d.Cluster.Members()[0]
	_, err := d.Log.Refused(record.PhaseObserve, "a put is refused with database space exceeded", m.Name(), recovery.NoSpace(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "put", "/etcdrill-probe/during-nospace", "refused")
	})
	return err
}

func expectNoSpaceAlarm(ctx context.Context, d *drill.Drill) error {
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
func quotaSnapshot(ctx context.Context, d *drill.Drill) error {
	_, err := recovery.SaveSnapshot(ctx, d.Log, d.Cluster, d.Cluster.Members()[0], "")
	return err
}

func readRevision(ctx context.Context, d *drill.Drill) error {
	st := drill.State[quotaState](d)
	var err error
	st.before, err = recovery.EndpointStatuses(ctx, d.Log, record.PhaseRecovery, d.Cluster, d.Cluster.Members()[0], "read the revision and database sizes from endpoint status")
	if err != nil {
		return err
	}
	st.revision, err = recovery.CompactRevision(st.before)
	return err
}

func compactHistory(ctx context.Context, d *drill.Drill) error {
	return recovery.Compact(ctx, d.Log, d.Cluster, d.Cluster.Members()[0], drill.State[quotaState](d).revision)
}

func defragAll(ctx context.Context, d *drill.Drill) error {
	return recovery.Defrag(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
}

func disarmAlarm(ctx context.Context, d *drill.Drill) error {
	err := recovery.DisarmAlarms(ctx, d.Log, d.Cluster, d.Cluster.Members()[0])
	drill.State[quotaState](d).disarmedAt = time.Now()
	return err
}

// expectWritesAccepted shows the operator's put succeed, then waits for
// the load's first acknowledged write started after the disarm: the end
// of the outage (RTO from the first refused put).
func expectWritesAccepted(ctx context.Context, d *drill.Drill) error {
	m := d.Cluster.Members()[0]
	if err := d.Log.Do(record.PhaseObserve, "a put is accepted again", m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, "put", "/etcdrill-probe/after-disarm", "accepted")
	}); err != nil {
		return err
	}
	return d.AwaitAck(ctx, "the load's writes are acknowledged again", drill.State[quotaState](d).disarmedAt, "since the alarm was disarmed")
}

// verifyQuota checks that every member's database shrank and that the
// overwritten keys hold their last acknowledged values, then runs the
// member and ledger checks (alarms among them: the list must be empty).
func verifyQuota(ctx context.Context, d *drill.Drill) error {
	st := drill.State[quotaState](d)
	c := d.Cluster
	after, err := recovery.EndpointStatuses(ctx, d.Log, record.PhaseVerify, c, c.Members()[0], "read the database sizes after defrag")
	if err != nil {
		return err
	}
	shrank := verify.DBShrank(dbSizes(c, st.before, after))
	cli, err := c.Client()
	if err != nil {
		return err
	}
	kvs, _, err := verify.Keyspace(ctx, cli, st.fill.Prefix, d.Config.Timeouts.Command)
	cli.Close()
	latest := record.Check{Name: "overwritten-keys", Verdict: record.Fail, Summary: fmt.Sprint(err)}
	if err == nil {
		latest = verify.Latest(st.fill.Ledger().Writes(), kvs)
	}
	return drill.VerifyWith(ctx, d, shrank, latest)
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
