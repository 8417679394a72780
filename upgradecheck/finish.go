package upgradecheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/upgrade"
)

// steps is the check as a runbook. The gates come first: a blocked path
// ends the check before any image is built.
func (u *run) steps() []drill.Step {
	steps := []drill.Step{
		{Title: "check the gates", Do: u.gate},
		{Title: "build or reuse both images", Do: u.images},
		{Title: "start a cluster on " + u.from.String(), Do: u.startCluster},
		{Title: "write under load", Do: drill.StartLoad},
	}
	if u.o.V2 {
		steps = append(steps, drill.Step{Title: "write v2 keys", Do: drill.WriteV2Keys})
	}
	steps = append(steps, drill.Step{Title: "save a snapshot on " + u.from.String(), Do: u.saveSnapshot})
	if u.o.DataDir != "" {
		steps = append(steps, drill.Step{Title: "check the production data dir", Do: u.checkDataDir})
	}
	return append(steps,
		drill.Step{Title: "replace every member with " + u.to.String(), Do: u.rollUp},
		drill.Step{Title: "the cluster version follows", Do: u.clusterVersion},
		drill.Step{Title: "go back to " + u.from.String() + " where etcd supports it", Do: u.downgradeBack},
		drill.Step{Title: "stop the load", Do: drill.StopLoad},
		drill.Step{Title: "verify members and keys", Do: drill.VerifyAll},
		drill.Step{Title: "restore the " + u.from.String() + " snapshot on " + u.to.String(), Do: u.restoreFallback},
	)
}

// finish adds the verdict check, finishes the record through the drill
// engine (which writes the report), tears down and fills the result.
func (u *run) finish(ctx context.Context, runErr error) (*Result, error) {
	d := u.d
	d.AddChecks(u.verdict(ctx, runErr))
	res, ferr := d.Finish(ctx, runErr)
	cerr := errors.Join(d.Close(ctx), u.fallback.Close(ctx))
	r := res.Record
	u.res.Verdict, u.res.Reason, u.res.Safe, u.res.Record, u.res.ReportDir = r.Verdict, r.Reason, r.Verdict == record.Pass, r, res.Dir
	switch {
	case runErr != nil || u.res.Safe:
	case len(upgrade.Filter(u.res.Findings, upgrade.Blocker)) > 0: // a demonstration ran the blocked path anyway
		runErr = fmt.Errorf("%w: %s", ErrBlocked, r.Reason)
	default:
		runErr = fmt.Errorf("upgrade-check %s → %s: %s", u.from, u.to, r.Reason)
	}
	return u.res, errors.Join(runErr, ferr, cerr)
}

// verdict is the check that answers the question, with every blocker and
// warning as evidence. It sets the record's reason when it is more
// precise than Finish's: the blockers, or the rehearsal's first failure.
func (u *run) verdict(ctx context.Context, runErr error) record.Check {
	blockers := upgrade.Filter(u.res.Findings, upgrade.Blocker)
	v := record.Check{Name: "verdict", Verdict: record.Pass, Summary: fmt.Sprintf("safe to %s from %s to %s", u.res.Direction, u.from, u.to)}
	switch failed := failure(u.d, runErr); {
	case len(blockers) > 0:
		v.Verdict, v.Summary = record.Fail, fmt.Sprintf("not safe: %d blocker(s) for %s → %s; fix each, then run the check again", len(blockers), u.from, u.to)
		u.d.Record.Reason = upgrade.Summary(blockers)
	case ctx.Err() != nil:
		v.Verdict, v.Summary = record.NotApplicable, "no verdict: the check was interrupted before the rehearsal finished"
	case failed != "":
		v.Verdict, v.Summary = record.Fail, "not safe: the rehearsal failed: "+failed
		u.d.Record.Reason = failed
	}
	for _, f := range blockers {
		v.Details = append(v.Details, "blocker: "+f.Reason)
		for _, l := range f.Lines() {
			v.Details = append(v.Details, "  "+l)
		}
	}
	for _, f := range upgrade.Filter(u.res.Findings, upgrade.Warning) {
		v.Details = append(v.Details, "warning: "+f.Reason, "  do: "+f.Fix)
	}
	return v
}

// failure is the reason Finish gives a failed run, "" for none: the first
// failed step or check, else runErr.
func failure(d *drill.Drill, runErr error) string {
	r := record.Record{Steps: d.Log.Steps(), Checks: d.Record.Checks}
	if s := r.Failed(); s != "" {
		return s
	}
	if runErr != nil {
		return runErr.Error()
	}
	return ""
}
