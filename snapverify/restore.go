package snapverify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// restore restores the file into every member with a new token and
// starts them. A member that exits ends the wait at once (a version that
// cannot serve the file stops within a second), and its log says why.
func (v *verification) restore(ctx context.Context, d *drill.Drill) error {
	var extra []string
	if v.o.SkipHashCheck {
		extra = append(extra, "--skip-hash-check")
	}
	if v.o.BumpRevision > 0 {
		extra = append(extra, fmt.Sprintf("--bump-revision=%d", v.o.BumpRevision), "--mark-compacted")
	}
	c, ver := d.Cluster, d.Config.Version
	wctx, exited := watchExits(ctx, c)
	snap := v.snap
	if snap == nil {
		snap = v.file.Snapshot()
	}
	err := recovery.RestoreCluster(wctx, d.Log, c, snap, recovery.NewToken(c.Token()), extra...)
	names := exited()
	if err == nil {
		check(d, "served", nil, fmt.Sprintf("etcd %s started from the file on %s", ver, strings.Join(recovery.Names(c), ", ")))
		return nil
	}
	why := err.Error()
	if len(names) > 0 {
		names = stopped(ctx, d, names)
		why = fmt.Sprintf("etcd stopped on %s: %s", strings.Join(names, ", "), serverReason(ctx, d, names))
	}
	v.why = fmt.Sprintf("etcd %s does not serve this snapshot: %s", ver, why)
	check(d, "served", errors.New(v.why), "")
	return err
}

// stopped gives the other members up to the request timeout to stop too
// (they were started later than the first to exit), then names every
// member that is not running.
func stopped(ctx context.Context, d *drill.Drill, first []string) []string {
	c := d.Cluster
	pctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.Request)
	defer cancel()
	names := first
	harness.Poll(pctx, 100*time.Millisecond, func(ctx context.Context) error {
		names = slices.Clone(first)
		for _, m := range c.Members() {
			if !slices.Contains(names, m.Name()) && !m.Running(ctx) {
				names = append(names, m.Name())
			}
		}
		if len(names) < len(c.Members()) {
			return fmt.Errorf("%d of %d members stopped", len(names), len(c.Members()))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// watchExits returns a context that is cancelled once every member of c
// runs in a new container (created after this call) and one of them has
// exited; exited stops the watch and names the members that exited.
func watchExits(ctx context.Context, c *harness.Cluster) (context.Context, func() []string) {
	dc := c.Docker()
	old := map[string]string{}
	for _, m := range c.Members() {
		if r, err := dc.ContainerInspect(ctx, m.ContainerName(), client.ContainerInspectOptions{}); err == nil {
			old[m.Name()] = r.Container.ID
		}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	var names []string
	var wg sync.WaitGroup
	wg.Go(func() {
		harness.Poll(wctx, 250*time.Millisecond, func(ctx context.Context) error {
			var down []string
			for _, m := range c.Members() {
				r, err := dc.ContainerInspect(ctx, m.ContainerName(), client.ContainerInspectOptions{})
				if err != nil || r.Container.ID == old[m.Name()] || r.Container.State == nil || r.Container.State.Status == container.StateCreated {
					return errors.New("restored members not all started yet")
				}
				if r.Container.State.Status == container.StateExited {
					down = append(down, m.Name())
				}
			}
			if len(down) == 0 {
				return errors.New("no restored member exited")
			}
			names = down
			cancel(fmt.Errorf("etcd exited on %s", strings.Join(down, ", ")))
			return nil
		})
	})
	return wctx, func() []string {
		cancel(nil)
		wg.Wait()
		sort.Strings(names)
		return names
	}
}

// serverReason records the error lines of each exited member's log as a
// step and returns the reason the first one gives.
func serverReason(ctx context.Context, d *drill.Drill, names []string) string {
	reason, ver := "", d.Config.Version
	for _, name := range names {
		m := d.Cluster.Member(name)
		d.Log.Do(record.PhaseObserve, "why etcd "+ver.String()+" stopped on "+name, name, func() (record.Action, error) {
			a := record.Action{Command: "docker logs " + m.ContainerName() + "  # journalctl -u etcd"}
			logs, err := m.Logs(ctx)
			if err != nil {
				return a, err
			}
			r := recovery.ServerReason(logs)
			if reason == "" {
				reason = r
			}
			a.Output = strings.Join(errorLines(logs), "\n") + "\n# " + r
			return a, nil
		})
	}
	return reason
}

// errorLines are the error, fatal and panic lines of a member's zap log,
// each without its stack trace.
func errorLines(logs string) []string {
	var lines []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"level":"fatal"`) || strings.Contains(l, `"level":"panic"`) {
			if i := strings.Index(l, `,"stacktrace"`); i > 0 {
				l = l[:i] + "}"
			}
			lines = append(lines, l)
		}
	}
	return lines
}
