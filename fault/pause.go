package fault

import (
	"context"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Pause freezes the target's members with `docker pause` (the cgroup
// freezer: SIGSTOP without a signal the process could see): etcd keeps
// its sockets and its belief that it leads, but answers nothing. Undo
// resumes them with `docker unpause`.
func Pause(t Target) Fault { return pause{t} }

type pause struct{ t Target }

func (p pause) Name() string            { return "pause-" + p.t.Name() }
func (p pause) Target() Target          { return p.t }
func (p pause) Available(env Env) error { return p.t.Available(env) }

func (p pause) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := p.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	var paused []*harness.Member
	undo := func(ctx context.Context) error {
		for _, m := range paused {
			if err := log.Do(record.PhaseRecovery, "resume etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
				return record.Action{Command: "docker unpause " + m.ContainerName()}, m.Unpause(ctx)
			}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range ms {
		if err := log.Do(record.PhaseFault, "freeze etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
			return record.Action{Command: "docker pause " + m.ContainerName()}, m.Pause(ctx)
		}); err != nil {
			return Injection{Victims: ms, Undo: undo}, err
		}
		paused = append(paused, m)
	}
	return Injection{Victims: ms, Undo: undo, At: time.Now()}, nil
}
