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
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
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
	token  string
	labels map[string]string
	dc     *testcontainers.DockerClient
	net    *testcontainers.DockerNetwork
	pki    *PKI
	lg     *slog.Logger

	mu      sync.Mutex
	members []*Member
	closed  bool
	root    *Credentials // set once auth is enabled
	workDir string       // see WorkDir; removed by Close
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

	if n, err := Reap(ctx, dc, c.lg); err != nil {
		c.lg.Warn("reap leftovers", "err", err)
	} else if n > 0 {
		c.lg.Info("reaped leftovers of earlier runs", "objects", n)
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.Timeouts.ImageBuild)
	defer cancel()
	if cfg.Image != "" {
		c.image, err = UseImage(bctx, dc, cfg.Image, v)
	} else {
		c.image, err = EnsureImage(bctx, dc, v, c.lg)
	}
	if err != nil {
		return c, err
	}
	if cfg.TLS {
		if c.pki, err = NewPKI(); err != nil {
			return c, err
		}
	}
	c.net, err = network.New(ctx, network.WithLabels(c.labels))
	if err != nil {
		return c, fmt.Errorf("create network: %w", err)
	}
	names := make([]string, cfg.Members)
	for i := range names {
		names[i] = "m" + strconv.Itoa(i+1)
	}
	for _, name := range names {
		m, err := c.addMember(ctx, name)
		if err != nil {
			return c, err
		}
		spec := c.Spec(name, InitialCluster(names, cfg.TLS), "new")
		if err := m.Create(ctx, spec); err != nil {
			return c, err
		}
	}
	for _, m := range c.Members() {
		if err := m.Start(ctx); err != nil {
			return c, err
		}
	}
	return c, c.WaitReady(ctx)
}

// Spec is the default member spec of this cluster for name.
func (c *Cluster) Spec(name, initialCluster, state string) Spec {
	return Spec{
		Name: name, InitialCluster: initialCluster, Token: c.token, State: state, TLS: c.cfg.TLS,
		QuotaBackendBytes: c.cfg.QuotaBackendBytes, EnableV2: c.cfg.EnableV2, CorruptCheck: c.cfg.CorruptCheck,
	}
}

// addMember registers a member with a host port of its own; it creates
// nothing in Docker yet.
func (c *Cluster) addMember(ctx context.Context, name string) (*Member, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("member %s: host port: %w", name, err)
	}
	m := &Member{c: c, name: name, port: port, volume: c.runID + "-" + name + "-data"}
	c.mu.Lock()
	c.members = append(c.members, m)
	c.mu.Unlock()
	return m, nil
}

// AddMember registers a new member called name that is not yet created;
// call Create and Start on it (member-replace drills do this after
// `member add`).
func (c *Cluster) AddMember(ctx context.Context, name string) (*Member, error) {
	if c.Member(name) != nil {
		return nil, fmt.Errorf("member %s already exists", name)
	}
	return c.addMember(ctx, name)
}

// freePort asks the kernel for a free loopback port. Members keep their
// port for life, so a restarted member is at the same endpoint.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
func (c *Cluster) Token() string { return c.token }

// SetToken changes the token new specs get (a restore makes a new logical
// cluster with a new token).
func (c *Cluster) SetToken(t string) { c.token = t }

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
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
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
	var errs []error
	for _, m := range c.Members() {
		errs = append(errs, m.remove(ctx, true))
	}
	if c.net != nil {
		errs = append(errs, c.net.Remove(ctx))
	}
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
	c.mu.Unlock()
	err := errors.Join(errs...)
	c.lg.Info("teardown done", "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
	return err
}
