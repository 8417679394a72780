package harness

import (
	"context"
	"fmt"
	"maps"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// A member with a sized data volume (Config.DataVolumeBytes) keeps its
// data dir on a tmpfs of that size, so a drill can fill it for real
// (ENOSPC, not etcd's NOSPACE quota). Docker mounts a tmpfs volume when
// the first container using it starts and unmounts it, losing what it
// held, when the last one stops; a disk must outlive a crashed etcd, so
// a holder container of the run (sleeping, no network) keeps the volume
// mounted for as long as the member exists: it stands for the host that
// keeps its file systems mounted while etcd restarts.

// holdForever is what the holder sleeps: about 68 years.
const holdForever = "2147483647"

// DataVolumeBytes is the size of the member's data file system, 0 when
// it is an ordinary volume.
func (m *Member) DataVolumeBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dataBytes != nil {
		return *m.dataBytes
	}
	return m.c.cfg.DataVolumeBytes[m.name]
}

// ResizeDataVolume makes the member's next data volume n bytes, 0 for an
// ordinary volume (the Docker host's disk): moving a member to a bigger
// disk. It takes effect when Create makes the volume anew, after Wipe.
func (m *Member) ResizeDataVolume(n int64) error {
	if n != 0 && n < MinDataVolumeBytes {
		return fmt.Errorf("data volume of %s: %d bytes, want at least %d", m.name, n, MinDataVolumeBytes)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dataBytes = &n
	return nil
}

// DataVolume is the name of the member's data volume.
func (m *Member) DataVolume() string { return m.volume }

// DataVolumeCommand is how an operator makes the member's data volume.
func (m *Member) DataVolumeCommand() string {
	if n := m.DataVolumeBytes(); n > 0 {
		return fmt.Sprintf("docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=%s %s", tmpfsOptions(n), m.volume)
	}
	return "docker volume create " + m.volume
}

func tmpfsOptions(n int64) string { return fmt.Sprintf("size=%d,mode=0700", n) }

// createVolume makes the member's data volume when missing (labelled
// like every object of the run), sized when the configuration says so,
// and then starts its holder.
func (m *Member) createVolume(ctx context.Context) error {
	opts := client.VolumeCreateOptions{Name: m.volume, Labels: maps.Clone(m.c.labels)}
	n := m.DataVolumeBytes()
	if n > 0 {
		opts.Driver = "local"
		opts.DriverOpts = map[string]string{"type": "tmpfs", "device": "tmpfs", "o": tmpfsOptions(n)}
	}
	if _, err := m.c.dc.VolumeCreate(ctx, opts); err != nil {
		return fmt.Errorf("member %s: create volume: %w", m.name, err)
	}
	if n == 0 {
		return nil
	}
	return m.holdVolume(ctx)
}

func (m *Member) holderName() string { return m.ContainerName() + "-disk" }

// holdVolume starts the holder of the member's sized volume unless it
// runs already. Its removal is registered (by name, in remove) before
// its create error is checked.
func (m *Member) holdVolume(ctx context.Context) error {
	name := m.holderName()
	if st, err := m.c.dc.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil {
		if st.Container.State != nil && st.Container.State.Running {
			return nil
		}
		if _, err := m.c.dc.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("member %s: start the holder of its data volume: %w", m.name, err)
		}
		return nil
	}
	cfg := &container.Config{Image: m.imageTag(), Entrypoint: []string{"/bin/sleep"}, Cmd: []string{holdForever}, Labels: maps.Clone(m.c.labels)}
	hc := &container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: m.volume, Target: DataDir}}}
	if _, err := m.c.dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc}); err != nil {
		return fmt.Errorf("member %s: create the holder of its data volume: %w", m.name, err)
	}
	if _, err := m.c.dc.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("member %s: start the holder of its data volume: %w", m.name, err)
	}
	return nil
}

// releaseVolume removes the holder, if any, so the volume can go. It
// asks even for a member with an ordinary volume now, which may have had
// a sized one before ResizeDataVolume.
func (m *Member) releaseVolume(ctx context.Context) error {
	if _, err := m.c.dc.ContainerRemove(ctx, m.holderName(), client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove the holder of %s's data volume: %w", m.name, err)
	}
	return nil
}

// WithData runs args (the first is a command on the image's PATH, such
// as busybox's rm) in a one-off container of the member's image with the
// member's data volume at DataDir: what an operator does on the host
// when etcd's own container is not running. It returns an *ExitError
// when the command exits non-zero.
func (m *Member) WithData(ctx context.Context, args ...string) (Exec, error) {
	if len(args) == 0 {
		return Exec{}, fmt.Errorf("command with %s's data: no arguments", m.name)
	}
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	e := Exec{Command: fmt.Sprintf("docker run --rm -v %s:%s %s %s", m.volume, DataDir, m.imageTag(), ShellJoin(args))}
	cfg := &container.Config{Image: m.imageTag(), Entrypoint: args[:1], Cmd: args[1:], Labels: maps.Clone(m.c.labels)}
	hc := &container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: m.volume, Target: DataDir}}}
	name := fmt.Sprintf("%s-%s-data-%d", m.c.runID, m.name, time.Now().UnixNano()%1e6)
	out, code, err := m.c.runOnce(ctx, name, cfg, hc)
	e.Output, e.Exit = out, code
	if err != nil {
		return e, fmt.Errorf("%s with %s's data: %w", args[0], m.name, err)
	}
	if code != 0 {
		return e, &ExitError{e}
	}
	return e, nil
}

// State is the member's container state: whether it runs, its exit code
// and when it finished.
func (m *Member) State(ctx context.Context) (*container.State, error) {
	id := m.id()
	if id == "" {
		return nil, fmt.Errorf("member %s has no container", m.name)
	}
	res, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect member %s: %w", m.name, err)
	}
	if res.Container.State == nil {
		return nil, fmt.Errorf("inspect member %s: no state", m.name)
	}
	return res.Container.State, nil
}
