package drill

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/workload"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestDrill is a drill of steps that need no cluster.
func newTestDrill(t *testing.T, o Options, steps ...Step) (*Drill, []Step) {
	t.Helper()
	s := &Scenario{Name: "unit", Members: 1}
	o.Logger = quiet()
	cfg, err := Resolve(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return New(s, cfg), steps
}

// TestPanicInStepIsAFailedStep is defect 1's second half: a panic inside
// any step must be recorded as a failed step, and the drill must go on to
// finish and tear down instead of crashing the process.
func TestPanicInStepIsAFailedStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		step Step
	}{
		{"in the step's own code", Step{"index a member that is not there", func(ctx context.Context, d *Drill) error {
			var ms []int
			_ = ms[3]
			return nil
		}}},
		{"inside Log.Do", Step{"a logged action that panics", func(ctx context.Context, d *Drill) error {
			return d.Log.Do(record.PhaseRecovery, "panicking action", "m1", func() (record.Action, error) {
				var m map[string]int
				m["x"] = 1
				return record.Action{}, nil
			})
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, steps := newTestDrill(t, Options{OutDir: t.TempDir()}, tc.step)
			err := d.RunSteps(context.Background(), steps)
			if !errors.Is(err, record.ErrPanic) {
				t.Fatalf("RunSteps = %v, want an error wrapping ErrPanic", err)
			}
			res, _ := d.Finish(context.Background(), err)
			if res.Record.Verdict != record.Fail {
				t.Fatalf("verdict %s, want fail", res.Record.Verdict)
			}
			last := res.Record.Steps[len(res.Record.Steps)-1]
			if last.Verdict != record.Fail || !strings.Contains(last.Error, "panic") {
				t.Fatalf("last step %+v: want a failed step saying panic", last)
			}
			if _, err := os.Stat(filepath.Join(res.Dir, reports.JSONFile)); err != nil {
				t.Fatalf("no report written after the panic: %v", err)
			}
			if err := d.Close(context.Background()); err != nil {
				t.Fatalf("close after panic: %v", err)
			}
		})
	}
}

// TestDeadlineNamesTheStep is defect 7: a step that hangs (a Docker call
// that never returns but honours its context) ends at the drill's
// deadline with an error naming the step, never a hang.
func TestDeadlineNamesTheStep(t *testing.T) {
	hang := Step{"wait on a docker call that never answers", func(ctx context.Context, d *Drill) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	d, steps := newTestDrill(t, Options{Timeout: 50 * time.Millisecond}, hang)
	done := make(chan error, 1)
	go func() { done <- d.RunSteps(context.Background(), steps) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeadline) || !strings.Contains(err.Error(), hang.Title) {
			t.Fatalf("RunSteps = %v, want ErrDeadline naming %q", err, hang.Title)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drill did not end at its deadline")
	}
}

// TestInterruptedIsNotFailed is defect 2: a drill whose caller's context
// is cancelled (Ctrl-C) is recorded as interrupted, not failed.
func TestInterruptedIsNotFailed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	step := Step{"a step the operator interrupts", func(ctx context.Context, d *Drill) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}
	d, steps := newTestDrill(t, Options{OutDir: t.TempDir()}, step)
	err := d.RunSteps(ctx, steps)
	res, _ := d.Finish(ctx, err)
	if res.Record.Verdict != record.Interrupted {
		t.Fatalf("verdict %s (%s), want interrupted", res.Record.Verdict, res.Record.Reason)
	}
	if res.Dir == "" {
		t.Fatal("an interrupted drill still writes its report")
	}
}

// TestResolveRefusesBadInput is defect 6 (and 1): what would run
// something other than what the report says is refused before anything
// starts, with one line wrapping ErrConfig.
func TestResolveRefusesBadInput(t *testing.T) {
	s := &Scenario{Name: "q", Members: 3, Fault: fault.Destroy(fault.Majority())}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"negative writers", Options{Load: workload.Config{Writers: -1}}, "--writers"},
		{"negative rate", Options{Load: workload.Config{Rate: -5}}, "--rate"},
		{"two members", Options{Members: 2}, "want 1, 3 or 5"},
		{"a majority of one member", Options{Members: 1}, "majority of a 1-member cluster"},
		{"a bad version", Options{Version: "3.6"}, "MAJOR.MINOR.PATCH"},
		{"an old version", Options{Version: "3.4.30"}, "3.5 and later"},
		{"a negative timeout", Options{Timeout: -time.Second}, "--timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(s, tc.o)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Resolve = %v, want one line wrapping ErrConfig saying %q", err, tc.want)
			}
		})
	}
	cfg, err := Resolve(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Load.Writers != 4 || cfg.Record().Writers != 4 || cfg.Load.Rate != 100 || cfg.Version.String() != harness.DefaultVersion || cfg.Timeout != DefaultTimeout {
		t.Fatalf("defaults not applied, or not what the record says: %+v", cfg)
	}
}

func TestApplies(t *testing.T) {
	s := &Scenario{Name: "v2", MinMinor: 5, MaxMinor: 5, VersionNote: "v2 is gone"}
	if ok, _ := s.Applies(harness.MustVersion("3.5.35")); !ok {
		t.Fatal("3.5 should apply")
	}
	ok, why := s.Applies(harness.MustVersion("3.6.16"))
	if ok || !strings.Contains(why, "v2 is gone") || !strings.Contains(why, "3.6.16") {
		t.Fatalf("3.6: ok=%v why=%q", ok, why)
	}
}

func TestCheckErr(t *testing.T) {
	if err := CheckErr(record.Check{Name: "a", Verdict: record.Pass}); err != nil {
		t.Fatalf("passing checks: %v", err)
	}
	err := CheckErr(record.Check{Name: "a", Verdict: record.Pass}, record.Check{Name: "hashkv", Verdict: record.Fail, Summary: "m2 differs"})
	if err == nil || !strings.Contains(err.Error(), "hashkv: m2 differs") {
		t.Fatalf("CheckErr = %v", err)
	}
}
