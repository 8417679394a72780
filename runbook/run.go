package runbook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// Procedure is a runbook as a drill's recovery procedure: set it as
// drill.Options.Runbook. It keeps nothing of a run itself (what a run
// learns is the drill's State), so one Procedure serves many drills.
type Procedure struct{ Runbook *Runbook }

// runState is what one drill's run of the runbook learned.
type runState struct {
	env Env
	ran []ran
}

// ran is one action that ran, on the member it resolved to.
type ran struct {
	Action
	member string
	err    error
}

// Steps are one drill step per block, then etcdrill's own wait until
// every member is healthy, which the checks need and the runbook may
// leave to its operator.
func (p Procedure) Steps() []drill.Step {
	var steps []drill.Step
	for i, st := range p.Runbook.Steps {
		steps = append(steps, drill.Step{Title: st.Title + " (" + p.Runbook.At(st.Line) + ")", Do: func(ctx context.Context, d *drill.Drill) error {
			if i == 0 {
				if err := p.start(ctx, d); err != nil {
					return err
				}
			}
			return p.step(ctx, d, st)
		}})
	}
	return append(steps, drill.Step{Title: "etcdrill waits until every member is healthy (not a runbook step)", Do: waitHealthy})
}

// start fixes the variables once the fault has struck, resolves every
// host variable before the first line runs, and copies the snapshot the
// drill saved (if any) into every host's backup dir, as ${SNAPSHOT}.
func (p Procedure) start(ctx context.Context, d *drill.Drill) error {
	c := d.Cluster
	rs := drill.State[runState](d)
	rs.env = Env{Members: recovery.Names(c), TLS: d.Config.TLS, Auth: c.Root() != nil, Version: d.Config.Version.String(),
		ClusterToken: c.Token(), Token: recovery.NewToken(c.Token())}
	if r := c.Root(); r != nil {
		rs.env.User, rs.env.Password = r.User, r.Password
	}
	for _, m := range drill.Survivors(d) {
		rs.env.Survivors = append(rs.env.Survivors, m.Name())
	}
	for _, m := range drill.State[drill.Outage](d).Victims {
		rs.env.Lost = append(rs.env.Lost, m.Name())
	}
	d.Event("recovery", "the operator's runbook "+p.Runbook.File+" replaces the built-in procedure")
	for _, st := range p.Runbook.Steps {
		for _, a := range st.Actions {
			if _, err := rs.env.Host(a.Host); err != nil {
				return fmt.Errorf("%s: %w", p.Runbook.At(cmp.Or(a.HostLine, a.Line)), err)
			}
		}
	}
	if snap := drill.State[drill.Restore](d).Snapshot; snap != nil && !snap.Distributed {
		return recovery.Distribute(ctx, d.Log, c, snap)
	}
	return nil
}

// step runs a block's actions in order and stops at the first failure,
// which names the runbook's lines.
func (p Procedure) step(ctx context.Context, d *drill.Drill, st Step) error {
	rs := drill.State[runState](d)
	for _, a := range st.Actions {
		name, err := rs.env.Host(a.Host)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Runbook.At(a.Line), err)
		}
		m := d.Cluster.Member(name)
		if m == nil {
			return fmt.Errorf("%s: no member %s", p.Runbook.At(a.Line), name)
		}
		span := p.Runbook.Span(a)
		title := fmt.Sprintf("%s: %s on %s (%s)", st.Title, what(a), name, span)
		err = d.Log.Do(record.PhaseRecovery, title, name, func() (record.Action, error) {
			var e record.Action
			var err error
			switch a.Kind {
			case Stop:
				e, err = stop(ctx, m)
			case Start:
				e, err = start(ctx, d.Cluster, m, a, rs.env)
			default:
				e, err = shell(ctx, m, a, rs.env)
			}
			e.Command = "# " + span + "\n" + a.Text
			return e, exitErr(err, e)
		})
		rs.ran = append(rs.ran, ran{Action: a, member: name, err: err})
		if err != nil {
			return fmt.Errorf("%s on %s: %w", span, name, err)
		}
	}
	return nil
}

// exitErr says how a shell exited, with its last line of output, in
// place of the harness's error that names the command by its first word.
func exitErr(err error, e record.Action) error {
	var ee *harness.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	last := ""
	if lines := strings.Split(strings.TrimSpace(e.Output), "\n"); len(lines) > 0 {
		last = ": " + strings.TrimSpace(lines[len(lines)-1])
	}
	return fmt.Errorf("sh exited %d%s", e.Exit, last)
}

func what(a Action) string {
	if a.Kind == Shell {
		return "run lines"
	}
	return a.Kind.String()
}

// shell runs a's lines on m's host: inside the member while etcd runs
// there, else in a one-off container with its volumes.
func shell(ctx context.Context, m *harness.Member, a Action, env Env) (record.Action, error) {
	if m.Running(ctx) {
		return m.ExecEnv(ctx, env.Environ(m.Name()), "sh", "-euc", a.Text)
	}
	return m.Shell(ctx, env.Environ(m.Name()), a.Text)
}

// stop stops etcd on m and removes its container, keeping the data
// volume; where etcd is not running it only says so.
func stop(ctx context.Context, m *harness.Member) (record.Action, error) {
	if !m.Running(ctx) {
		return record.Action{Output: "etcd is not running on " + m.Name() + "; nothing to stop"}, m.RemoveContainer(ctx)
	}
	if err := m.Stop(ctx); err != nil {
		return record.Action{}, err
	}
	return record.Action{Output: fmt.Sprintf("etcdrill: docker stop %[1]s && docker rm %[1]s; the data dir stays", m.ContainerName())}, m.RemoveContainer(ctx)
}

// start starts etcd on m with the member's unit (the cluster's default
// spec) changed by a's flags, expanded with the host's variables.
func start(ctx context.Context, c *harness.Cluster, m *harness.Member, a Action, env Env) (record.Action, error) {
	if m.Running(ctx) {
		return record.Action{}, errors.New("etcd is already running on " + m.Name() + ": stop it first")
	}
	vars := env.Vars(m.Name())
	conf, err := startFlags(a.Flags, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		return record.Action{}, err
	}
	spec := c.Spec(m.Name(), vars["INITIAL_CLUSTER"], "new")
	if conf.InitialCluster != nil {
		spec.InitialCluster = *conf.InitialCluster
	}
	if conf.Token != nil {
		spec.Token = *conf.Token
	}
	if conf.State != nil {
		spec.State = *conf.State
	}
	if conf.DataDir != nil {
		spec.DataDir = *conf.DataDir
	}
	if conf.ForceNewCluster != nil {
		spec.ForceNewCluster = *conf.ForceNewCluster
	}
	spec.Extra = conf.Extra
	args, err := harness.Flags(m.Version(), spec)
	e := record.Action{Output: "etcdrill starts: etcd " + harness.ShellJoin(args)}
	if err != nil {
		return e, err
	}
	if err := m.RemoveContainer(ctx); err != nil {
		return e, err
	}
	if err := m.Create(ctx, spec); err != nil {
		return e, err
	}
	if conf.Token != nil {
		c.SetToken(*conf.Token) // the unit now says so
	}
	return e, m.Start(ctx)
}

// waitHealthy waits until every member is healthy with one leader,
// within the cluster-ready timeout, and shows `endpoint status`.
func waitHealthy(ctx context.Context, d *drill.Drill) error {
	c := d.Cluster
	return d.Log.Do(record.PhaseRecovery, "etcdrill waits until every member is healthy (not a runbook step)", "", func() (record.Action, error) {
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		for _, m := range c.Members() {
			if m.Running(ctx) {
				return recovery.EndpointStatusTable(ctx, c, m)
			}
		}
		return record.Action{}, nil
	})
}
