package harness

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// benchImage is the image the start benchmark runs; it must exist locally,
// so the benchmark never builds one.
const benchImage = "etcdrill/etcd:v3.6.16"

// BenchmarkStart times New of a 3-member TLS cluster until it is healthy
// with a leader, the start every drill pays before its first step. It
// starts containers, so it runs only with ETCDRILL_BENCH_START=1:
//
//	ETCDRILL_BENCH_START=1 go test -run '^$' -bench Start -benchtime 5x ./harness/
//
// Teardown is not timed. Each start's time is logged, and the median is
// reported as s/start, since one slow start on a busy machine skews the mean.
func BenchmarkStart(b *testing.B) {
	if os.Getenv("ETCDRILL_BENCH_START") == "" {
		b.Skip("starts 3-member clusters in Docker: set ETCDRILL_BENCH_START=1")
	}
	ctx := context.Background()
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("ETCDRILL_BENCH_LOG") != "" {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		c, err := New(ctx, WithVersion("3.6.16"), WithImage(benchImage), WithMembers(3), WithTLS(true),
			WithName("bench-start"), WithLogger(lg))
		d := time.Since(start)
		b.StopTimer()
		if cerr := c.Close(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatalf("start: %v", err)
		}
		took = append(took, d)
		b.Logf("start %d: %s", len(took), d.Round(time.Millisecond))
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s/start")
}

// engineTestTimeout bounds one container test: a cluster start, a few
// member restarts, and teardown.
const engineTestTimeout = 5 * time.Minute

// needEngine skips t under -short, or outside CI without an engine or
// the etcd 3.6.16 image; in CI those are failures (see SuiteReady).
func needEngine(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), engineTestTimeout)
	t.Cleanup(cancel)
	skip, err := SuiteReady(ctx, testLogger(t), testing.Short(), mustVersion(t, "3.6.16"))
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	return ctx
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkRestarts kills m and starts the same container again, as
// leader-kill does, then re-creates its container, as recoveries do; m
// must be at the same endpoint each time, and the cluster healthy.
func checkRestarts(ctx context.Context, t *testing.T, c *Cluster, m *Member) {
	t.Helper()
	ep := m.Endpoint()
	if err := m.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("after a kill and start: %v", err)
	}
	if got := m.Endpoint(); got != ep {
		t.Errorf("after a kill and start %s is at %s, was %s", m.Name(), got, ep)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveContainer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(ctx, m.Spec()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("after a re-create: %v", err)
	}
	if got := m.Endpoint(); got != ep {
		t.Errorf("after a re-create %s is at %s, was %s", m.Name(), got, ep)
	}
}

// runContainers counts the containers carrying c's run label.
func runContainers(ctx context.Context, t *testing.T, c *Cluster) int {
	t.Helper()
	cs, err := c.dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelRun+"="+c.runID)})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs.Items)
}

// TestStartKeepsEndpoints: a 3-member TLS cluster started concurrently is
// healthy, and its members keep their endpoints across restarts. The
// engine's own port choice (used for remote engines) returns free ports
// and leaves no container behind.
func TestStartKeepsEndpoints(t *testing.T) {
	ctx := needEngine(t)
	c, err := New(ctx, WithVersion("3.6.16"), WithImage(benchImage), WithTLS(true), WithName("test-start"), WithLogger(testLogger(t)))
	defer c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !c.localEngine {
		t.Skip("the engine is remote: TestRemoteEngine covers it")
	}
	checkRestarts(ctx, t, c, c.Members()[0])
	ports, err := c.dockerPorts(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Errorf("dockerPorts = %v, not distinct", ports)
	}
	if n := runContainers(ctx, t, c); n != 3 {
		t.Errorf("%d containers carry the run label, want the 3 members'", n)
	}
	m, err := c.AddMember(ctx, "m4")
	if err != nil || m.port == 0 {
		t.Fatalf("AddMember: %+v, %v", m, err)
	}
}

// TestRemoteEngine runs a cluster through a TCP engine address, as with
// DOCKER_HOST=tcp://host:2376, published on this machine's non-loopback
// address: host ports are the engine's choice, members keep them across
// restarts, and TLS verifies at that address. testcontainers resolves the
// engine once per process, so the test runs itself again in a child
// process with DOCKER_HOST pointing at a TCP proxy to the local socket.
func TestRemoteEngine(t *testing.T) {
	if os.Getenv("ETCDRILL_TEST_REMOTE_CHILD") != "" {
		remoteEngineChild(t)
		return
	}
	ctx := needEngine(t)
	dc, err := Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	daemon := dc.DaemonHost()
	dc.Close()
	socket, ok := strings.CutPrefix(daemon, "unix://")
	if !ok {
		t.Skipf("the engine at %s is not a unix socket to proxy", daemon)
	}
	ip := nonLoopback(t)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go proxy(l, socket)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRemoteEngine$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ETCDRILL_TEST_REMOTE_CHILD=1", "DOCKER_HOST=tcp://"+l.Addr().String(), EnvPublishAddress+"="+ip)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRemoteEngine") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func remoteEngineChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTestTimeout)
	defer cancel()
	c, err := New(ctx, WithVersion("3.6.16"), WithImage(benchImage), WithTLS(true), WithName("test-remote"), WithLogger(testLogger(t)))
	defer c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ip := os.Getenv(EnvPublishAddress)
	if c.localEngine || c.dialHost != ip {
		t.Fatalf("engine %s: local %v, dialing %s; want remote, dialing %s", c.dc.DaemonHost(), c.localEngine, c.dialHost, ip)
	}
	for _, m := range c.Members() {
		if !strings.HasPrefix(m.Endpoint(), "https://"+ip+":") {
			t.Errorf("%s is at %s", m.Name(), m.Endpoint())
		}
	}
	checkRestarts(ctx, t, c, c.Members()[1])
}

// nonLoopback returns an IPv4 address of this machine other than the
// loopback, where a remote engine's published ports would be reached.
func nonLoopback(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address")
	return ""
}

// proxy forwards each connection l accepts to the unix socket, each
// direction closed separately so that exec streams end as they should.
func proxy(l net.Listener, socket string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("unix", socket)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(u, c)
				u.(*net.UnixConn).CloseWrite()
				close(done)
			}()
			io.Copy(c, u)
			c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
