package upgradecheck

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

// checkStep runs the member checks (health, one leader, term, cluster ID,
// membership, alarms, HashKV) and the ledger check while the writers keep
// going, and records them as one check for the member's step.
func (u *run) checkStep(ctx context.Context, mu MemberUpgrade, to harness.Version) error {
	c := u.d.Cluster
	checks := append(verify.Cluster(ctx, c, verify.Expected(c)), u.liveIntegrity(ctx))
	step := record.Check{Name: fmt.Sprintf("%s → %s", mu.Name, to), Verdict: record.Pass}
	var failed []string
	for _, ch := range checks {
		step.Details = append(step.Details, fmt.Sprintf("%s: %s: %s", ch.Name, ch.Verdict, ch.Summary))
		if !ch.Passed() {
			failed = append(failed, ch.Name+": "+ch.Summary)
		}
	}
	leader := ""
	if mu.WasLeader {
		leader = " (was the leader)"
	}
	step.Summary = fmt.Sprintf("%s%s out %s; server %s, cluster version %s; %d checks passed",
		mu.Name, leader, time.Duration(mu.OutMillis)*time.Millisecond, mu.Server, mu.Cluster, len(checks)-len(failed))
	if len(failed) > 0 {
		step.Verdict, step.Summary = record.Fail, fmt.Sprintf("after %s moved to %s: %s", mu.Name, to, strings.Join(failed, "; "))
	}
	u.d.AddChecks(step)
	if step.Verdict == record.Fail {
		return fmt.Errorf("checks after %s: %s", mu.Name, strings.Join(failed, "; "))
	}
	return nil
}

// liveIntegrity checks the workload's keys against the ledger so far,
// with the writers still running. A linearizable read from t0 to t1 sees
// every write acknowledged before t0 and none started after t1; writes in
// between may be either way, so they count as indeterminate. Writers are
// sequential, so once each has started a write after t1, every write in
// flight during the read is in the ledger.
func (u *run) liveIntegrity(ctx context.Context) record.Check {
	d, load := u.d, u.d.Config.Load
	fail := func(err error) record.Check {
		return record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()}
	}
	cli, err := d.Cluster.Client()
	if err != nil {
		return fail(err)
	}
	defer cli.Close()
	t0 := time.Now()
	kvs, _, err := verify.Keyspace(ctx, cli, load.Prefix, d.Config.Timeouts.Command)
	if err != nil {
		return fail(err)
	}
	t1 := time.Now()
	wctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.CatchUp)
	defer cancel()
	err = harness.Poll(wctx, 50*time.Millisecond, func(context.Context) error {
		if n := writersSince(d.Ledger.Writes(), load.Prefix, t1); n < load.Writers {
			return fmt.Errorf("%d of %d writers wrote since the read", n, load.Writers)
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("wait for writes in flight: %w", err))
	}
	return verify.Integrity(ledgerCut(d.Ledger.Writes(), t0, t1), kvs, verify.IntegrityOptions{Prefix: load.Prefix}).Check()
}

// ledgerCut returns the ledger as a read from t0 to t1 must see it:
// writes that ended before t0 as recorded, writes that overlap the read
// as indeterminate, and nothing that started after t1.
func ledgerCut(ws []workload.Write, t0, t1 time.Time) []workload.Write {
	var out []workload.Write
	for _, w := range ws {
		switch {
		case w.Start.After(t1):
			continue
		case !w.End.Before(t0):
			w.Outcome = workload.Indeterminate
		}
		out = append(out, w)
	}
	return out
}

// writersSince counts the writers that started a write after t. A
// writer is known by its key: prefix, then "wNN/" (workload.Config.Key).
func writersSince(ws []workload.Write, prefix string, t time.Time) int {
	seen := map[string]bool{}
	for _, w := range ws {
		if !w.Start.After(t) || !strings.HasPrefix(w.Key, prefix) {
			continue
		}
		rest := strings.TrimPrefix(w.Key, prefix)
		if i := strings.IndexByte(rest, '/'); i > 0 {
			seen[rest[:i]] = true
		}
	}
	return len(seen)
}
