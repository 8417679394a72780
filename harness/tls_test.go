package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// The paths are spelled out as kubeadm lays them out, not built from the
// package's constants.
const (
	caPath         = "/etc/kubernetes/pki/etcd/ca.crt"
	serverCertPath = "/etc/kubernetes/pki/etcd/server.crt"
	serverKeyPath  = "/etc/kubernetes/pki/etcd/server.key"
	peerCertPath   = "/etc/kubernetes/pki/etcd/peer.crt"
	peerKeyPath    = "/etc/kubernetes/pki/etcd/peer.key"
	clientCertPath = "/etc/kubernetes/pki/etcd/healthcheck-client.crt"
	clientKeyPath  = "/etc/kubernetes/pki/etcd/healthcheck-client.key"
)

func newPKIFiles(t *testing.T, member string) (*PKI, map[string][]byte) {
	t.Helper()
	p, err := NewPKI()
	if err != nil {
		t.Fatalf("NewPKI: %v", err)
	}
	files, err := p.MemberFiles(member)
	if err != nil {
		t.Fatalf("MemberFiles(%q): %v", member, err)
	}
	return p, files
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("trailing data after the certificate: %q", rest)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return c
}

func caPool(t *testing.T, caPEM []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA PEM holds no certificate: %q", caPEM)
	}
	return pool
}

func TestMemberFilesPaths(t *testing.T) {
	_, files := newPKIFiles(t, "m2")
	want := []string{caPath, serverCertPath, serverKeyPath, peerCertPath, peerKeyPath, clientCertPath, clientKeyPath}
	if len(files) != len(want) {
		t.Errorf("MemberFiles has %d files, want %d: %v", len(files), len(want), keys(files))
	}
	for _, p := range want {
		if len(files[p]) == 0 {
			t.Errorf("MemberFiles has no %s", p)
		}
	}
	for path, data := range files {
		t.Run(path, func(t *testing.T) {
			b, _ := pem.Decode(data)
			if b == nil {
				t.Fatalf("%s is not PEM", path)
			}
			isKey := strings.HasSuffix(b.Type, "PRIVATE KEY")
			if strings.HasSuffix(path, ".key") != isKey {
				t.Errorf("%s holds a %q block", path, b.Type)
			}
		})
	}
	// Each certificate matches the key stored next to it.
	for _, pair := range [][2]string{{serverCertPath, serverKeyPath}, {peerCertPath, peerKeyPath}, {clientCertPath, clientKeyPath}} {
		if _, err := tls.X509KeyPair(files[pair[0]], files[pair[1]]); err != nil {
			t.Errorf("%s and %s are no key pair: %v", pair[0], pair[1], err)
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMemberFilesVerify(t *testing.T) {
	p, files := newPKIFiles(t, "m2")
	roots := caPool(t, files[caPath])
	if !bytes.Equal(files[caPath], p.CAPEM) {
		t.Errorf("MemberFiles CA differs from PKI.CAPEM")
	}
	_, other := newPKIFiles(t, "m2") // a different run's CA
	otherRoots := caPool(t, other[caPath])
	server := x509.ExtKeyUsageServerAuth
	client := x509.ExtKeyUsageClientAuth
	for _, tc := range []struct {
		name  string
		cert  string
		roots *x509.CertPool
		host  string
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"server m2", serverCertPath, roots, "m2", server, true},
		{"server localhost", serverCertPath, roots, "localhost", server, true},
		{"server 127.0.0.1", serverCertPath, roots, "127.0.0.1", server, true},
		{"server m3", serverCertPath, roots, "m3", server, false},
		{"server other CA", serverCertPath, otherRoots, "m2", server, false},
		{"peer m2 as server", peerCertPath, roots, "m2", server, true},
		{"peer m2 as client", peerCertPath, roots, "", client, true},
		{"peer m3", peerCertPath, roots, "m3", server, false},
		{"client", clientCertPath, roots, "", client, true},
		{"client as server", clientCertPath, roots, "", server, false},
		{"client other CA", clientCertPath, otherRoots, "", client, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseCert(t, files[tc.cert])
			_, err := c.Verify(x509.VerifyOptions{
				DNSName:   tc.host,
				Roots:     tc.roots,
				KeyUsages: []x509.ExtKeyUsage{tc.usage},
			})
			if tc.ok && err != nil {
				t.Errorf("verify %s: %v", tc.cert, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("verify %s for %q succeeded, want an error", tc.cert, tc.host)
			}
		})
	}
}

func TestClientTLS(t *testing.T) {
	p, files := newPKIFiles(t, "m2")
	cfg, err := p.ClientTLS()
	if err != nil {
		t.Fatalf("ClientTLS: %v", err)
	}
	if len(cfg.Certificates) != 1 {
		t.Fatalf("ClientTLS has %d certificates, want 1", len(cfg.Certificates))
	}
	want := parseCert(t, p.ClientCertPEM)
	if got := cfg.Certificates[0].Certificate[0]; !bytes.Equal(got, want.Raw) {
		t.Errorf("ClientTLS presents a certificate other than ClientCertPEM")
	}
	if cfg.RootCAs == nil {
		t.Fatal("ClientTLS has no RootCAs")
	}
	// RootCAs must hold the run's CA: the member's server cert verifies.
	server := parseCert(t, files[serverCertPath])
	if _, err := server.Verify(x509.VerifyOptions{DNSName: "m2", Roots: cfg.RootCAs}); err != nil {
		t.Errorf("server cert does not verify against ClientTLS().RootCAs: %v", err)
	}
}

func TestHandshake(t *testing.T) {
	p, files := newPKIFiles(t, "m2")
	pair, err := tls.X509KeyPair(files[serverCertPath], files[serverKeyPath])
	if err != nil {
		t.Fatal(err)
	}
	serverCfg := &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    caPool(t, files[caPath]),
		MinVersion:   tls.VersionTLS12,
	}
	clientCfg, err := p.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		serverName string
		noCert     bool
		ok         bool
	}{
		{"m2", "m2", false, true},
		{"localhost", "localhost", false, true},
		{"m3", "m3", false, false},
		{"no client cert", "m2", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clientCfg.Clone()
			c.ServerName = tc.serverName
			if tc.noCert {
				c.Certificates = nil
			}
			serverErr, clientErr := handshake(t, serverCfg, c)
			if tc.ok && (serverErr != nil || clientErr != nil) {
				t.Errorf("handshake: server error %v, client error %v", serverErr, clientErr)
			}
			if !tc.ok && serverErr == nil && clientErr == nil {
				t.Errorf("handshake with ServerName %q succeeded, want an error", tc.serverName)
			}
			if tc.serverName == "m3" {
				var he x509.HostnameError
				if !errors.As(clientErr, &he) {
					t.Errorf("client error %v, want a hostname mismatch", clientErr)
				}
			}
		})
	}
}

// handshake runs a TLS handshake between a server and a client over an
// in-memory connection, then sends "ok" from server to client so a server
// that rejects the client after the client finished is seen by both.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc, cc := bufferedPipe()
	srv, cli := tls.Server(sc, serverCfg), tls.Client(cc, clientCfg)
	errc := make(chan error, 1)
	go func() {
		// Close the raw conn, not the tls.Conn: close_notify is not needed
		// and waiting on it only slows the test.
		defer sc.Close()
		err := srv.HandshakeContext(ctx)
		if err == nil {
			_, err = srv.Write([]byte("ok"))
		}
		errc <- err
	}()
	clientErr = cli.HandshakeContext(ctx)
	if clientErr == nil {
		buf := make([]byte, 2)
		if _, clientErr = io.ReadFull(cli, buf); clientErr == nil && string(buf) != "ok" {
			clientErr = errors.New("server sent " + string(buf))
		}
	}
	cc.Close()
	return <-errc, clientErr
}

// bufferedPipe is net.Pipe with unbounded buffers. With net.Pipe every
// write waits for a read, so a side that fails a handshake blocks sending
// its alert while the other side is still writing its flight.
func bufferedPipe() (net.Conn, net.Conn) {
	a, b := newByteQueue(), newByteQueue()
	return &pipeConn{r: a, w: b}, &pipeConn{r: b, w: a}
}

type byteQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    bytes.Buffer
	closed bool
}

func newByteQueue() *byteQueue {
	q := &byteQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *byteQueue) Read(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.buf.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.buf.Len() == 0 {
		return 0, io.EOF
	}
	return q.buf.Read(p)
}

func (q *byteQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, io.ErrClosedPipe
	}
	q.cond.Broadcast()
	return q.buf.Write(p)
}

func (q *byteQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

type pipeConn struct{ r, w *byteQueue }

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends both directions: the peer reads what was sent, then EOF.
func (c *pipeConn) Close() error {
	c.r.close()
	c.w.close()
	return nil
}

func (c *pipeConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// TestServerCertForDialHosts: the server certificate is also valid for
// the hosts NewPKI is given (where the harness dials a remote engine's
// published ports); the peer certificate, used only inside the network,
// is not.
func TestServerCertForDialHosts(t *testing.T) {
	p, err := NewPKI("10.1.2.3", "docker.example.com", "fd00::7", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := p.MemberFiles("m1")
	if err != nil {
		t.Fatal(err)
	}
	roots := caPool(t, p.CAPEM)
	server, peer := parseCert(t, files[serverCertPath]), parseCert(t, files[peerCertPath])
	for _, host := range []string{"m1", "localhost", "127.0.0.1", "10.1.2.3", "docker.example.com", "fd00::7"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("server cert for %s: %v", host, err)
		}
	}
	if n := len(server.IPAddresses); n != 3 {
		t.Errorf("server cert IPs %v: 127.0.0.1 given twice is not listed once", server.IPAddresses)
	}
	for _, host := range []string{"10.1.2.3", "docker.example.com"} {
		if _, err := peer.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err == nil {
			t.Errorf("peer cert is valid for %s", host)
		}
	}
}

// TestMemberFilesIssuedOnce: every container of a member gets the same
// certificates, issued once even when asked for concurrently, and a
// caller changing its map changes no one else's.
func TestMemberFilesIssuedOnce(t *testing.T) {
	p, err := NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]map[string][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			f, err := p.MemberFiles("m1")
			if err != nil {
				t.Error(err)
			}
			got[i] = f
		})
	}
	wg.Wait()
	for i, f := range got[1:] {
		if !bytes.Equal(f[serverCertPath], got[0][serverCertPath]) || !bytes.Equal(f[peerKeyPath], got[0][peerKeyPath]) {
			t.Fatalf("call %d got other certificates", i+1)
		}
	}
	got[0][serverCertPath] = nil
	again, _ := p.MemberFiles("m1")
	if len(again[serverCertPath]) == 0 {
		t.Error("changing a returned map changed the PKI's")
	}
	other, _ := p.MemberFiles("m2")
	if bytes.Equal(other[serverKeyPath], again[serverKeyPath]) {
		t.Error("m1 and m2 share a key")
	}
}

// BenchmarkMemberFiles: what TLS costs a member's first create.
func BenchmarkMemberFiles(b *testing.B) {
	for b.Loop() {
		p, err := NewPKI()
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []string{"m1", "m2", "m3"} {
			if _, err := p.MemberFiles(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}
