package upgradecheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// restoreFallback rehearses the way out of a failed upgrade: the
// snapshot saved on From before the first member was replaced is
// restored into a new cluster on To, and every write acknowledged up to
// its revision must be there. The upgraded cluster goes first: one
// cluster at a time. The new cluster is u.fallback; d.Cluster stays the
// rehearsal's, which names the record and the report.
func (u *run) restoreFallback(ctx context.Context, d *drill.Drill) error {
	if u.to.Minor < u.from.Minor {
		why := fmt.Sprintf("not rehearsed: a snapshot from %d.%d is not supported on the older %d.%d; on a downgrade the way back is the upgrade", u.from.Major, u.from.Minor, u.to.Major, u.to.Minor)
		u.res.Fallback = why
		d.AddChecks(record.Check{Name: "fallback-restore", Verdict: record.NotApplicable, Summary: why})
		return nil
	}
	if err := d.Log.Do(record.PhaseSetup, "tear down the upgraded cluster", "", func() (record.Action, error) {
		return record.Action{Command: "# the rehearsal cluster is done; the fallback gets a cluster of its own"}, d.Cluster.Close(ctx)
	}); err != nil {
		return err
	}
	cfg := d.Config
	title := fmt.Sprintf("start a %d-member cluster on %s for the fallback", cfg.Members, u.to)
	if err := d.Log.Do(record.PhaseSetup, title, "", func() (record.Action, error) {
		c, err := harness.New(ctx,
			harness.WithVersion(u.to.String()), harness.WithName(scenario.Name+"-fallback"),
			harness.WithMembers(cfg.Members), harness.WithTLS(cfg.TLS),
			harness.WithTimeouts(cfg.Timeouts), harness.WithLogger(d.Logger()))
		u.fallback = c // kept even on error: finish closes what was made
		if err != nil {
			return record.Action{}, err
		}
		return recovery.EndpointStatusTable(ctx, c, c.Members()[0])
	}); err != nil {
		return err
	}
	c := u.fallback
	if err := recovery.RestoreCluster(ctx, d.Log, c, u.snap, recovery.NewToken(c.Token())); err != nil {
		return err
	}
	check := u.fallbackCheck(ctx, c)
	d.AddChecks(check)
	if !check.Passed() {
		return fmt.Errorf("%s: %s", check.Name, check.Summary)
	}
	return nil
}

// fallbackCheck checks the restored cluster's members and the keys up to
// the snapshot revision, as one check.
func (u *run) fallbackCheck(ctx context.Context, c *harness.Cluster) record.Check {
	d, load := u.d, u.d.Config.Load
	checks := verify.Cluster(ctx, c, verify.Expected(c))
	rev := u.snap.Status.Revision
	lost := 0
	cli, err := c.Client()
	if err != nil {
		checks = append(checks, record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()})
	} else {
		kvs, _, err := verify.Keyspace(ctx, cli, load.Prefix, d.Config.Timeouts.Command)
		cli.Close()
		if err != nil {
			checks = append(checks, record.Check{Name: "key-integrity", Verdict: record.Fail, Summary: err.Error()})
		} else {
			rep := verify.Integrity(d.Ledger.Writes(), kvs, verify.IntegrityOptions{Prefix: load.Prefix, UpTo: rev})
			checks, lost = append(checks, rep.Check()), rep.Lost
		}
	}
	out := record.Check{Name: "fallback-restore", Verdict: record.Pass}
	var failed []string
	for _, ch := range checks {
		out.Details = append(out.Details, fmt.Sprintf("%s: %s: %s", ch.Name, ch.Verdict, ch.Summary))
		if !ch.Passed() {
			failed = append(failed, ch.Name+": "+ch.Summary)
		}
	}
	out.Summary = fmt.Sprintf("the %s snapshot at revision %d restored into a new %s cluster: every write up to it present; %d written during the upgrade were after it (the fallback's RPO)", u.from, rev, u.to, lost)
	u.res.Fallback = fmt.Sprintf("rehearsed: the %s snapshot (revision %d) restored on %s, keys intact up to it; %d later writes would be lost", u.from, rev, u.to, lost)
	if len(failed) > 0 {
		out.Verdict, out.Summary = record.Fail, strings.Join(failed, "; ")
		u.res.Fallback = "failed: " + out.Summary
	}
	return out
}
