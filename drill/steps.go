package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// StartCluster brings up the drill's cluster and records each member's
// etcd command line and the resulting `endpoint status`; with auth on it
// then enables auth as the operator does.
func StartCluster(ctx context.Context, d *Drill) error {
	cfg := d.Config
	opts := []harness.Option{
		harness.WithVersion(cfg.Version.String()), harness.WithImage(cfg.Image), harness.WithName(d.Scenario.Name),
		harness.WithMembers(cfg.Members), harness.WithTLS(cfg.TLS), harness.WithTimeouts(cfg.Timeouts), harness.WithLogger(d.lg),
	}
	opts = append(opts, d.Scenario.ClusterOptions...)
	err := d.Log.Do(record.PhaseSetup, fmt.Sprintf("start a %d-member cluster", cfg.Members), "", func() (record.Action, error) {
		c, err := harness.New(ctx, opts...)
		d.Cluster = c // kept even on error: Close removes what was made
		if err != nil {
			return record.Action{}, err
		}
		m := c.Members()[0]
		e, err := recovery.EndpointStatusTable(ctx, c, m)
		e.Command = recovery.EtcdCommands(c) + "\n# then, on " + m.Name() + "\n" + e.Command
		return e, err
	})
	if err != nil || !cfg.Auth {
		return err
	}
	d.loadCreds, err = recovery.EnableAuth(ctx, d.Log, d.Cluster, cfg.Load.Prefix)
	return err
}

// StartLoad starts the writers and waits until the cluster has
// acknowledged a first batch; the cluster as it is then is the report's
// "before the fault".
func StartLoad(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "write under load", "", func() (record.Action, error) {
		cli, err := d.Cluster.ClientAs(d.loadCreds)
		if d.loadCreds == nil {
			cli, err = d.Cluster.Client()
		}
		if err != nil {
			return record.Action{}, err
		}
		d.loadCli = cli // closed with the load
		d.runner = workload.Start(ctx, cli, d.Config.Load, d.Ledger)
		n, err := d.WaitAcks(ctx, time.Time{}, 100)
		if err == nil {
			d.Record.Before = verify.State(ctx, d.Cluster, "before the fault")
		}
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged by the cluster; writers keep going (prefix %s, seed %d)", n, d.Config.Load.Prefix, d.Config.Seed)}, err
	})
}

// WaitAcks polls the ledger until n writes that started at or after since
// are acknowledged, bounded by the catch-up timeout.
func (d *Drill) WaitAcks(ctx context.Context, since time.Time, n int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
	defer cancel()
	got := 0
	err := harness.Poll(ctx, 50*time.Millisecond, func(context.Context) error {
		if got = d.Ledger.AckedSince(since); got < n {
			return fmt.Errorf("%d of %d writes acknowledged", got, n)
		}
		return nil
	})
	return got, err
}

// StopLoad stops the writers and records the ledger's totals.
func StopLoad(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "stop the load", "", func() (record.Action, error) {
		d.stopLoad()
		c := d.Ledger.Counts()
		return record.Action{Output: fmt.Sprintf("writes: %d acknowledged, %d failed, %d indeterminate",
			c[workload.Acknowledged], c[workload.Failed], c[workload.Indeterminate])}, nil
	})
}

// WriteMore waits for 100 more acknowledged writes.
func WriteMore(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "more writes are acknowledged", "", func() (record.Action, error) {
		n, err := d.WaitAcks(ctx, time.Now(), 100)
		return record.Action{Output: fmt.Sprintf("%d more writes acknowledged", n)}, err
	})
}

// VerifyAll runs the member checks and the ledger check, fills the
// keyspace metrics and the RPO, and fails when one of them failed.
func VerifyAll(ctx context.Context, d *Drill) error { return VerifyWith(ctx, d) }

// VerifyWith is VerifyAll for a drill with checks of its own: it records
// extra before the common checks and fails when any of them failed. Checks
// recorded earlier (an upgrade gate, say) do not decide it.
func VerifyWith(ctx context.Context, d *Drill, extra ...record.Check) error {
	c := d.Cluster
	checks := verify.Cluster(ctx, c, verify.Expected(c))
	d.Record.After = verify.State(ctx, c, "after recovery")
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	timeout := d.Config.Timeouts.Command
	prefix := d.Config.Load.Prefix
	kvs, _, err := verify.Keyspace(ctx, cli, prefix, timeout)
	if err != nil {
		checks = append(checks, record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()})
	} else {
		rep := verify.Integrity(d.Ledger.Writes(), kvs, verify.IntegrityOptions{Prefix: prefix, UpTo: State[Restore](d).UpTo})
		checks = append(checks, rep.Check())
		d.Record.Metrics.RPOWrites = record.Count(rep.Lost)
	}
	if all, _, err := verify.Keyspace(ctx, cli, "", timeout); err == nil {
		d.Record.Metrics.Digest, d.Record.Metrics.KeyCount = verify.Digest(all)
	}
	checks = append(extra, checks...)
	d.AddChecks(checks...)
	return CheckErr(checks...)
}
