package record

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// Action is what one step did: the command as an operator types it on
// the member's host, what it printed, and its exit code.
type Action struct {
	Command string
	Output  string
	Exit    int
}

// ErrNotRefused is returned by Log.Refused when the action it expected to
// fail succeeded.
var ErrNotRefused = errors.New("expected a refusal, but it succeeded")

// ErrOtherReason is returned by Log.Refused when the action failed, but
// not for the reason the step exists to show: an exec, TLS or auth error
// proves nothing about the fault.
var ErrOtherReason = errors.New("refused for another reason")

// ErrPanic marks a step whose code panicked; the panic is recorded as the
// step's failure instead of ending the process.
var ErrPanic = errors.New("panic")

// Refusal is the reason a refused step must give. A refusal proves the
// fault only when its error or output says one of Says.
type Refusal struct {
	// Reason names the refusal in words, for reports: "no quorum".
	Reason string
	// Says are the texts, any one of which proves the reason.
	Says []string
}

// Match returns the line of out that proves the refusal, trimmed, or ""
// when none does. etcdctl and etcdutl print their error last, on a line
// with "Error:", after log lines that may quote other errors (a retried
// deadline before a permission error), so when out has such a line only
// the last one counts; otherwise any line may prove it, the last first.
func (r Refusal) Match(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "Error:") {
			lines = lines[i : i+1]
			break
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		for _, s := range r.Says {
			if s != "" && strings.Contains(lines[i], s) {
				return strings.TrimSpace(lines[i])
			}
		}
	}
	return ""
}

// Log collects a drill's steps in the order they ran. It is safe for
// concurrent use; the zero value logs nowhere but still records.
type Log struct {
	Logger *slog.Logger
	mu     sync.Mutex
	steps  []Step
	phases []RTOPhase
}

// Phase records one phase of the recovery time, as the procedure that
// went through it measured it (see Metrics.Phases).
func (l *Log) Phase(p RTOPhase) {
	l.mu.Lock()
	l.phases = append(l.phases, p)
	l.mu.Unlock()
}

// Phases returns a copy of the recorded phases, in the order recorded.
func (l *Log) Phases() []RTOPhase {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RTOPhase(nil), l.phases...)
}

// Steps returns a copy of the recorded steps in the order they started:
// steps that ran concurrently are recorded as each ends.
func (l *Log) Steps() []Step {
	l.mu.Lock()
	out := append([]Step(nil), l.steps...)
	l.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Do runs fn as one step and records it: pass when fn returns nil, fail
// with the error otherwise. It returns fn's error prefixed with the step
// name.
func (l *Log) Do(phase Phase, name, member string, fn func() (Action, error)) error {
	return l.DoConcurrent("", phase, name, member, fn)
}

// DoConcurrent is Do for a step that runs at the same time as the other
// steps of group, such as the restore on each member: the report marks
// them as concurrent.
func (l *Log) DoConcurrent(group string, phase Phase, name, member string, fn func() (Action, error)) error {
	s, err := l.run(phase, name, member, fn)
	s.Concurrent = group
	if err != nil {
		s.Verdict, s.Error = Fail, err.Error()
		err = fmt.Errorf("%s: %w", name, err)
	}
	l.add(s)
	return err
}

// Refused runs fn as a step that must fail for the reason why gives, such
// as a write while quorum is lost. The step passes as an expected failure
// when fn's error or output says why's reason; it fails with ErrNotRefused
// when fn succeeds, and with ErrOtherReason when fn failed for anything
// else. It returns the line that proved the refusal.
func (l *Log) Refused(phase Phase, name, member string, why Refusal, fn func() (Action, error)) (string, error) {
	s, err := l.run(phase, name, member, fn)
	if err == nil {
		s.Verdict, s.Error = Fail, ErrNotRefused.Error()
		l.add(s)
		return "", fmt.Errorf("%s: %w", name, ErrNotRefused)
	}
	line := refusedFor(&s, err, why)
	if line == "" {
		err = fmt.Errorf("%w than %s: %w", ErrOtherReason, why.Reason, err)
		s.Verdict, s.Error = Fail, err.Error()
		l.add(s)
		return "", fmt.Errorf("%s: %w", name, err)
	}
	l.add(s)
	return line, nil
}

// MayBeRefused runs fn as a step that either succeeds or is refused for
// the reason why gives, such as a compaction racing an alarm that makes
// etcd refuse it: a refusal passes as an expected failure, and it returns
// refused true; any other failure fails the step, as Do's does.
func (l *Log) MayBeRefused(phase Phase, name, member string, why Refusal, fn func() (Action, error)) (refused bool, err error) {
	s, err := l.run(phase, name, member, fn)
	if err != nil && refusedFor(&s, err, why) == "" {
		s.Verdict, s.Error = Fail, err.Error()
		l.add(s)
		return false, fmt.Errorf("%s: %w", name, err)
	}
	l.add(s)
	return err != nil, nil
}

// refusedFor returns the line of fn's failure err and s's output that
// proves why, and marks s as the expected failure it then is; it returns
// "" for a failure that proves nothing (a panic, or other words).
func refusedFor(s *Step, err error, why Refusal) string {
	line := why.Match(err.Error() + "\n" + s.Output)
	if line == "" || errors.Is(err, ErrPanic) {
		return ""
	}
	s.Verdict, s.Error = Expected, err.Error()
	s.Output = strings.TrimRight(s.Output, "\n") + "\n# refused: " + why.Reason
	return line
}

func (l *Log) run(phase Phase, name, member string, fn func() (Action, error)) (Step, error) {
	s := Step{Phase: phase, Name: name, Member: member, Start: time.Now(), Verdict: Pass}
	if l.Logger != nil {
		l.Logger.Info("step start", "phase", phase, "step", name, "member", member)
	}
	a, err := protect(fn)
	s.End = time.Now()
	s.Command, s.Output, s.Exit = a.Command, a.Output, a.Exit
	if l.Logger != nil {
		l.Logger.Info("step done", "phase", phase, "step", name, "member", member, "elapsed", s.Duration().Round(time.Millisecond), "err", err)
	}
	return s, err
}

// protect runs fn and turns a panic in it into an error wrapping
// ErrPanic, with the stack, so a bug in one step fails that step and the
// drill still tears down.
func protect(fn func() (Action, error)) (a Action, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Panicked(p)
		}
	}()
	return fn()
}

// Panicked turns a recovered panic value into an error wrapping ErrPanic
// that carries the stack of the panicking goroutine.
func Panicked(p any) error {
	return fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
}

// Fail records a step that failed before it could run its action, such
// as a step whose own code panicked.
func (l *Log) Fail(phase Phase, name string, start time.Time, err error) {
	l.add(Step{Phase: phase, Name: name, Start: start, End: time.Now(), Verdict: Fail, Error: err.Error()})
}

func (l *Log) add(s Step) {
	l.mu.Lock()
	l.steps = append(l.steps, s)
	l.mu.Unlock()
}
