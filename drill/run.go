package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// ErrDeadline is the cause of a drill's context when its Timeout ends.
var ErrDeadline = errors.New("drill deadline exceeded")

// Result is a finished run: its record and the report directory it was
// written to ("" when none was written).
type Result struct {
	Record *record.Record
	Dir    string
}

// Run runs the drill s with o: it resolves the configuration (an error
// wrapping ErrConfig, before anything starts), runs every step in order
// under the drill's deadline, stops at the first failing one, finishes
// the record, writes the report and tears down. A scenario that does not
// apply to the version is recorded as not applicable. The error is the
// step's failure or a failed check; the result is returned either way.
func Run(ctx context.Context, s *Scenario, o Options) (Result, error) {
	cfg, err := Resolve(s, o)
	if err != nil {
		return Result{}, err
	}
	d := New(s, cfg)
	if ok, why := s.Applies(cfg.Version); !ok {
		return d.NotApplicable(why)
	}
	if cfg.Runbook == nil {
		err = d.RunSteps(ctx, s.StepsFor(cfg))
	} else {
		err = d.runRunbook(ctx, s.StepsFor(cfg), len(s.RecoverFor(cfg)), len(s.Verify))
	}
	res, ferr := d.Finish(ctx, err)
	if err == nil && res.Record.Verdict == record.Fail {
		err = fmt.Errorf("%s: %s", s.Name, res.Record.Reason)
	}
	return res, errors.Join(err, ferr, d.Close(ctx))
}

// RunSteps runs steps in order under the drill's deadline and returns
// the first failure, naming the step. A step that panics is recorded as a
// failed step and ends the drill like any failure, so the cluster is
// still torn down.
func (d *Drill) RunSteps(ctx context.Context, steps []Step) error {
	ctx, cancel := context.WithTimeoutCause(ctx, d.Config.Timeout, fmt.Errorf("%w (%s)", ErrDeadline, d.Config.Timeout))
	defer cancel()
	return d.runSteps(d.withData(ctx), steps)
}

// withData grows every command's budget with the drill's data.
func (d *Drill) withData(ctx context.Context) context.Context {
	if n := d.Config.DataBytes; n > 0 {
		return harness.WithDataSize(ctx, n)
	}
	return ctx
}

// runSteps is RunSteps under a deadline ctx already has: what a step
// starts with ctx (the load) lasts until the drill ends.
func (d *Drill) runSteps(ctx context.Context, steps []Step) error {
	for i, st := range steps {
		d.lg.Info("step", "title", st.Title)
		if d.Config.OnStep != nil {
			d.Config.OnStep(d.Scenario.Name, i+1, len(steps), st.Title)
		}
		if err := d.step(ctx, st); err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, ErrDeadline) {
				err = fmt.Errorf("%w: %w", cause, err)
			}
			return fmt.Errorf("%s: %s: %w", d.Scenario.Name, st.Title, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: after %s: %w", d.Scenario.Name, st.Title, context.Cause(ctx))
		}
	}
	return nil
}

// runRunbook runs steps as RunSteps does, except that a failure of the
// operator's procedure (the nr steps before the last nv, the checks)
// does not end the drill: the load stops and the checks still run, to
// say what the procedure left broken; then the procedure points the
// failed checks at its lines. One deadline covers all of it.
func (d *Drill) runRunbook(ctx context.Context, steps []Step, nr, nv int) error {
	ctx, cancel := context.WithTimeoutCause(ctx, d.Config.Timeout, fmt.Errorf("%w (%s)", ErrDeadline, d.Config.Timeout))
	defer cancel()
	ctx = d.withData(ctx)
	n := len(steps)
	if err := d.runSteps(ctx, steps[:n-nv-nr]); err != nil {
		return err
	}
	rerr := d.runSteps(ctx, steps[n-nv-nr:n-nv])
	if rerr != nil {
		d.stopLoad()
	}
	verr := d.runSteps(ctx, steps[n-nv:])
	d.AddChecks(d.Config.Runbook.Explain(d)...)
	return errors.Join(rerr, verr)
}

// step runs one step, turning a panic in it into a recorded failed step.
func (d *Drill) step(ctx context.Context, st Step) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = record.Panicked(p)
			d.Log.Fail(record.PhaseSetup, st.Title, start, err)
		}
	}()
	return st.Do(ctx, d)
}

// NotApplicable finishes the record of a drill that does not apply.
func (d *Drill) NotApplicable(why string) (Result, error) {
	r := d.Record
	r.Verdict, r.Reason, r.End = record.NotApplicable, why, time.Now()
	dir, err := d.write()
	return Result{Record: r, Dir: dir}, err
}

// Failure explains a drill that did not pass in a few lines, for a test
// log that shows nothing else of it: the error (or the record's reason),
// the failing step with its command and the end of its output, the
// failed checks, and where the report is. "" when it passed.
func (r Result) Failure(err error) string {
	rec := r.Record
	if err == nil && (rec == nil || rec.Verdict != record.Fail) {
		return ""
	}
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "%v\n", err)
	} else {
		fmt.Fprintf(&b, "%s\n", rec.Reason)
	}
	if rec != nil {
		for _, s := range rec.Steps {
			if s.Verdict != record.Fail {
				continue
			}
			fmt.Fprintf(&b, "failed step %q (%s, %s, exit %d): %s\n", s.Name, s.Phase, s.Duration().Round(time.Millisecond), s.Exit, s.Error)
			if s.Command != "" {
				fmt.Fprintf(&b, "  $ %s\n", lastLines(s.Command, 3))
			}
			if s.Output != "" {
				fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(lastLines(s.Output, 12), "\n", "\n  "))
			}
		}
		for _, c := range rec.Checks {
			if !c.Passed() {
				fmt.Fprintf(&b, "failed check %s: %s\n", c.Name, c.Summary)
			}
		}
	}
	if r.Dir != "" {
		fmt.Fprintf(&b, "report: %s\n", r.Dir)
	}
	return strings.TrimSpace(b.String())
}

// lastLines is the last n lines of s, each cut at 400 bytes.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}
