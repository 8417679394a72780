package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// A cluster started with WithPeerNetwork has two Docker networks, so that
// cutting a member's peers never cuts the harness off from its client
// port:
//
//   - the peer network (Cluster.net, "<run>-peer") carries the mN aliases,
//     so peer traffic and the in-network client URLs (https://mN:2379,
//     which etcdctl inside a member uses) go over it. It is internal: it
//     never holds a container's default gateway, so connecting and
//     disconnecting it never moves the published ports.
//   - the client network ("<run>-client") is each member's first network
//     and gateway, and carries the published client port. Inter-container
//     traffic is off on it (enable_icc=false) and no member has an mN
//     alias there, so no member can reach another over it: disconnecting
//     a member from the peer network is a partition. Docker adds a
//     container's host name as an alias on every user-defined network it
//     joins, which is why a member's host name is its container name and
//     not mN.
//
// Measured on Docker 20.10: `docker network disconnect` of the peer
// network takes effect at once (peers fail to resolve mN), the published
// client port keeps answering throughout, and after `docker network
// connect --alias mN` the member rejoins within seconds (etcd's peer dial
// back-off).
//
// Without WithPeerNetwork one ordinary bridge network ("<run>-net")
// carries both, with the mN aliases and the published ports: a container
// start attaches one network instead of two, about 0.3 s less per start
// of three members on this 2-core machine (Docker 20.10). Isolate,
// DisconnectPeers, ReconnectPeers and StartNetem then refuse, since a
// cut or a shaping of that network would take the client ports with it.

// iccOption turns inter-container traffic off on a bridge network.
const iccOption = "com.docker.network.bridge.enable_icc"

// dockerNet is a network the harness created with the engine client.
type dockerNet struct{ ID, Name string }

// newNetworks creates the run's network, or with Config.PeerNetwork its
// peer and client networks at once.
func (c *Cluster) newNetworks(ctx context.Context) error {
	if !c.cfg.PeerNetwork {
		var err error
		c.net, err = c.createPeerNetwork(ctx, c.runID+"-net", false)
		return err
	}
	var peerErr, clientErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.net, peerErr = c.createPeerNetwork(ctx, c.runID+"-peer", true)
	}()
	c.clientNet, clientErr = c.createNetwork(ctx, c.runID+"-client", false, map[string]string{iccOption: "false"})
	<-done
	return errors.Join(peerErr, clientErr)
}

// createPeerNetwork creates the bridge network that carries the mN
// aliases. A network half made is returned with the error, for Close.
func (c *Cluster) createPeerNetwork(ctx context.Context, name string, internal bool) (*testcontainers.DockerNetwork, error) {
	//nolint:staticcheck // network.New cannot name a network; a named one reads better in recorded commands
	nw, err := testcontainers.GenericNetwork(ctx, testcontainers.GenericNetworkRequest{NetworkRequest: testcontainers.NetworkRequest{
		Name: name, Driver: "bridge", Internal: internal, Labels: maps.Clone(c.labels),
	}})
	dn, _ := nw.(*testcontainers.DockerNetwork)
	if err != nil {
		return dn, fmt.Errorf("create network %s: %w", name, err)
	}
	return dn, nil
}

// memberNetworks are the networks a member's container joins, in order:
// the first holds its gateway and published ports (see Member.Create).
func (c *Cluster) memberNetworks() []string {
	if c.clientNet == nil {
		return []string{c.net.Name}
	}
	return []string{c.clientNet.Name, c.net.Name}
}

// clientNetwork is the network that carries the published client ports.
func (c *Cluster) clientNetwork() string {
	if c.clientNet == nil {
		return c.net.Name
	}
	return c.clientNet.Name
}

// peerTrafficAlone says why op cannot act on peer traffic alone: the
// cluster has one network for peers and clients.
func (c *Cluster) peerTrafficAlone(op string) error {
	if c.cfg.PeerNetwork {
		return nil
	}
	return fmt.Errorf("%s: cluster %s has one network for peers and clients; cutting or shaping peer traffic alone needs a peer network of its own (harness.WithPeerNetwork)", op, c.runID)
}

// createNetwork creates a bridge network carrying the run's labels.
func (c *Cluster) createNetwork(ctx context.Context, name string, internal bool, opts map[string]string) (*dockerNet, error) {
	res, err := c.dc.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge", Internal: internal, Options: opts, Labels: maps.Clone(c.labels),
	})
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", name, err)
	}
	return &dockerNet{ID: res.ID, Name: name}, nil
}

func (c *Cluster) removeNetwork(ctx context.Context, n *dockerNet) error {
	if n == nil {
		return nil
	}
	if _, err := c.dc.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return nil
}

// PeerNetwork is the name of the network peers talk over.
func (c *Cluster) PeerNetwork() string { return c.net.Name }

// ClientNetwork is the name of the network that carries the published
// client ports: the peer network too without Config.PeerNetwork.
func (c *Cluster) ClientNetwork() string { return c.clientNetwork() }

// NetOp is one `docker network` command of a partition or a heal: the
// command line as an operator types it, the member it concerns ("" for
// the network itself), and the action.
type NetOp struct {
	Title   string
	Member  string
	Command string
	Run     func(ctx context.Context) error
}

// Split is a planned partition: Cut moves the side off the peer network
// and Heal brings it back. Run Cut's ops in order, and Heal's after.
type Split struct {
	Side      []*Member
	Cut, Heal []NetOp
}

// Isolate plans a partition that cuts side off from every other member
// while every client port stays reachable. One member is disconnected
// from the peer network. Several members keep talking to each other: they
// first join a side network of their own, created at the cut with the
// run's labels and their mN aliases, and then leave the peer network;
// healing reverses that and removes the side network. seq names the side
// network ("<run>-side-<seq>"), so that two splits of a run differ.
func (c *Cluster) Isolate(side []*Member, seq int) (*Split, error) {
	if err := c.peerTrafficAlone("isolate"); err != nil {
		return nil, err
	}
	if len(side) == 0 {
		return nil, errors.New("isolate: no members")
	}
	all := c.Members()
	for _, m := range side {
		if !slices.Contains(all, m) {
			return nil, fmt.Errorf("isolate: %s is not a member of this cluster", m.Name())
		}
	}
	if len(side) >= len(all) {
		return nil, fmt.Errorf("isolate: the side has all %d members; nothing is left on the other side", len(all))
	}
	s := &Split{Side: side}
	var sideNet *dockerNet
	sideName := fmt.Sprintf("%s-side-%d", c.runID, seq)
	if len(side) > 1 {
		s.Cut = append(s.Cut, NetOp{
			Title:   "create a network for the side " + memberNames(side),
			Command: fmt.Sprintf("docker network create --internal --label %s=%s %s", LabelRun, c.runID, sideName),
			Run: func(ctx context.Context) error {
				n, err := c.createNetwork(ctx, sideName, true, nil)
				sideNet = n
				return err
			},
		})
		for _, m := range side {
			s.Cut = append(s.Cut, NetOp{Title: m.name + " joins its side's network", Member: m.name, Command: connectCommand(sideName, m),
				Run: func(ctx context.Context) error { return m.connect(ctx, sideNet) }})
		}
	}
	peer := &dockerNet{ID: c.net.ID, Name: c.net.Name}
	for _, m := range side {
		s.Cut = append(s.Cut, NetOp{Title: "cut " + m.name + " off the peer network", Member: m.name, Command: disconnectCommand(peer.Name, m),
			Run: func(ctx context.Context) error { return m.disconnect(ctx, peer) }})
		s.Heal = append(s.Heal, NetOp{Title: "reconnect " + m.name + " to the peer network", Member: m.name, Command: connectCommand(peer.Name, m),
			Run: func(ctx context.Context) error { return m.connect(ctx, peer) }})
	}
	if len(side) > 1 {
		for _, m := range side {
			s.Heal = append(s.Heal, NetOp{Title: m.name + " leaves its side's network", Member: m.name, Command: disconnectCommand(sideName, m),
				Run: func(ctx context.Context) error { return m.disconnect(ctx, sideNet) }})
		}
		s.Heal = append(s.Heal, NetOp{
			Title:   "remove the side's network",
			Command: "docker network rm " + sideName,
			Run:     func(ctx context.Context) error { return c.removeNetwork(ctx, sideNet) },
		})
	}
	return s, nil
}

func connectCommand(network string, m *Member) string {
	return fmt.Sprintf("docker network connect --alias %s %s %s", m.name, network, m.ContainerName())
}

func disconnectCommand(network string, m *Member) string {
	return fmt.Sprintf("docker network disconnect %s %s", network, m.ContainerName())
}

// DisconnectPeers takes the member off the peer network: it can no longer
// reach its peers nor they it, while its client port stays published.
// The command is `docker network disconnect <run>-peer <container>`.
func (m *Member) DisconnectPeers(ctx context.Context) error {
	if err := m.c.peerTrafficAlone("disconnect " + m.name + " from its peers"); err != nil {
		return err
	}
	return m.disconnect(ctx, &dockerNet{ID: m.c.net.ID, Name: m.c.net.Name})
}

// ReconnectPeers puts the member back on the peer network under its mN
// alias: `docker network connect --alias mN <run>-peer <container>`.
func (m *Member) ReconnectPeers(ctx context.Context) error {
	if err := m.c.peerTrafficAlone("reconnect " + m.name + " to its peers"); err != nil {
		return err
	}
	return m.connect(ctx, &dockerNet{ID: m.c.net.ID, Name: m.c.net.Name})
}

func (m *Member) connect(ctx context.Context, n *dockerNet) error {
	if n == nil {
		return fmt.Errorf("connect member %s: no network", m.name)
	}
	id := m.id()
	if id == "" {
		return fmt.Errorf("connect member %s to %s: no container", m.name, n.Name)
	}
	_, err := m.c.dc.NetworkConnect(ctx, n.ID, client.NetworkConnectOptions{Container: id, EndpointConfig: &mnet.EndpointSettings{Aliases: []string{m.name}}})
	if err != nil {
		return fmt.Errorf("connect member %s to %s: %w", m.name, n.Name, err)
	}
	return nil
}

func (m *Member) disconnect(ctx context.Context, n *dockerNet) error {
	if n == nil {
		return fmt.Errorf("disconnect member %s: no network", m.name)
	}
	id := m.id()
	if id == "" {
		return fmt.Errorf("disconnect member %s from %s: no container", m.name, n.Name)
	}
	m.c.leave.Lock()
	defer m.c.leave.Unlock()
	if _, err := m.c.dc.NetworkDisconnect(ctx, n.ID, client.NetworkDisconnectOptions{Container: id}); err != nil {
		return fmt.Errorf("disconnect member %s from %s: %w", m.name, n.Name, err)
	}
	return nil
}

// OnPeerNetwork reports whether the member's container is attached to the
// peer network, from `docker inspect`.
func (m *Member) OnPeerNetwork(ctx context.Context) (bool, error) {
	id := m.id()
	if id == "" {
		return false, fmt.Errorf("member %s has no container", m.name)
	}
	res, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return false, fmt.Errorf("inspect member %s: %w", m.name, err)
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		_, ok := ns.Networks[m.c.net.Name]
		return ok, nil
	}
	return false, nil
}

// memberNames lists the members' names: "m4,m5".
func memberNames(ms []*Member) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.name)
	}
	return strings.Join(s, ",")
}

// hostName is a member's host name: its container name, cut to the 63
// characters a host name may have (keeping the end, which names the
// member).
func hostName(container string) string {
	if len(container) > 63 {
		container = strings.TrimLeft(container[len(container)-63:], "-.")
	}
	return container
}
