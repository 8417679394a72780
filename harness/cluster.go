// Package harness starts etcd clusters in containers and performs member
// operations on them: start, stop, kill, pause, wipe, exec etcdctl and
// etcdutl inside a member, copy files, read logs, and tear down.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Labels carried by every container, network and volume a run creates.
const (
	LabelManaged = "io.etcdrill.managed" // always "true"
	LabelRun     = "io.etcdrill.run"     // the run ID
	LabelPID     = "io.etcdrill.pid"     // the process that owns the run
	LabelHost    = "io.etcdrill.host"    // the host that process runs on
)

func init() {
	// Ryuk's image cannot be pulled here; the harness reaps its own leftovers.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	tclog.SetDefault(tclog.NewNoopLogger())
}

// ErrNoDocker is returned when the Docker engine cannot be reached.
var ErrNoDocker = errors.New("docker engine not reachable")

// Cluster is a set of etcd members on a private network of their own.
type Cluster struct {
	cfg    Config
	v      Version
	image  Image
	runID  string
	labels map[string]string
	dc     *testcontainers.DockerClient
	net    *testcontainers.DockerNetwork // the peer network (see network.go)
	// clientNet carries the published client ports (see network.go).
	clientNet *dockerNet
	pki       *PKI
	lg        *slog.Logger
	// publish is Config.PublishAddress parsed, and dialHost the host
	// members' endpoints are dialed at (see dialHost); localEngine says
	// whether the engine runs on this machine (see hostPorts).
	publish     netip.Addr
	dialHost    string
	localEngine bool

	// leave is held while one of the run's containers leaves a network:
	// a stop, a kill, a removal or a disconnect. Docker 20.10 up to
	// 20.10.26 can deadlock its whole network controller when two
	// containers leave the same network at once (moby/moby#42545, fixed
	// in 20.10.27 and 23.0): every later network call, container removal
	// included, then hangs until dockerd restarts. One leave at a time
	// costs a few hundred milliseconds per teardown.
	leave sync.Mutex

	mu      sync.Mutex
	token   string // see Token; guarded by mu
	members []*Member
	closed  bool
	root    *Credentials // set once auth is enabled
	workDir string       // see WorkDir; removed by Close
	leases  []*portLease // see hostPorts; released by Close
}

// Credentials are a user name and password for etcd auth.
type Credentials struct{ User, Password string }

// UseAuth tells the harness that auth is on: etcdctl commands carry
// --user and clients log in as root.
func (c *Cluster) UseAuth(root Credentials) {
	c.mu.Lock()
	c.root = &root
	c.mu.Unlock()
}

// Root returns the root credentials, or nil when auth is off.
func (c *Cluster) Root() *Credentials {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.root
}

// Docker connects to the engine, or returns ErrNoDocker with the reason.
func Docker(ctx context.Context) (*testcontainers.DockerClient, error) {
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := dc.Ping(pctx, client.PingOptions{}); err != nil {
		dc.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return dc, nil
}

// New starts a cluster and waits until it is healthy with a leader. Like
// testcontainers, a failed New still returns the half-built cluster, so
// call `defer c.Close(ctx)` before checking the error; Close is nil-safe
// and idempotent.
//
// Members are created all at once, then started in turn, each as soon as
// the one before serves its peers (see startInTurn). Two members may then
// elect a leader before the last one runs; the leader sets the cluster
// version to 3.0.0 and raises it at its next version check (every 4 s)
// that reaches every member, so a caller that needs the cluster version
// (an upgrade) waits for it after New.
func New(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg, v, err := NewConfig(opts...)
	if err != nil {
		return nil, err
	}
	dc, err := Docker(ctx)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 4)
	rand.Read(id)
	c := &Cluster{cfg: cfg, v: v, dc: dc, runID: cfg.Name + "-" + hex.EncodeToString(id)}
	c.token = c.runID
	c.lg = cfg.Logger.With("run", c.runID)
	host, _ := os.Hostname()
	c.labels = map[string]string{LabelManaged: "true", LabelRun: c.runID, LabelPID: strconv.Itoa(os.Getpid()), LabelHost: host}
	if err := c.useEngine(dc.DaemonHost()); err != nil {
		return c, err
	}

	start := time.Now()
	// The setup steps are independent, so they overlap. Reaping cannot
	// touch this run's objects: they carry the PID of this live process.
	var wg sync.WaitGroup
	var reaped int
	var reapErr, netErr error
	wg.Go(func() { reaped, reapErr = Reap(ctx, dc, c.lg) })
	wg.Go(func() { netErr = c.newNetworks(ctx) })
	err = c.setupImageAndPKI(ctx)
	wg.Wait()
	if reapErr != nil {
		c.lg.Warn("reap leftovers", "err", reapErr)
	} else if reaped > 0 {
		c.lg.Info("reaped leftovers of earlier runs", "objects", reaped)
	}
	if err = errors.Join(err, netErr); err != nil {
		return c, err
	}
	ports, err := c.hostPorts(ctx, cfg.Members)
	if err != nil {
		return c, err
	}
	names := make([]string, cfg.Members)
	for i := range names {
		names[i] = "m" + strconv.Itoa(i+1)
	}
	members := make([]*Member, len(names))
	for i, name := range names {
		if members[i], err = c.addMember(name, ports[i]); err != nil {
			return c, err
		}
	}
	setup := time.Since(start)
	initial := InitialCluster(names, cfg.TLS)
	if err := EachMember(members, func(m *Member) error { return m.Create(ctx, c.Spec(m.name, initial, "new")) }); err != nil {
		return c, err
	}
	created := time.Since(start)
	// In turn, each once the one before serves its peers (see
	// startInTurn); the containers were created all at once above.
	if err := startInTurn(ctx, members, c.lg); err != nil {
		return c, err
	}
	c.lg.Debug("members started", "members", len(members), "setup", setup.Round(time.Millisecond),
		"created", created.Round(time.Millisecond), "started", time.Since(start).Round(time.Millisecond))
	return c, c.WaitReady(ctx)
}

// useEngine works out, from the engine's address as the Docker client
// resolved it (DOCKER_HOST or a Docker context), where client ports are
// published and dialed, and whether host ports can be chosen here.
func (c *Cluster) useEngine(daemonHost string) error {
	var err error
	if c.publish, err = parsePublishAddress(c.cfg.PublishAddress); err != nil {
		return err
	}
	if c.dialHost, err = dialHost(c.cfg.PublishAddress, daemonHost); err != nil {
		return fmt.Errorf("docker engine at %s: %w", daemonHost, err)
	}
	_, c.localEngine, _ = engineHost(daemonHost)
	if !c.localEngine && c.publish.IsLoopback() {
		c.lg.Warn("the Docker engine is remote but client ports are published on its loopback, which this machine cannot dial; set "+
			EnvPublishAddress+" to an address of the engine's host", "engine", daemonHost, "publish", c.cfg.PublishAddress)
	}
	return nil
}

// setupImageAndPKI resolves the members' image, building it when
// missing, and makes the run's certificates when TLS is on.
func (c *Cluster) setupImageAndPKI(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.ImageBuild)
	defer cancel()
	var err error
	if c.cfg.Image != "" {
		c.image, err = UseImage(bctx, c.dc, c.cfg.Image, c.v)
	} else if c.cfg.Failpoints {
		c.image, err = EnsureFailpointsImage(bctx, c.dc, c.v, c.lg)
	} else {
		c.image, err = EnsureImage(bctx, c.dc, c.v, c.lg)
	}
	if err != nil {
		return err
	}
	if c.cfg.TLS {
		// The server certificates must also be valid for the host the
		// harness dials, when that is not the loopback.
		if c.pki, err = NewPKI(c.dialHost); err != nil {
			return err
		}
	}
	return nil
}

// EachMember runs fn on every member at once and joins the errors, each
// of which should name its member.
func EachMember(members []*Member, fn func(*Member) error) error {
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { errs[i] = fn(m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Spec is the default member spec of this cluster for name.
func (c *Cluster) Spec(name, initialCluster, state string) Spec {
	return Spec{
		Name: name, InitialCluster: initialCluster, Token: c.Token(), State: state, TLS: c.cfg.TLS,
		QuotaBackendBytes: c.cfg.QuotaBackendBytes, EnableV2: c.cfg.EnableV2, CorruptCheck: c.cfg.CorruptCheck,
	}
}

// addMember registers a member with host port port; it creates nothing
// in Docker yet.
func (c *Cluster) addMember(name string, port int) (*Member, error) {
	m := &Member{c: c, name: name, port: port, volume: c.runID + "-" + name + "-data"}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.members {
		if o.name == name {
			return nil, fmt.Errorf("member %s already exists", name)
		}
	}
	c.members = append(c.members, m)
	return m, nil
}

// AddMember registers a new member called name that is not yet created;
// call Create and Start on it (member-replace drills do this after
// `member add`).
func (c *Cluster) AddMember(ctx context.Context, name string) (*Member, error) {
	if c.Member(name) != nil {
		return nil, fmt.Errorf("member %s already exists", name)
	}
	ports, err := c.hostPorts(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", name, err)
	}
	return c.addMember(name, ports[0])
}

// RunID identifies the run in labels, names and reports.
func (c *Cluster) RunID() string { return c.runID }

// Version is the etcd version the cluster runs.
func (c *Cluster) Version() Version { return c.v }

// Image is the image members run.
func (c *Cluster) Image() Image { return c.image }

// Config is the cluster's configuration after defaults.
func (c *Cluster) Config() Config { return c.cfg }

// Token is the current --initial-cluster-token.
func (c *Cluster) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken changes the token new specs get (a restore makes a new logical
// cluster with a new token).
func (c *Cluster) SetToken(t string) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

// Logger is the run's logger.
func (c *Cluster) Logger() *slog.Logger { return c.lg }

// Docker is the engine client, for faults that act on containers.
func (c *Cluster) Docker() client.APIClient { return c.dc }

// Members returns the members in creation order.
func (c *Cluster) Members() []*Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Member(nil), c.members...)
}

// Member returns the member called name, or nil.
func (c *Cluster) Member(name string) *Member {
	for _, m := range c.Members() {
		if m.name == name {
			return m
		}
	}
	return nil
}

// RemoveMember forgets a member after it was removed from the cluster and
// its container and volume deleted.
func (c *Cluster) RemoveMember(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.name == name {
			c.members = append(c.members[:i], c.members[i+1:]...)
			return
		}
	}
}

// Endpoints are the members' client endpoints as the harness reaches them.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members() {
		eps = append(eps, m.Endpoint())
	}
	return eps
}

// ClientURLs are the members' client URLs inside the network, as an
// operator on a member host types them.
func (c *Cluster) ClientURLs() []string {
	var urls []string
	for _, m := range c.Members() {
		urls = append(urls, m.ClientURL())
	}
	return urls
}

// Reconnect is how soon the harness's clients dial a member again after
// a failed connection. gRPC's default waits 1 s, then 1.6 s, growing to
// 2 minutes, so a member that has just started (or restarted after a
// kill, a restore or a partition) went unseen for a second or more; every
// wait for a member, and every measured RTO, carried that delay. Here a
// retry comes after 50 ms, growing to at most 1 s.
var Reconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: 5 * time.Second,
})

// Client returns a v3 client for the given members (all when none are
// given), logged in as root when auth is on. The caller closes it.
func (c *Cluster) Client(members ...*Member) (*clientv3.Client, error) {
	return c.ClientAs(c.Root(), members...)
}

// ClientAs returns a v3 client logged in with cred (nil: no auth).
func (c *Cluster) ClientAs(cred *Credentials, members ...*Member) (*clientv3.Client, error) {
	if len(members) == 0 {
		members = c.Members()
	}
	var eps []string
	for _, m := range members {
		eps = append(eps, m.Endpoint())
	}
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop(), DialOptions: []grpc.DialOption{Reconnect}}
	if cred != nil {
		cfg.Username, cfg.Password = cred.User, cred.Password
	}
	if c.pki != nil {
		t, err := c.pki.ClientTLS()
		if err != nil {
			return nil, err
		}
		cfg.TLS = t
	}
	if cred == nil {
		cli, err := clientv3.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("client for %v: %w", eps, err)
		}
		return cli, nil
	}
	// With auth, dialing authenticates, which fails while the members
	// elect a leader; retry that within the election budget.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeouts.Election)
	defer cancel()
	var cli *clientv3.Client
	err := Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		var err error
		cli, err = clientv3.New(cfg)
		if errors.Is(err, rpctypes.ErrAuthFailed) {
			return Permanent(err)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client for %v as %s: %w", eps, cred.User, err)
	}
	return cli, nil
}

// Close removes every container, volume and network of the run. It is
// nil-safe and idempotent, and joins the errors of what it could not
// remove.
func (c *Cluster) Close(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeouts.Teardown)
	defer cancel()
	start := time.Now()
	// The members go at once, as `docker rm -f m1 m2 m3` would, except
	// that their containers leave the networks one at a time (see leave).
	errs := []error{EachMember(c.Members(), func(m *Member) error { return m.remove(ctx, true) })}
	if c.net != nil {
		errs = append(errs, c.net.Remove(ctx))
	}
	errs = append(errs, c.removeNetwork(ctx, c.clientNet))
	// Anything the run created but lost track of (a one-off tool container
	// whose create failed half way) is found by its run label.
	if _, err := reapRun(ctx, c.dc, c.runID); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.dc.Close())
	c.mu.Lock()
	if c.workDir != "" {
		errs = append(errs, os.RemoveAll(c.workDir))
	}
	// The ports go back only now that no container of the run holds them.
	for _, l := range c.leases {
		errs = append(errs, l.release())
	}
	c.leases = nil
	c.mu.Unlock()
	err := errors.Join(errs...)
	c.lg.Info("teardown done", "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
	return err
}
