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

// ForceNewCluster follows seed 000's last resort: quorum is lost but one
// member still has its data. That member is restarted with
// --force-new-cluster, which rewrites its membership to itself alone,
// then restarted normally, and the lost members are added back one by one
// with empty data dirs.
var ForceNewCluster = register(&drill.Scenario{
	Name:    "force-new-cluster",
	Summary: "quorum lost, one survivor with data: --force-new-cluster on the survivor, then re-add the members one by one",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "membership"},
	Members: 3,
	// One survivor keeps its data; with 5 members a second survivor would
	// be left outside the forced cluster.
	MaxMembers: 3,
	TLS:        true,
	Prepare: []drill.Step{
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "every member applies every write; note the survivor's keyspace", Do: settle},
	},
	Fault:   fault.Destroy(fault.Majority()),
	Observe: []drill.Step{{Title: "writes are refused without quorum", Do: drill.ExpectWritesRefused}},
	Recover: []drill.Step{
		{Title: "restart the survivor with --force-new-cluster", Do: forceNew},
		{Title: "restart the survivor without the flag", Do: restartWithoutForce},
		{Title: "add the lost members back one by one", Do: readdLost},
	},
	RunbookAfter: []drill.Step{{Title: "a write is accepted", Do: drill.ProbeWrite}},
	Verify:       []drill.Step{{Title: "verify the survivor's data and the rebuilt membership", Do: verifyForced}},
})

type forceState struct {
	digest string
	keys   int
}

// settle waits until every member has applied the same revision, so the
// member that survives holds every acknowledged write, and notes its
// keyspace digest.
func settle(ctx context.Context, d *drill.Drill) error {
	st := drill.State[forceState](d)
	c := d.Cluster
	return d.Log.Do(record.PhaseWorkload, "wait until every member has applied every write", "", func() (record.Action, error) {
		cli, err := c.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		wctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
		defer cancel()
		var rev int64
		err = harness.Poll(wctx, 100*time.Millisecond, func(ctx context.Context) error {
			rev = 0
			for _, s := range verify.Statuses(ctx, c, cli) {
				if s.Err != "" {
					return fmt.Errorf("%s: %s", s.Name, s.Err)
				}
				if rev != 0 && s.Revision != rev {
					return fmt.Errorf("members at revisions %d and %d", rev, s.Revision)
				}
				rev = s.Revision
			}
			return nil
		})
		if err != nil {
			return record.Action{}, err
		}
		kvs, _, err := verify.Keyspace(ctx, cli, d.Config.Load.Prefix, d.Config.Timeouts.Command)
		if err != nil {
			return record.Action{}, err
		}
		st.digest, st.keys = verify.Digest(kvs)
		return record.Action{Output: fmt.Sprintf("every member at revision %d; %d workload keys, digest %s", rev, st.keys, st.digest)}, nil
	})
}

// forceNew restarts the survivor with --force-new-cluster: a one-member
// cluster that keeps the survivor's data. Writes resume here, which ends
// the outage (RTO).
func forceNew(ctx context.Context, d *drill.Drill) error {
	c := d.Cluster
	m := drill.Survivors(d)[0]
	if err := recovery.ForceNewCluster(ctx, d.Log, c, m); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseObserve, "a write is accepted by the one-member cluster", m.Name(), func() (record.Action, error) {
		if _, err := c.WaitLeader(ctx, m); err != nil {
			return record.Action{}, err
		}
		p, err := drill.Probe(ctx, d, "/etcdrill-probe/after-force-new-cluster", m)
		if err != nil {
			return p, err
		}
		e, err := m.Etcdctl(ctx, "member", "list", "--write-out=table")
		e.Output = p.Output + "\n" + e.Output
		return e, err
	})
}

func restartWithoutForce(ctx context.Context, d *drill.Drill) error {
	return recovery.RestartAlone(ctx, d.Log, d.Cluster, drill.Survivors(d)[0])
}

func readdLost(ctx context.Context, d *drill.Drill) error {
	return recovery.ReaddMembers(ctx, d.Log, d.Cluster, drill.Survivors(d)[0], drill.State[drill.Outage](d).Victims)
}

// verifyForced checks that the survivor's keyspace came through
// --force-new-cluster unchanged, then runs every member and key check.
func verifyForced(ctx context.Context, d *drill.Drill) error {
	st := drill.State[forceState](d)
	cli, err := d.Cluster.Client()
	if err != nil {
		return err
	}
	kvs, _, err := verify.Keyspace(ctx, cli, d.Config.Load.Prefix, d.Config.Timeouts.Command)
	cli.Close()
	if err != nil {
		return err
	}
	digest, n := verify.Digest(kvs)
	return drill.VerifyWith(ctx, d, verify.SameKeyspace("survivor-data-kept", st.digest, st.keys, digest, n))
}
