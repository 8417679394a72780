package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// startCluster brings up the scenario's cluster and records each member's
// etcd command line and the resulting `endpoint status`.
func startCluster(ctx context.Context, d *Drill) error {
	opts := []harness.Option{
		harness.WithVersion(d.Opts.Version), harness.WithImage(d.Opts.Image), harness.WithName(d.Scenario.Name),
		harness.WithMembers(d.Record.Config.Members), harness.WithTLS(d.Record.Config.TLS),
		harness.WithTimeouts(d.timeouts()), harness.WithLogger(d.lg),
	}
	opts = append(opts, d.Scenario.ClusterOptions...)
	err := d.Log.Do(record.PhaseSetup, fmt.Sprintf("start a %d-member cluster", d.Record.Config.Members), "", func() (record.Action, error) {
		c, err := harness.New(ctx, opts...)
		d.Cluster = c // kept even on error: Close removes what was made
		if err != nil {
			return record.Action{}, err
		}
		e, err := endpointStatus(ctx, c, c.Members()[0])
		e.Command = etcdCommands(c) + "\n# then, on " + c.Members()[0].Name() + "\n" + e.Command
		return e, err
	})
	if err != nil || !d.Record.Config.Auth {
		return err
	}
	return enableAuth(ctx, d)
}

// endpointStatus runs `etcdctl endpoint status -w table` on m against
// every member.
func endpointStatus(ctx context.Context, c *harness.Cluster, m *harness.Member) (record.Action, error) {
	return m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "status", "--write-out=table")...)
}

// startLoad starts the writers and waits until the cluster has
// acknowledged a first batch.
func startLoad(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "write under load", "", func() (record.Action, error) {
		cli, err := d.Cluster.ClientAs(d.loadCreds)
		if d.loadCreds == nil {
			cli, err = d.Cluster.Client()
		}
		if err != nil {
			return record.Action{}, err
		}
		d.loadCli = cli // closed with the load
		d.runner = workload.Start(ctx, cli, d.Load, d.Ledger)
		n, err := d.waitAcks(ctx, time.Time{}, 100)
		if err == nil {
			d.Record.Before = verify.State(ctx, d.Cluster, "before the fault")
		}
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged by the cluster; writers keep going (prefix %s, seed %d)", n, d.Load.Prefix, d.Load.Seed)}, err
	})
}

// waitAcks polls the ledger until n writes that started at or after since
// are acknowledged, bounded by the catch-up timeout.
func (d *Drill) waitAcks(ctx context.Context, since time.Time, n int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeouts().CatchUp)
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

// stopLoad stops the writers and records the ledger's totals.
func stopLoad(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseWorkload, "stop the load", "", func() (record.Action, error) {
		d.stopLoad()
		c := d.Ledger.Counts()
		return record.Action{Output: fmt.Sprintf("writes: %d acknowledged, %d failed, %d indeterminate",
			c[workload.Acknowledged], c[workload.Failed], c[workload.Indeterminate])}, nil
	})
}

// verifyAll runs the member checks and the ledger check, fills the
// keyspace metrics, and fails when any check failed.
func verifyAll(ctx context.Context, d *Drill) error {
	c := d.Cluster
	checks := verify.Cluster(ctx, c, verify.Expected(c))
	d.Record.After = verify.State(ctx, c, "after recovery")
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	timeout := d.timeouts().Command
	kvs, _, err := verify.Keyspace(ctx, cli, d.Load.Prefix, timeout)
	if err != nil {
		checks = append(checks, record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()})
	} else {
		rep := verify.Integrity(d.Ledger.Writes(), kvs, verify.IntegrityOptions{Prefix: d.Load.Prefix, UpTo: d.upTo})
		checks = append(checks, rep.Check())
		d.Record.Metrics.RPOWrites = rep.Lost
	}
	if all, _, err := verify.Keyspace(ctx, cli, "", timeout); err == nil {
		d.Record.Metrics.Digest, d.Record.Metrics.KeyCount = verify.Digest(all)
	}
	d.Record.Checks = append(d.Record.Checks, checks...)
	var failed []string
	for _, ch := range checks {
		if !ch.Passed() {
			failed = append(failed, ch.Name+": "+ch.Summary)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("checks failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

// etcdCommands renders the etcd command line of every member, each under
// a "# on mN" line, as the operator starts them on their hosts.
func etcdCommands(c *harness.Cluster) string {
	var cmds []string
	for _, m := range c.Members() {
		args, _ := harness.Flags(m.Version(), m.Spec())
		cmds = append(cmds, "# on "+m.Name()+"\netcd "+harness.ShellJoin(args))
	}
	return strings.Join(cmds, "\n")
}
