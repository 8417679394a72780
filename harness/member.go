package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/etcdrill/etcdrill/record"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

// Member is one etcd member: a container, a data volume mounted at
// DataDir, and a client port published on the cluster's publish address
// (Config.PublishAddress). Its methods are safe for concurrent use.
type Member struct {
	c    *Cluster
	name string
	// port is the host port the client port is published on, the same
	// for every container the member gets, so that drills find a
	// restarted or re-created member at the same endpoint.
	port   int
	volume string

	mu   sync.Mutex
	ctr  *testcontainers.DockerContainer
	spec Spec
	// image and v override the cluster's for this member (a rolling
	// upgrade runs members of two versions); zero means the cluster's.
	image Image
	v     *Version
	// dataBytes overrides Config.DataVolumeBytes for the member's next
	// data volume (see ResizeDataVolume); nil keeps the configuration's.
	dataBytes *int64
}

// SetVersion makes the member's next Create use img and etcd version v:
// one step of a rolling upgrade or downgrade. The data volume is kept.
func (m *Member) SetVersion(img Image, v Version) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.image, m.v = img, &v
}

// Version is the etcd version the member's container runs (or will).
func (m *Member) Version() Version {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.v != nil {
		return *m.v
	}
	return m.c.v
}

func (m *Member) imageTag() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.image.Tag != "" {
		return m.image.Tag
	}
	return m.c.image.Tag
}

// Name is the member name, also its host name inside the network.
func (m *Member) Name() string { return m.name }

// Endpoint is the client URL the harness dials: the published port, at
// the publish address, or at the engine's host when ports are published
// on all interfaces.
func (m *Member) Endpoint() string {
	return endpointURL(m.c.cfg.TLS, m.c.dialHost, m.port)
}

// ClientURL is the client URL inside the network.
func (m *Member) ClientURL() string { return ClientURL(m.name, m.c.cfg.TLS) }

// PeerURL is the peer URL inside the network.
func (m *Member) PeerURL() string { return PeerURL(m.name, m.c.cfg.TLS) }

// Spec is the spec the member's container was last created with.
func (m *Member) Spec() Spec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spec
}

func (m *Member) container() (*testcontainers.DockerContainer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctr == nil {
		return nil, fmt.Errorf("member %s has no container", m.name)
	}
	return m.ctr, nil
}

func (m *Member) id() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctr == nil {
		return ""
	}
	return m.ctr.GetContainerID()
}

// ContainerName is the Docker name of the member's container.
func (m *Member) ContainerName() string { return m.c.runID + "-" + m.name }

// Create makes the data volume (when missing) and the member's container
// from spec, without starting it. A half-created container is kept so
// that Close removes it.
func (m *Member) Create(ctx context.Context, spec Spec) error {
	args, err := Flags(m.Version(), spec)
	if err != nil {
		return err
	}
	var pki []byte
	if m.c.pki != nil {
		files, err := m.c.pki.MemberFiles(m.name)
		if err != nil {
			return err
		}
		if pki, err = tarFiles(files); err != nil {
			return fmt.Errorf("member %s: certificates: %w", m.name, err)
		}
	}
	if err := m.createVolume(ctx); err != nil {
		return err
	}
	port := mnet.MustParsePort(strconv.Itoa(clientPort) + "/tcp")
	req := testcontainers.ContainerRequest{
		Image: m.imageTag(),
		Name:  m.ContainerName(),
		Cmd:   args,
		// testcontainers adds its labels to the map it is given, and
		// members are created concurrently: each gets a copy.
		Labels: maps.Clone(m.c.labels),
		// The client network, when there is one of its own, comes first:
		// it holds the gateway and the published port; the mN alias is on
		// the peer network only, and the host name is not mN, which Docker
		// would make an alias on every network (see network.go).
		Networks:       m.c.memberNetworks(),
		NetworkAliases: map[string][]string{m.c.net.Name: {m.name}},
		ExposedPorts:   []string{port.String()},
		ConfigModifier: func(cfg *container.Config) { cfg.Hostname = hostName(m.ContainerName()) },
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = mnet.PortMap{port: {{HostIP: m.c.publish, HostPort: strconv.Itoa(m.port)}}}
			hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: m.volume, Target: DataDir}}
		},
	}
	if m.c.cfg.Failpoints {
		if err := m.serveFailpoints(ctx, &req); err != nil {
			return err
		}
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req})
	m.mu.Lock()
	if dc, ok := ctr.(*testcontainers.DockerContainer); ok && dc != nil {
		m.ctr = dc
	}
	m.spec = spec
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("member %s: create container: %w", m.name, err)
	}
	if pki != nil {
		// One archive for all the files, rather than one copy per file.
		if _, err := m.c.dc.CopyToContainer(ctx, m.id(), client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(pki)}); err != nil {
			return fmt.Errorf("member %s: copy certificates: %w", m.name, err)
		}
	}
	return nil
}

// tarFiles archives files, keyed by absolute path, for extraction at /:
// keys (*.key) readable by root only, certificates by all.
func tarFiles(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, path := range slices.Sorted(maps.Keys(files)) {
		mode := int64(0o644)
		if strings.HasSuffix(path, ".key") {
			mode = 0o600
		}
		body := files[path]
		h := &tar.Header{Name: strings.TrimPrefix(path, "/"), Mode: mode, Size: int64(len(body)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Start starts the member's container; etcd starts with it.
func (m *Member) Start(ctx context.Context) error {
	ctr, err := m.container()
	if err != nil {
		return err
	}
	if err := ctr.Start(ctx); err != nil {
		return fmt.Errorf("start member %s: %w", m.name, err)
	}
	m.c.lg.Info("member started", "member", m.name)
	return nil
}

// PeerServeWait bounds the wait, when a new cluster starts, for one
// member to serve its peers before the next is started (startInTurn). It
// takes a tenth of a second; a member that never says so (it exited, or
// its etcd logs differently) costs this much, and the cluster's readiness
// check then tells what went wrong.
const PeerServeWait = 5 * time.Second

// servingPeers is what etcd (3.5 to 3.7) logs once its peer listener
// serves requests.
const servingPeers = `"msg":"serving peer traffic"`

// startInTurn starts the members of a new cluster one after another, each
// once the one before serves its peers. Started all at once, every member
// waited about 2 s before it even bootstrapped: a new member first asks
// each peer whether it was bootstrapped already (GET /members, with a 1 s
// timeout, one peer after another), and a peer that is itself starting
// (its container joining the network, or its etcd listening but not yet
// serving) holds that request for the whole second. Started in turn, a
// member finds the members before it serving and those after it not yet
// on the network, and both answer at once. Measured on 3.6.16 with TLS, 3
// members (BenchmarkStart): from created to healthy 2.5 s in turn against
// 4.4 s at once, the readiness wait after the last start 0.3 s against 2.3.
func startInTurn(ctx context.Context, members []*Member, lg *slog.Logger) error {
	for i, m := range members {
		if err := m.Start(ctx); err != nil {
			return err
		}
		if i == len(members)-1 {
			break
		}
		wctx, cancel := context.WithTimeout(ctx, PeerServeWait)
		served, err := m.awaitLog(wctx, servingPeers)
		cancel()
		if !served {
			lg.Debug("member not seen serving its peers; starting the next anyway", "member", m.name, "err", err)
		}
	}
	return nil
}

// awaitLog follows the member's log until a line holds needle, the log
// ends (the container stopped), or ctx ends; it reports whether the line
// was seen.
func (m *Member) awaitLog(ctx context.Context, needle string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logs, err := m.c.dc.ContainerLogs(ctx, m.id(), client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return false, fmt.Errorf("logs of %s: %w", m.name, err)
	}
	defer logs.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, logs)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	found := hasLine(pr, needle)
	if !found && ctx.Err() != nil {
		return false, ctx.Err()
	}
	return found, nil
}

// hasLine reads r line by line until one holds needle (true) or r ends.
func hasLine(r io.Reader, needle string) bool {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			return true
		}
	}
	return false
}

// Stop sends SIGTERM and waits up to 10 s before SIGKILL, like
// `systemctl stop etcd`.
func (m *Member) Stop(ctx context.Context) error {
	timeout := 10
	m.c.leave.Lock()
	defer m.c.leave.Unlock()
	if _, err := m.c.dc.ContainerStop(ctx, m.id(), client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop member %s: %w", m.name, err)
	}
	return nil
}

// Kill sends SIGKILL: the member dies without flushing or saying goodbye.
func (m *Member) Kill(ctx context.Context) error {
	m.c.leave.Lock()
	defer m.c.leave.Unlock()
	if _, err := m.c.dc.ContainerKill(ctx, m.id(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill member %s: %w", m.name, err)
	}
	return m.waitStopped(ctx)
}

func (m *Member) waitStopped(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.c.cfg.Timeouts.Command)
	defer cancel()
	return Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		st, err := m.c.dc.ContainerInspect(ctx, m.id(), client.ContainerInspectOptions{})
		if err != nil {
			return Permanent(err)
		}
		if st.Container.State.Running {
			return fmt.Errorf("member %s still running", m.name)
		}
		return nil
	})
}

// Pause freezes the member's processes (SIGSTOP-like, via the cgroup
// freezer): the member keeps its sockets but answers nothing.
//
// runc gives up freezing a cgroup whose tasks keep running through its
// tries ("unable to freeze"; etcd busy in fsync under load on a slow
// machine), thaws it again and fails; runc's maintainers leave the retry
// to the caller (opencontainers/runc#4388). Pause retries that error
// until the command timeout, and fails at once on any other.
func (m *Member) Pause(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.c.cfg.Timeouts.Command)
	defer cancel()
	err := retryFreeze(ctx, func(ctx context.Context) error {
		_, err := m.c.dc.ContainerPause(ctx, m.id(), client.ContainerPauseOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("pause member %s: %w", m.name, err)
	}
	return nil
}

// retryFreeze calls pause until it succeeds or fails with an error other
// than runc's "unable to freeze", or ctx ends. A container found already
// paused on a retry (the try that failed froze it after all) counts as
// paused.
func retryFreeze(ctx context.Context, pause func(context.Context) error) error {
	tries := 0
	return Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		tries++
		err := pause(ctx)
		switch {
		case err == nil:
			return nil
		case tries > 1 && strings.Contains(err.Error(), "is already paused"):
			return nil
		case strings.Contains(err.Error(), "unable to freeze"):
			return err
		}
		return Permanent(err)
	})
}

// Unpause thaws a paused member.
func (m *Member) Unpause(ctx context.Context) error {
	if _, err := m.c.dc.ContainerUnpause(ctx, m.id(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("unpause member %s: %w", m.name, err)
	}
	return nil
}

// Running reports whether the member's container runs and is not paused.
func (m *Member) Running(ctx context.Context) bool {
	id := m.id()
	if id == "" {
		return false
	}
	st, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && st.Container.State.Running && !st.Container.State.Paused
}

// Wipe kills the member and deletes its container and data volume: the
// member's disk is gone for good. Create makes a fresh, empty one.
func (m *Member) Wipe(ctx context.Context) error {
	return m.remove(ctx, true)
}

// RemoveContainer deletes the member's container but keeps its data.
func (m *Member) RemoveContainer(ctx context.Context) error {
	return m.remove(ctx, false)
}

func (m *Member) remove(ctx context.Context, volume bool) error {
	m.mu.Lock()
	ctr := m.ctr
	m.ctr = nil
	m.mu.Unlock()
	var errs []error
	if ctr != nil {
		m.c.leave.Lock()
		_, err := m.c.dc.ContainerRemove(ctx, ctr.GetContainerID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		m.c.leave.Unlock()
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove member %s container: %w", m.name, err))
		}
	}
	if volume {
		errs = append(errs, m.releaseVolume(ctx))
		if _, err := m.c.dc.VolumeRemove(ctx, m.volume, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove member %s volume: %w", m.name, err))
		}
	}
	return errors.Join(errs...)
}

// Exec is one command run on a member's host, as an operator types it.
// It is the record's Action, so a command's result goes into a drill
// record unchanged.
type Exec = record.Action

// ExitError is returned when a command ran but exited non-zero.
type ExitError struct{ Exec Exec }

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", firstWord(e.Exec.Command), e.Exec.Exit, lastLine([]byte(e.Exec.Output)))
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

// Exec runs args inside the running member. It returns an *ExitError when
// the command exits non-zero.
func (m *Member) Exec(ctx context.Context, args ...string) (Exec, error) {
	return m.ExecEnv(ctx, nil, args...)
}

// ExecEnv is Exec with environment variables ("ETCDCTL_API=2"), which
// the recorded command line shows in front, as an operator types them.
func (m *Member) ExecEnv(ctx context.Context, env []string, args ...string) (Exec, error) {
	ctr, err := m.container()
	if err != nil {
		return Exec{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	e := Exec{Command: strings.TrimSpace(strings.Join(env, " ") + " " + ShellJoin(args))}
	code, r, err := ctr.Exec(ctx, args, tcexec.Multiplexed(), tcexec.WithEnv(env))
	if err != nil {
		return e, fmt.Errorf("exec on %s: %s: %w", m.name, e.Command, err)
	}
	out, _ := io.ReadAll(r)
	e.Output, e.Exit = string(out), code
	if code != 0 {
		return e, &ExitError{e}
	}
	return e, nil
}

// EtcdctlArgs returns `etcdctl --endpoints=<urls> [tls] [--user] args...`;
// the endpoints are the members' in-network client URLs.
func (c *Cluster) EtcdctlArgs(endpoints []string, args ...string) []string {
	a := []string{"etcdctl", "--endpoints=" + strings.Join(endpoints, ",")}
	if c.pki != nil {
		a = append(a, EtcdctlTLS()...)
	}
	if r := c.Root(); r != nil {
		a = append(a, "--user="+r.User+":"+r.Password)
	}
	return append(a, args...)
}

// Etcdctl runs etcdctl inside the member against its own endpoint.
func (m *Member) Etcdctl(ctx context.Context, args ...string) (Exec, error) {
	return m.Exec(ctx, m.c.EtcdctlArgs([]string{m.ClientURL()}, args...)...)
}

// CopyOut reads a file from the member's container (running or not).
func (m *Member) CopyOut(ctx context.Context, path string) ([]byte, error) {
	ctr, err := m.container()
	if err != nil {
		return nil, err
	}
	rc, err := ctr.CopyFileFromContainer(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s: %w", path, m.name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("copy %s from %s: %w", path, m.name, err)
	}
	return b, nil
}

// CopyIn writes a file into the member's container (running or not).
func (m *Member) CopyIn(ctx context.Context, path string, data []byte) error {
	ctr, err := m.container()
	if err != nil {
		return err
	}
	if err := ctr.CopyToContainer(ctx, data, path, 0o600); err != nil {
		return fmt.Errorf("copy %s to %s: %w", path, m.name, err)
	}
	return nil
}

// Logs returns the member's etcd log so far.
func (m *Member) Logs(ctx context.Context) (string, error) {
	ctr, err := m.container()
	if err != nil {
		return "", err
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", m.name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// ArchiveDataDir writes the member's data dir as a tar stream to w (for
// --keep-artifacts); the container may be stopped.
func (m *Member) ArchiveDataDir(ctx context.Context, w io.Writer) error {
	id := m.id()
	if id == "" {
		return fmt.Errorf("member %s has no container", m.name)
	}
	res, err := m.c.dc.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: DataDir})
	if err != nil {
		return fmt.Errorf("archive data dir of %s: %w", m.name, err)
	}
	defer res.Content.Close()
	if _, err := io.Copy(w, res.Content); err != nil {
		return fmt.Errorf("archive data dir of %s: %w", m.name, err)
	}
	return nil
}
