package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Offline runs a command on the member's host while etcd is not running
// there: a one-off container from the member's image with the member's
// data volume at DataDir, as `etcdutl snapshot restore` or `etcdutl
// backup` need. files are copied in first, keyed by path. It returns an
// *ExitError when the command exits non-zero. The member's own container,
// if any, must be stopped: etcd locks its data dir.
func (m *Member) Offline(ctx context.Context, files map[string][]byte, args ...string) (Exec, error) {
	if len(args) == 0 {
		return Exec{}, errors.New("offline command: no arguments")
	}
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	e := Exec{Command: ShellJoin(args)}
	if _, err := m.c.dc.VolumeCreate(ctx, client.VolumeCreateOptions{Name: m.volume, Labels: m.c.labels}); err != nil {
		return e, fmt.Errorf("member %s: create volume: %w", m.name, err)
	}
	if err := m.c.ensureBackupVolume(ctx); err != nil {
		return e, err
	}
	var cf []testcontainers.ContainerFile
	for path, body := range files {
		cf = append(cf, testcontainers.ContainerFile{Reader: bytes.NewReader(body), ContainerFilePath: path, FileMode: 0o600})
	}
	req := m.toolRequest("tool", args...)
	req.Files = cf
	// An offline command needs no network: without one, Docker sets up
	// no interface for it, which is most of a short container's start.
	mounts := req.HostConfigModifier
	req.HostConfigModifier = func(hc *container.HostConfig) {
		mounts(hc)
		hc.NetworkMode = "none"
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	defer func() {
		if ctr != nil {
			testcontainers.TerminateContainer(ctr, testcontainers.StopContext(context.WithoutCancel(ctx)))
		}
	}()
	if err != nil {
		return e, fmt.Errorf("offline %s on %s: %w", args[0], m.name, err)
	}
	var state *container.State
	err = Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		st, err := ctr.State(ctx)
		if err != nil {
			return Permanent(err)
		}
		if st.Running {
			return fmt.Errorf("%s still running", args[0])
		}
		state = st
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("offline %s on %s: %w", args[0], m.name, err)
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return e, fmt.Errorf("offline %s on %s: logs: %w", args[0], m.name, err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	e.Output, e.Exit = string(out), state.ExitCode
	if e.Exit != 0 {
		return e, &ExitError{e}
	}
	return e, nil
}

// CopyOutOffline reads path from the member's data volume while etcd is
// not running there (its container may be gone): a one-off container
// that mounts the volume is created, never started, and copied from, as
// `docker cp` from a stopped container does.
func (m *Member) CopyOutOffline(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	if err := m.c.ensureBackupVolume(ctx); err != nil {
		return nil, err
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: m.toolRequest("copy", "etcdutl")})
	defer func() {
		if ctr != nil {
			testcontainers.TerminateContainer(ctr, testcontainers.StopContext(context.WithoutCancel(ctx)))
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s's data dir: %w", path, m.name, err)
	}
	rc, err := ctr.CopyFileFromContainer(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s's data dir: %w", path, m.name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s's data dir: %w", path, m.name, err)
	}
	return b, nil
}

// toolRequest is a one-off container from the member's image, labelled
// with the run, with the member's data volume at DataDir and the run's
// backup volume at BackupDir (see BackupVolume), running args (the first
// is a binary in /usr/local/bin). Callers create the backup volume first
// (ensureBackupVolume), so that Docker never makes it without labels.
func (m *Member) toolRequest(kind string, args ...string) testcontainers.ContainerRequest {
	return m.c.toolRequest(m.imageTag(), m.name+"-"+kind,
		[]mount.Mount{{Type: mount.TypeVolume, Source: m.volume, Target: DataDir}, m.c.backupMount()}, args...)
}

// toolRequest is a one-off container from image, labelled with the run,
// named after the run and name, with mounts, running args (the first is
// a binary in /usr/local/bin).
func (c *Cluster) toolRequest(image, name string, mounts []mount.Mount, args ...string) testcontainers.ContainerRequest {
	return testcontainers.ContainerRequest{
		Image:      image,
		Name:       fmt.Sprintf("%s-%s-%d", c.runID, name, time.Now().UnixNano()%1e6),
		Entrypoint: []string{"/usr/local/bin/" + args[0]},
		Cmd:        args[1:],
		Labels:     maps.Clone(c.labels), // testcontainers writes its own labels into the map
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.Mounts = mounts
		},
	}
}

// Shell runs script with `sh -euc` on the member's host while etcd is not
// running there: a one-off container from the member's image (which must
// hold a shell at /bin/sh), with env in its environment, the member's
// data volume at DataDir, the run's backup volume at BackupDir, the
// client certificates at their kubeadm paths, and the run's network. It
// returns an *ExitError when the script exits non-zero. An operator's
// runbook step runs here (package runbook); the member's own container,
// if any, must be stopped.
func (m *Member) Shell(ctx context.Context, env []string, script string) (Exec, error) {
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	e := Exec{Command: script}
	if _, err := m.c.dc.VolumeCreate(ctx, client.VolumeCreateOptions{Name: m.volume, Labels: maps.Clone(m.c.labels)}); err != nil {
		return e, fmt.Errorf("member %s: create volume: %w", m.name, err)
	}
	if err := m.c.ensureBackupVolume(ctx); err != nil {
		return e, err
	}
	req := m.toolRequest("host", "sh")
	req.Entrypoint, req.Cmd, req.Networks = []string{"/bin/sh", "-euc", script}, nil, []string{m.c.net.Name}
	req.Env = map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		req.Env[k] = v
	}
	// The member's own hostname, not mN: Docker adds a hostname as an alias
	// on every network, and mN must resolve to the member alone.
	req.ConfigModifier = func(cfg *container.Config) { cfg.Hostname = m.ContainerName() }
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req})
	defer func() {
		if ctr != nil {
			testcontainers.TerminateContainer(ctr, testcontainers.StopContext(context.WithoutCancel(ctx)))
		}
	}()
	if err != nil {
		return e, fmt.Errorf("shell on %s: %w", m.name, err)
	}
	if m.c.pki != nil {
		files, err := m.c.pki.MemberFiles(m.name)
		if err != nil {
			return e, err
		}
		tarred, err := tarFiles(map[string][]byte{CACert: files[CACert], ClientCert: files[ClientCert], ClientKey: files[ClientKey]})
		if err != nil {
			return e, fmt.Errorf("shell on %s: certificates: %w", m.name, err)
		}
		if _, err := m.c.dc.CopyToContainer(ctx, ctr.GetContainerID(), client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(tarred)}); err != nil {
			return e, fmt.Errorf("shell on %s: copy certificates: %w", m.name, err)
		}
	}
	if err := ctr.Start(ctx); err != nil {
		return e, fmt.Errorf("shell on %s: %w", m.name, err)
	}
	var state *container.State
	err = Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		st, err := ctr.State(ctx)
		if err != nil {
			return Permanent(err)
		}
		if st.Running {
			return errors.New("script still running")
		}
		state = st
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("shell on %s: %w", m.name, err)
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return e, fmt.Errorf("shell on %s: logs: %w", m.name, err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	e.Output, e.Exit = string(out), state.ExitCode
	if e.Exit != 0 {
		return e, &ExitError{e}
	}
	return e, nil
}
