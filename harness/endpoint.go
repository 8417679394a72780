package harness

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// DefaultPublishAddress is the host IP client ports are published on
// unless EnvPublishAddress or WithPublishAddress says otherwise: the
// loopback, so that a drill's etcd, which anyone could write to, is never
// reachable from the network unless asked.
const DefaultPublishAddress = "127.0.0.1"

// EnvPublishAddress names the environment variable that overrides
// DefaultPublishAddress, so that a remote engine (DOCKER_HOST) can be
// pointed at once for every command instead of per invocation.
const EnvPublishAddress = "ETCDRILL_PUBLISH_ADDRESS"

// parsePublishAddress checks that s is an IP literal Docker can bind a
// port on. Host names are refused: Docker binds addresses, and a name
// could resolve differently on the engine's host than here.
func parsePublishAddress(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("publish address %q: want an IP literal such as 127.0.0.1, 10.1.2.3 or ::1", s)
	}
	return a.Unmap(), nil
}

// engineHost returns the host of the Docker engine that dockerHost (a
// DOCKER_HOST value) names, and whether the engine runs on this machine:
// a unix socket or named pipe, or no value (the default socket). A remote
// engine's host is what a port published on all its interfaces is
// reached at.
func engineHost(dockerHost string) (host string, local bool, err error) {
	if dockerHost == "" {
		return "", true, nil
	}
	u, err := url.Parse(dockerHost)
	if err != nil || u.Scheme == "" {
		return "", false, fmt.Errorf("DOCKER_HOST %q: want unix://, tcp://, http(s):// or ssh:// followed by an address", dockerHost)
	}
	switch strings.ToLower(u.Scheme) {
	case "unix", "npipe":
		return "", true, nil
	case "tcp", "http", "https", "ssh":
		if u.Hostname() == "" {
			return "", false, fmt.Errorf("DOCKER_HOST %q names no host", dockerHost)
		}
		return u.Hostname(), false, nil
	default:
		return "", false, fmt.Errorf("DOCKER_HOST %q: scheme %s is not unix, npipe, tcp, http, https or ssh", dockerHost, u.Scheme)
	}
}

// dialHost returns the host the harness dials members' published client
// ports at, given the publish address and the DOCKER_HOST value: the
// publish address itself, unless it is all interfaces (0.0.0.0 or ::),
// which is no address to dial; then the engine's host for a remote
// engine, or the loopback of the same family for a local one.
func dialHost(publish, dockerHost string) (string, error) {
	a, err := parsePublishAddress(publish)
	if err != nil {
		return "", err
	}
	engine, local, err := engineHost(dockerHost)
	if err != nil {
		return "", err
	}
	switch {
	case !a.IsUnspecified():
		return a.String(), nil
	case !local:
		return engine, nil
	case a.Is4():
		return "127.0.0.1", nil
	default:
		return "::1", nil
	}
}

// endpointURL is the client URL of a member published at host:port.
func endpointURL(tls bool, host string, port int) string {
	return scheme(tls) + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// freePort asks this machine's kernel for a free port on addr. That means
// something only when the engine runs here, so it is used for a local
// engine, where it costs no container; see dockerPorts otherwise.
func freePort(addr netip.Addr) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr.String(), "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostPorts returns n host ports for new members, free on the publish
// address of the engine's host. Members keep their port for life, so a
// restarted or re-created member is at the same endpoint; on a local
// engine the cluster leases its ports until Close (see portLease).
func (c *Cluster) hostPorts(ctx context.Context, n int) ([]int, error) {
	if !c.localEngine {
		return c.dockerPorts(ctx, n)
	}
	dir, err := portLeaseDir()
	if err != nil {
		return nil, err
	}
	ports := make([]int, n)
	for i := range ports {
		p, l, err := leaseFreePort(dir, c.publish)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.leases = append(c.leases, l)
		c.mu.Unlock()
		ports[i] = p
	}
	return ports, nil
}

// dockerPorts has the engine choose n free host ports on the publish
// address: a throwaway container of the run's image publishes n ports
// with no host port given, the ports Docker assigned are read back, and
// the container is removed. The ports cannot be left to Docker on the
// members' own containers: Docker assigns a new port on every start of a
// container published that way (moby/moby#31926), and drills restart
// killed members in place and need them at the same endpoint.
func (c *Cluster) dockerPorts(ctx context.Context, n int) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeouts.Command)
	defer cancel()
	exposed := mnet.PortSet{}
	bindings := mnet.PortMap{}
	var ports []mnet.Port
	for i := range n {
		p := mnet.MustParsePort(strconv.Itoa(clientPort+i) + "/tcp")
		ports = append(ports, p)
		exposed[p] = struct{}{}
		bindings[p] = []mnet.PortBinding{{HostIP: c.publish}}
	}
	name := fmt.Sprintf("%s-ports-%d", c.runID, time.Now().UnixNano()%1e6)
	res, err := c.dc.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: c.image.Tag,
			// etcd with its defaults serves inside the container only,
			// and runs until the container is removed.
			Entrypoint:   []string{"/usr/local/bin/etcd"},
			Cmd:          []string{"--data-dir=/tmp/ports.etcd"},
			Labels:       maps.Clone(c.labels),
			ExposedPorts: exposed,
		},
		HostConfig: &container.HostConfig{PortBindings: bindings, NetworkMode: container.NetworkMode(c.clientNetwork())},
	})
	if err != nil {
		return nil, fmt.Errorf("host ports: create %s: %w", name, err)
	}
	defer func() {
		// A failed removal is left to Close, which finds it by its run label.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeouts.Command)
		defer cancel()
		c.leave.Lock()
		defer c.leave.Unlock()
		if _, err := c.dc.ContainerRemove(rctx, res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			c.lg.Warn("remove the host port container", "container", name, "err", err)
		}
	}()
	if _, err := c.dc.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return nil, fmt.Errorf("host ports: start %s: %w", name, err)
	}
	st, err := c.dc.ContainerInspect(ctx, res.ID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("host ports: inspect %s: %w", name, err)
	}
	var assigned mnet.PortMap
	if st.Container.NetworkSettings != nil {
		assigned = st.Container.NetworkSettings.Ports
	}
	out := make([]int, n)
	for i, p := range ports {
		if out[i], err = assignedPort(assigned, p); err != nil {
			return nil, fmt.Errorf("host ports: %s: %w", name, err)
		}
	}
	c.lg.Debug("host ports assigned by the engine", "publish", c.publish, "ports", out)
	return out, nil
}

// assignedPort returns the host port Docker bound container port p to.
func assignedPort(pm mnet.PortMap, p mnet.Port) (int, error) {
	for _, b := range pm[p] {
		if n, err := strconv.Atoi(b.HostPort); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no host port assigned to %s (bindings %v)", p, pm[p])
}
