package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/fault"
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
	if cfg.large() {
		opts = append(opts, harness.WithQuota(LargeQuota))
	}
	opts = append(opts, fault.ClusterOptions(d.Scenario.Faults()...)...)
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

// FirstBatch is how many writes StartLoad waits for the cluster to
// acknowledge: enough that each of the default 4 writers has written a
// dozen keys before anything is saved or broken, and half a second at the
// default 100 writes/s, which every drill pays.
const FirstBatch = 50

// StartLoad starts the writers and waits until the cluster has
// acknowledged a first batch (FirstBatch); the cluster as it is then is
// the report's "before the fault".
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
		// The watchers first, so they see the load from its first write.
		if err := d.startClients(ctx, cli); err != nil {
			return record.Action{}, err
		}
		d.runner = workload.Start(ctx, cli, d.Config.Load, d.Ledger)
		out := fmt.Sprintf("; %d clients reading and updating %d hot keys under %s; %d watchers on %s",
			HotClients, HotKeys, d.HotPrefix(), Watchers, d.Config.Load.Prefix)
		if ds := State[Data](d).Set; ds != nil && d.Config.Data.Profile == "k8s" {
			// The API server compacts every 5 minutes; a drill lasts about
			// one, so its compactions come more often.
			State[Data](d).Traffic = ds.StartTraffic(ctx, cli, workload.TrafficConfig{CompactInterval: 10 * time.Second})
			out += fmt.Sprintf("; Kubernetes-shaped traffic on %s: updates, deletes, events on leases, watchers, compaction", d.Config.Data.Prefix())
		}
		n, err := d.WaitAcks(ctx, time.Time{}, FirstBatch)
		if err == nil {
			d.Record.Before = verify.State(ctx, d.Cluster, "before the fault")
			d.Record.Metrics.DBSizeBefore = maxDBSize(d.Record.Before)
			d.Record.Metrics.KeysBefore = countKeys(ctx, cli, d.Config.Timeouts.Command)
		}
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged by the cluster; writers keep going (prefix %s, seed %d)%s", n, d.Config.Load.Prefix, d.Config.Seed, out)}, err
	})
}

// WaitAcks polls the ledger until n writes that started at or after since
// are acknowledged, bounded by the catch-up timeout.
func (d *Drill) WaitAcks(ctx context.Context, since time.Time, n int) (int, error) {
	return d.waitLedger(ctx, n, func() int { return d.Ledger.AckedSince(since) })
}

// WaitAcksAbove polls the ledger until n writes with a revision above rev
// are acknowledged, bounded by the catch-up timeout. Those a snapshot at
// rev lacks are counted from the moment it was taken, however long its
// copy took.
func (d *Drill) WaitAcksAbove(ctx context.Context, rev int64, n int) (int, error) {
	return d.waitLedger(ctx, n, func() int { return d.Ledger.AckedAbove(rev) })
}

func (d *Drill) waitLedger(ctx context.Context, n int, count func() int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
	defer cancel()
	got := 0
	err := harness.Poll(ctx, 50*time.Millisecond, func(context.Context) error {
		if got = count(); got < n {
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
		out := fmt.Sprintf("writes: %d acknowledged, %d failed, %d indeterminate",
			c[workload.Acknowledged], c[workload.Failed], c[workload.Indeterminate])
		if d.Config.Data.Profile == "k8s" && !d.Config.Data.IsZero() {
			out += "\nKubernetes-shaped traffic: " + trafficLine(d.trafficStats)
		}
		return record.Action{Output: out}, nil
	})
}

// WriteMore waits for as many more acknowledged writes as the first batch
// (FirstBatch): a dozen from each writer proves the recovered cluster
// takes the load again.
func WriteMore(ctx context.Context, d *Drill) error {
	return d.Log.Do(record.PhaseObserve, "more writes are acknowledged", "", func() (record.Action, error) {
		n, err := d.WaitAcks(ctx, time.Now(), FirstBatch)
		return record.Action{Output: fmt.Sprintf("%d more writes acknowledged", n)}, err
	})
}

// VerifyAll runs the member checks and the ledger check, fills the
// keyspace metrics and the RPO, and fails when one of them failed.
func VerifyAll(ctx context.Context, d *Drill) error { return VerifyWith(ctx, d) }

// VerifyWith is VerifyAll for a drill with checks of its own: it records
// extra before the common checks and fails when any of them failed. Checks
// recorded earlier (an upgrade gate, say) do not decide it.
//
// The keyspace is read once, paginated at one revision, with memory
// bounded whatever its size: the load's keys go to the ledger check, a
// data profile's to the dataset check, the operator's snapshot's to a
// key-by-key comparison with the file, and every key to the digest.
func VerifyWith(ctx context.Context, d *Drill, extra ...record.Check) error {
	c := d.Cluster
	checks := verify.Cluster(ctx, c, verify.Expected(c))
	d.Record.After = verify.State(ctx, c, "after recovery")
	d.Record.Metrics.DBSizeAfter = maxDBSize(d.Record.After)
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	upTo := State[Restore](d).UpTo
	ks, err := readKeyspace(ctx, d, cli, upTo)
	if err != nil {
		checks = append(checks, record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()})
	} else {
		rep := verify.Integrity(d.Ledger.Writes(), ks.load, verify.IntegrityOptions{Prefix: d.Config.Load.Prefix, UpTo: upTo})
		checks = append(checks, rep.Check())
		checks = append(checks, ks.checks...)
		checks = append(checks, d.clientChecks(ctx, cli)...)
		m := &d.Record.Metrics
		m.RPOWrites = record.Count(rep.Lost)
		m.Digest, m.KeyCount = ks.digest, ks.keys
		m.KeysAfter = ks.keys
		if upTo > 0 {
			m.RPORevisions, m.RPOMillis = rpo(d.Ledger.Writes(), upTo)
		}
	}
	checks = append(extra, checks...)
	d.AddChecks(checks...)
	return CheckErr(checks...)
}
