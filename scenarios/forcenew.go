package scenarios

import (
	"context"
	"fmt"
	"time"

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
var ForceNewCluster = register(&Scenario{
	Name:    "force-new-cluster",
	Summary: "quorum lost, one survivor with data: --force-new-cluster on the survivor, then re-add the members one by one",
	Seeds:   []string{"000"},
	Labels:  []string{"fault", "membership"},
	Members: 3,
	TLS:     true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"stop the load", stopLoad},
		{"every member applies every write; note the survivor's keyspace", settle},
		{"lose a majority of members with their data", loseMajority},
		{"writes are refused without quorum", expectWritesRefused},
		{"restart the survivor with --force-new-cluster", forceNew},
		{"restart the survivor without the flag", restartWithoutForce},
		{"add the lost members back one by one", readdLost},
		{"verify the survivor's data and the rebuilt membership", verifyForced},
	},
})

type forceState struct {
	digest string
	keys   int
}

// settle waits until every member has applied the same revision, so the
// member that survives holds every acknowledged write, and notes its
// keyspace digest.
func settle(ctx context.Context, d *Drill) error {
	st := State[forceState](d)
	c := d.Cluster
	return d.Log.Do(record.PhaseWorkload, "wait until every member has applied every write", "", func() (record.Action, error) {
		cli, err := c.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		wctx, cancel := context.WithTimeout(ctx, d.timeouts().CatchUp)
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
		kvs, _, err := verify.Keyspace(ctx, cli, d.Load.Prefix, d.timeouts().Command)
		if err != nil {
			return record.Action{}, err
		}
		st.digest, st.keys = verify.Digest(kvs)
		return record.Action{Output: fmt.Sprintf("every member at revision %d; %d workload keys, digest %s", rev, st.keys, st.digest)}, nil
	})
}

// forceNew stops the survivor and starts it with --force-new-cluster:
// a one-member cluster that keeps the survivor's data. Writes resume
// here, which ends the outage (RTO).
func forceNew(ctx context.Context, d *Drill) error {
	c := d.Cluster
	m := survivors(d)[0]
	if err := stopKeepingData(ctx, d, m); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	spec.ForceNewCluster = true
	if err := recovery.StartMember(ctx, d.Log, c, m, spec, "start etcd on "+m.Name()+" with --force-new-cluster"); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseObserve, "a write is accepted by the one-member cluster", m.Name(), func() (record.Action, error) {
		if _, err := c.WaitLeader(ctx, m); err != nil {
			return record.Action{}, err
		}
		p, err := probe(ctx, d, "/etcdrill-probe/after-force-new-cluster", m)
		if err != nil {
			return p, err
		}
		e, err := m.Etcdctl(ctx, "member", "list", "--write-out=table")
		e.Output = p.Output + "\n" + e.Output
		return e, err
	})
}

// restartWithoutForce restarts the survivor without --force-new-cluster,
// as the etcd docs ask, so a later restart cannot rewrite membership again.
func restartWithoutForce(ctx context.Context, d *Drill) error {
	c := d.Cluster
	m := survivors(d)[0]
	if err := stopKeepingData(ctx, d, m); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	if err := recovery.StartMember(ctx, d.Log, c, m, spec, "start etcd on "+m.Name()+" without --force-new-cluster"); err != nil {
		return err
	}
	_, err := c.WaitLeader(ctx, m)
	return err
}

func stopKeepingData(ctx context.Context, d *Drill, m *harness.Member) error {
	return d.Log.Do(record.PhaseRecovery, "stop etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker stop %[1]s && docker rm %[1]s  # systemctl stop etcd; the data dir stays", m.ContainerName())}
		if err := m.Stop(ctx); err != nil {
			return a, err
		}
		return a, m.RemoveContainer(ctx)
	})
}

// readdLost adds each lost member back through the survivor: `member add`,
// start it with an empty data dir and --initial-cluster-state=existing,
// and wait until the members started so far agree on a leader before the
// next one, so the cluster never has two unstarted voters at once.
func readdLost(ctx context.Context, d *Drill) error {
	c := d.Cluster
	survivor := survivors(d)[0]
	started := []*harness.Member{survivor}
	for _, m := range d.victims {
		a, err := addMember(ctx, d, record.PhaseRecovery, "add "+m.Name()+" back", survivor, m.Name(), m.PeerURL(), false)
		if err != nil {
			return err
		}
		spec := c.Spec(m.Name(), a.InitialCluster, "existing")
		if err := recovery.StartMember(ctx, d.Log, c, m, spec, "start etcd on "+m.Name()+" with an empty data dir"); err != nil {
			return err
		}
		started = append(started, m)
		if _, err := c.WaitLeader(ctx, started...); err != nil {
			return fmt.Errorf("after adding %s: %w", m.Name(), err)
		}
	}
	return d.Log.Do(record.PhaseRecovery, "wait until every member is healthy", survivor.Name(), func() (record.Action, error) {
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return endpointStatus(ctx, c, survivor)
	})
}

func verifyForced(ctx context.Context, d *Drill) error {
	st := State[forceState](d)
	cli, err := d.Cluster.Client()
	if err != nil {
		return err
	}
	kvs, _, err := verify.Keyspace(ctx, cli, d.Load.Prefix, d.timeouts().Command)
	cli.Close()
	if err != nil {
		return err
	}
	digest, n := verify.Digest(kvs)
	check := verify.SameKeyspace("survivor-data-kept", st.digest, st.keys, digest, n)
	d.Record.Checks = append(d.Record.Checks, check)
	err = verifyAll(ctx, d)
	if err == nil && !check.Passed() {
		err = fmt.Errorf("%s: %s", check.Name, check.Summary)
	}
	return err
}
