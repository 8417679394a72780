package harness

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mnet "github.com/moby/moby/api/types/network"
)

func TestDialHost(t *testing.T) {
	for _, tc := range []struct {
		publish, dockerHost string
		want                string // "" means an error
		errHas              string
	}{
		// A specific publish address is dialed as it is, whatever the engine.
		{"127.0.0.1", "", "127.0.0.1", ""},
		{"127.0.0.1", "unix:///var/run/docker.sock", "127.0.0.1", ""},
		{"10.1.2.3", "tcp://10.1.2.3:2376", "10.1.2.3", ""},
		{"192.168.5.5", "ssh://ops@build-host:2222", "192.168.5.5", ""},
		{"::1", "", "::1", ""},
		{"::ffff:10.1.2.3", "tcp://10.1.2.3:2376", "10.1.2.3", ""},
		{"fd00::7", "tcp://[fd00::7]:2376", "fd00::7", ""},
		// All interfaces: the engine's host when remote ...
		{"0.0.0.0", "tcp://10.1.2.3:2376", "10.1.2.3", ""},
		{"0.0.0.0", "tcp://docker.example.com:2376", "docker.example.com", ""},
		{"0.0.0.0", "tcp://10.1.2.3", "10.1.2.3", ""},
		{"0.0.0.0", "http://10.1.2.3:2375", "10.1.2.3", ""},
		{"0.0.0.0", "https://10.1.2.3:2376", "10.1.2.3", ""},
		{"0.0.0.0", "ssh://user@host.example", "host.example", ""},
		{"0.0.0.0", "ssh://user@host.example:2222", "host.example", ""},
		{"0.0.0.0", "ssh://host.example", "host.example", ""},
		{"::", "tcp://[fd00::7]:2376", "fd00::7", ""},
		{"::", "ssh://user@[fd00::7]:22", "fd00::7", ""},
		{"0.0.0.0", "TCP://10.1.2.3:2376", "10.1.2.3", ""},
		// ... and the loopback of the same family when local.
		{"0.0.0.0", "", "127.0.0.1", ""},
		{"0.0.0.0", "unix:///var/run/docker.sock", "127.0.0.1", ""},
		{"0.0.0.0", "unix:///run/user/1000/docker.sock", "127.0.0.1", ""},
		{"0.0.0.0", "npipe:////./pipe/docker_engine", "127.0.0.1", ""},
		{"::", "unix:///var/run/docker.sock", "::1", ""},
		// Publish addresses must be IP literals.
		{"", "", "", "publish address"},
		{"localhost", "", "", "publish address"},
		{"docker.example.com", "tcp://docker.example.com:2376", "", "publish address"},
		{"[::1]", "", "", "publish address"},
		{"10.1.2.3:2379", "", "", "publish address"},
		{"fe80::1%eth0", "", "", "publish address"},
		{"300.1.2.3", "", "", "publish address"},
		// DOCKER_HOST must be an engine address, checked even when the
		// publish address does not need it: the engine will not work.
		{"0.0.0.0", "10.1.2.3:2376", "", "DOCKER_HOST"},
		{"0.0.0.0", "docker.example.com", "", "DOCKER_HOST"},
		{"0.0.0.0", "tcp://", "", "names no host"},
		{"0.0.0.0", "tcp://:2376", "", "names no host"},
		{"0.0.0.0", "ssh://user@", "", "names no host"},
		{"0.0.0.0", "fd://", "", "scheme fd"},
		{"0.0.0.0", "tcp://[fd00::7", "", "DOCKER_HOST"},
		{"127.0.0.1", "ftp://10.1.2.3", "", "scheme ftp"},
	} {
		t.Run(tc.publish+"@"+tc.dockerHost, func(t *testing.T) {
			got, err := dialHost(tc.publish, tc.dockerHost)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("dialHost = %q, want an error", got)
				}
				if !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line saying %q", err, tc.errHas)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("dialHost = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEngineHostLocal(t *testing.T) {
	for dh, local := range map[string]bool{
		"": true, "unix:///var/run/docker.sock": true, "npipe:////./pipe/docker_engine": true,
		"tcp://127.0.0.1:2375": false, "tcp://10.1.2.3:2376": false, "ssh://u@h": false,
	} {
		if _, got, err := engineHost(dh); err != nil || got != local {
			t.Errorf("engineHost(%q): local %v, %v; want %v", dh, got, err, local)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	for _, tc := range []struct {
		tls  bool
		host string
		want string
	}{
		{false, "127.0.0.1", "http://127.0.0.1:32768"},
		{true, "10.1.2.3", "https://10.1.2.3:32768"},
		{true, "::1", "https://[::1]:32768"},
		{false, "fd00::7", "http://[fd00::7]:32768"},
		{true, "docker.example.com", "https://docker.example.com:32768"},
	} {
		if got := endpointURL(tc.tls, tc.host, 32768); got != tc.want {
			t.Errorf("endpointURL(%v, %q) = %q, want %q", tc.tls, tc.host, got, tc.want)
		}
	}
	c := &Cluster{cfg: Config{TLS: true}, dialHost: "::1"}
	if got := (&Member{c: c, name: "m1", port: 40000}).Endpoint(); got != "https://[::1]:40000" {
		t.Errorf("Endpoint = %q", got)
	}
}

func TestNewConfigPublishAddress(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	t.Setenv(EnvPublishAddress, "")
	cfg, _, err := NewConfig()
	if err != nil || cfg.PublishAddress != "127.0.0.1" {
		t.Fatalf("default: %q, %v; want 127.0.0.1", cfg.PublishAddress, err)
	}
	t.Setenv(EnvPublishAddress, "10.1.2.3")
	if cfg, _, err = NewConfig(); err != nil || cfg.PublishAddress != "10.1.2.3" {
		t.Errorf("from %s: %q, %v", EnvPublishAddress, cfg.PublishAddress, err)
	}
	if cfg, _, err = NewConfig(WithPublishAddress("0.0.0.0")); err != nil || cfg.PublishAddress != "0.0.0.0" {
		t.Errorf("the option does not win over the environment: %q, %v", cfg.PublishAddress, err)
	}
	for _, bad := range []string{"localhost", "10.1.2.3:2379", "", "all"} {
		_, _, err := NewConfig(WithPublishAddress(bad))
		if err == nil || !strings.Contains(err.Error(), "publish address") || strings.Contains(err.Error(), "\n") {
			t.Errorf("WithPublishAddress(%q): %v; want a one-line error", bad, err)
		}
	}
	t.Setenv(EnvPublishAddress, "my-docker-host")
	if _, _, err := NewConfig(); err == nil || !strings.Contains(err.Error(), EnvPublishAddress) {
		t.Errorf("a bad %s: %v; want an error naming it", EnvPublishAddress, err)
	}
	t.Setenv(EnvPublishAddress, "")
	t.Setenv("DOCKER_HOST", "10.1.2.3:2376")
	if _, _, err := NewConfig(); err == nil || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("a DOCKER_HOST without a scheme: %v; want an error", err)
	}
}

func TestAssignedPort(t *testing.T) {
	p := mnet.MustParsePort("2379/tcp")
	lo := netip.MustParseAddr("127.0.0.1")
	if n, err := assignedPort(mnet.PortMap{p: {{HostIP: lo, HostPort: "32769"}}}, p); err != nil || n != 32769 {
		t.Errorf("assignedPort = %d, %v", n, err)
	}
	for name, pm := range map[string]mnet.PortMap{
		"none":     nil,
		"other":    {mnet.MustParsePort("2380/tcp"): {{HostIP: lo, HostPort: "32769"}}},
		"unbound":  {p: nil},
		"no port":  {p: {{HostIP: lo}}},
		"not port": {p: {{HostIP: lo, HostPort: "x"}}},
	} {
		if n, err := assignedPort(pm, p); err == nil {
			t.Errorf("%s: assignedPort = %d, want an error", name, n)
		}
	}
}

func TestFreePortIsFreeOnTheAddress(t *testing.T) {
	p, err := freePort(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}

// TestEachMemberRunsAtOnce: fn runs for every member at the same time,
// and every member's error comes back.
func TestEachMemberRunsAtOnce(t *testing.T) {
	members := []*Member{{name: "m1"}, {name: "m2"}, {name: "m3"}}
	var in atomic.Int32
	all := make(chan struct{})
	err := EachMember(members, func(m *Member) error {
		if in.Add(1) == int32(len(members)) {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			return errors.New("the others never started")
		}
		if m.name == "m1" {
			return nil
		}
		return errors.New("member " + m.name + ": failed")
	})
	if err == nil || !strings.Contains(err.Error(), "member m2: failed") || !strings.Contains(err.Error(), "member m3: failed") {
		t.Fatalf("EachMember = %v; want both failures", err)
	}
	if strings.Contains(err.Error(), "never started") {
		t.Fatalf("members ran one after another: %v", err)
	}
}

func TestAddMemberRejectsATakenName(t *testing.T) {
	c := &Cluster{runID: "etcdrill-test"}
	if _, err := c.addMember("m1", 40001); err != nil {
		t.Fatal(err)
	}
	if _, err := c.addMember("m1", 40002); err == nil || !strings.Contains(err.Error(), "m1") {
		t.Errorf("a second m1: %v", err)
	}
	if m := c.Member("m1"); m == nil || m.port != 40001 || m.volume != "etcdrill-test-m1-data" {
		t.Errorf("Member(m1) = %+v", m)
	}
}
