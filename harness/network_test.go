package harness

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/testcontainers/testcontainers-go"
)

// planCluster is a cluster with n members and no Docker behind it, for
// planning a split.
func planCluster(n int) *Cluster {
	c := &Cluster{runID: "drill-1234", cfg: Config{PeerNetwork: true},
		net: &testcontainers.DockerNetwork{Name: "drill-1234-peer"}, clientNet: &dockerNet{Name: "drill-1234-client"}}
	for i := range n {
		c.members = append(c.members, &Member{c: c, name: "m" + string(rune('1'+i))})
	}
	return c
}

func commands(ops []NetOp) string {
	var s []string
	for _, op := range ops {
		s = append(s, op.Command)
	}
	return strings.Join(s, "\n")
}

func TestIsolateOneMember(t *testing.T) {
	c := planCluster(3)
	s, err := c.Isolate(c.members[2:], 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := commands(s.Cut), "docker network disconnect drill-1234-peer drill-1234-m3"; got != want {
		t.Errorf("cut:\n%s\nwant:\n%s", got, want)
	}
	if got, want := commands(s.Heal), "docker network connect --alias m3 drill-1234-peer drill-1234-m3"; got != want {
		t.Errorf("heal:\n%s\nwant:\n%s", got, want)
	}
}

func TestIsolateTwoMembersKeepsThemTogether(t *testing.T) {
	c := planCluster(5)
	s, err := c.Isolate(c.members[3:], 7)
	if err != nil {
		t.Fatal(err)
	}
	wantCut := `docker network create --internal --label io.etcdrill.run=drill-1234 drill-1234-side-7
docker network connect --alias m4 drill-1234-side-7 drill-1234-m4
docker network connect --alias m5 drill-1234-side-7 drill-1234-m5
docker network disconnect drill-1234-peer drill-1234-m4
docker network disconnect drill-1234-peer drill-1234-m5`
	if got := commands(s.Cut); got != wantCut {
		t.Errorf("cut:\n%s\nwant:\n%s", got, wantCut)
	}
	wantHeal := `docker network connect --alias m4 drill-1234-peer drill-1234-m4
docker network connect --alias m5 drill-1234-peer drill-1234-m5
docker network disconnect drill-1234-side-7 drill-1234-m4
docker network disconnect drill-1234-side-7 drill-1234-m5
docker network rm drill-1234-side-7`
	if got := commands(s.Heal); got != wantHeal {
		t.Errorf("heal:\n%s\nwant:\n%s", got, wantHeal)
	}
	for _, op := range append(s.Cut, s.Heal...) {
		if op.Title == "" {
			t.Errorf("op %q has no title", op.Command)
		}
	}
}

func TestIsolateRefuses(t *testing.T) {
	c := planCluster(3)
	stranger := &Member{c: c, name: "m9"}
	for name, side := range map[string][]*Member{
		"no members":   nil,
		"every member": c.members,
		"not a member": {stranger},
	} {
		if _, err := c.Isolate(side, 1); err == nil {
			t.Errorf("%s: Isolate accepted it", name)
		}
	}
}

// On one network for peers and clients, a partition or a shaping would
// cut the harness off too: each refuses, naming the option that allows it.
func TestPeerTrafficNeedsPeerNetwork(t *testing.T) {
	c := planCluster(3)
	c.cfg.PeerNetwork, c.clientNet = false, nil
	c.net.Name = "drill-1234-net"
	m := c.members[0]
	_, isolate := c.Isolate(c.members[:1], 1)
	_, netem := m.StartNetem(context.Background(), Netem{Delay: 1}, c.members)
	for name, err := range map[string]error{
		"isolate":    isolate,
		"disconnect": m.DisconnectPeers(context.Background()),
		"reconnect":  m.ReconnectPeers(context.Background()),
		"netem":      netem,
	} {
		if err == nil || !strings.Contains(err.Error(), "WithPeerNetwork") {
			t.Errorf("%s on one network: %v, want a refusal naming WithPeerNetwork", name, err)
		}
	}
	if got := c.memberNetworks(); !slices.Equal(got, []string{"drill-1234-net"}) {
		t.Errorf("member networks on one network: %v", got)
	}
	if got := c.ClientNetwork(); got != "drill-1234-net" {
		t.Errorf("client network on one network: %s", got)
	}
}

// With a peer network, the client network comes first: it holds the
// gateway and the published port.
func TestMemberNetworksClientFirst(t *testing.T) {
	c := planCluster(3)
	if got, want := c.memberNetworks(), []string{"drill-1234-client", "drill-1234-peer"}; !slices.Equal(got, want) {
		t.Errorf("member networks: %v, want %v", got, want)
	}
}

// A connect or disconnect of a member without a container fails with an
// error naming it, before any Docker call.
func TestNetOpWithoutContainer(t *testing.T) {
	c := planCluster(3)
	s, err := c.Isolate(c.members[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cut[0].Run(context.Background()); err == nil || !strings.Contains(err.Error(), "m1") {
		t.Fatalf("cut without a container: %v", err)
	}
}

func TestHostName(t *testing.T) {
	if got := hostName("leader-kill-1234abcd-m1"); got != "leader-kill-1234abcd-m1" {
		t.Errorf("short name changed: %s", got)
	}
	long := strings.Repeat("x", 70) + "-m3"
	if got := hostName(long); len(got) > 63 || !strings.HasSuffix(got, "-m3") {
		t.Errorf("hostName(%d chars) = %q", len(long), got)
	}
}
