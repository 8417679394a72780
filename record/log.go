package record

import (
	"errors"
	"fmt"
	"log/slog"
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

// Log collects a drill's steps in the order they ran. It is safe for
// concurrent use; the zero value logs nowhere but still records.
type Log struct {
	Logger *slog.Logger
	mu     sync.Mutex
	steps  []Step
}

// Steps returns a copy of the recorded steps.
func (l *Log) Steps() []Step {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Step(nil), l.steps...)
}

// Do runs fn as one step and records it: pass when fn returns nil, fail
// with the error otherwise. It returns fn's error prefixed with the step
// name.
func (l *Log) Do(phase Phase, name, member string, fn func() (Action, error)) error {
	s, err := l.run(phase, name, member, fn)
	if err != nil {
		s.Verdict, s.Error = Fail, err.Error()
		err = fmt.Errorf("%s: %w", name, err)
	}
	l.add(s)
	return err
}

// Refused runs fn as a step that must fail, such as a write while quorum
// is lost: the step passes as an expected failure when fn returns an
// error, and fails with ErrNotRefused when fn succeeds.
func (l *Log) Refused(phase Phase, name, member string, fn func() (Action, error)) error {
	s, err := l.run(phase, name, member, fn)
	if err != nil {
		s.Verdict, s.Error = Expected, err.Error()
		l.add(s)
		return nil
	}
	s.Verdict, s.Error = Fail, ErrNotRefused.Error()
	l.add(s)
	return fmt.Errorf("%s: %w", name, ErrNotRefused)
}

func (l *Log) run(phase Phase, name, member string, fn func() (Action, error)) (Step, error) {
	s := Step{Phase: phase, Name: name, Member: member, Start: time.Now(), Verdict: Pass}
	if l.Logger != nil {
		l.Logger.Info("step start", "phase", phase, "step", name, "member", member)
	}
	a, err := fn()
	s.End = time.Now()
	s.Command, s.Output, s.Exit = a.Command, a.Output, a.Exit
	if l.Logger != nil {
		l.Logger.Info("step done", "phase", phase, "step", name, "member", member, "elapsed", s.Duration().Round(time.Millisecond), "err", err)
	}
	return s, err
}

func (l *Log) add(s Step) {
	l.mu.Lock()
	l.steps = append(l.steps, s)
	l.mu.Unlock()
}
