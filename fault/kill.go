package fault

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Kill SIGKILLs the target's members; Undo starts them again with their
// data intact.
func Kill(t Target) Fault { return kill{t} }

type kill struct{ t Target }

func (k kill) Name() string            { return "kill-" + k.t.Name() }
func (k kill) Target() Target          { return k.t }
func (k kill) Available(env Env) error { return k.t.Available(env) }

func (k kill) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := k.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	for _, m := range ms {
		if err := log.Do(record.PhaseFault, "SIGKILL etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
			return record.Action{Command: "docker kill --signal=KILL " + m.ContainerName()}, m.Kill(ctx)
		}); err != nil {
			return Injection{Victims: ms}, err
		}
	}
	undo := func(ctx context.Context) error {
		for _, m := range ms {
			if err := log.Do(record.PhaseRecovery, "start etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
				return record.Action{Command: "docker start " + m.ContainerName()}, m.Start(ctx)
			}); err != nil {
				return err
			}
		}
		return nil
	}
	// Kill returns once the process is confirmed dead: the outage starts here.
	return Injection{Victims: ms, Undo: undo, At: time.Now()}, nil
}

// Destroy SIGKILLs the target's members and deletes their data dirs: the
// machines are lost for good. There is no Undo.
func Destroy(t Target) Fault { return destroy{t} }

type destroy struct{ t Target }

func (d destroy) Name() string            { return "destroy-" + d.t.Name() }
func (d destroy) Target() Target          { return d.t }
func (d destroy) Available(env Env) error { return d.t.Available(env) }

func (d destroy) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := d.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	// The machines are lost together, as in a zone outage, and the step
	// takes about the time of one loss instead of the sum. The harness
	// still lets only one container at a time leave the network (a Docker
	// 20.10 deadlock, see harness.Cluster), so the kills land some tens of
	// milliseconds apart.
	group := ""
	if len(ms) > 1 {
		group = "destroy"
	}
	err = harness.EachMember(ms, func(m *harness.Member) error {
		return log.DoConcurrent(group, record.PhaseFault, "lose "+m.Name()+" and its data dir", m.Name(), func() (record.Action, error) {
			a := record.Action{Command: fmt.Sprintf("docker kill --signal=KILL %[1]s && docker rm %[1]s && docker volume rm %[1]s-data  # rm -rf %[2]s", m.ContainerName(), harness.DataDir)}
			if err := m.Kill(ctx); err != nil {
				return a, err
			}
			return a, m.Wipe(ctx)
		})
	})
	if err != nil {
		return Injection{Victims: ms}, err
	}
	return Injection{Victims: ms, At: time.Now()}, nil
}
