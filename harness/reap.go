package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Reap removes containers, networks and volumes that earlier runs on this
// host left behind: objects labelled LabelManaged whose owning process is
// gone. Objects of live runs, of other hosts, and without the label are
// never touched. It returns how many objects it removed.
func Reap(ctx context.Context, dc client.APIClient, lg *slog.Logger) (int, error) {
	host, _ := os.Hostname()
	return reap(ctx, dc, LabelManaged+"=true", func(labels map[string]string) bool {
		if labels[LabelHost] != host {
			return false
		}
		pid, err := strconv.Atoi(labels[LabelPID])
		return err == nil && !alive(pid)
	})
}

// reapRun removes every object carrying the run label runID.
func reapRun(ctx context.Context, dc client.APIClient, runID string) (int, error) {
	return reap(ctx, dc, LabelRun+"="+runID, func(map[string]string) bool { return true })
}

func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func reap(ctx context.Context, dc client.APIClient, label string, dead func(map[string]string) bool) (int, error) {
	f := client.Filters{}.Add("label", label)
	n := 0
	var errs []error
	cs, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if !dead(c.Labels) {
			continue
		}
		if _, err := dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		n++
	}
	ns, err := dc.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return n, fmt.Errorf("list networks: %w", err)
	}
	for _, nw := range ns.Items {
		if !dead(nw.Labels) {
			continue
		}
		if _, err := dc.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", nw.Name, err))
			continue
		}
		n++
	}
	vs, err := dc.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return n, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Items {
		if !dead(v.Labels) {
			continue
		}
		if _, err := dc.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
