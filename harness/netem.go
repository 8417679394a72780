package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Netem is what the agent sets on a member's peer interface: Delay ±
// Jitter on every packet it sends, and Loss percent of them dropped.
type Netem struct {
	Delay, Jitter time.Duration
	Loss          float64
}

// Args are the agent's arguments for n on the interface holding ip; the
// zero Netem clears.
func (n Netem) Args(ip string) []string {
	if n == (Netem{}) {
		return []string{"etcdrill-agent", "clear", "--addr", ip}
	}
	return []string{"etcdrill-agent", "netem", "--addr", ip, "--delay", n.Delay.String(), "--jitter", n.Jitter.String(),
		"--loss", fmt.Sprintf("%g%%", n.Loss)}
}

// Tc is the equivalent iproute2 command for interface dev, for the record.
func (n Netem) Tc(dev string) string {
	if n == (Netem{}) {
		return "tc qdisc del dev " + dev + " root"
	}
	return "tc qdisc replace dev " + dev + " root netem" + n.tcArgs()
}

func (n Netem) tcArgs() string {
	s := ""
	if n.Delay > 0 {
		s += " delay " + n.Delay.String()
		if n.Jitter > 0 {
			s += " " + n.Jitter.String()
		}
	}
	if n.Loss > 0 {
		s += fmt.Sprintf(" loss %g%%", n.Loss)
	}
	return s
}

func (n Netem) String() string {
	var parts []string
	if n.Delay > 0 {
		d := "delay " + n.Delay.String()
		if n.Jitter > 0 {
			d += " ± " + n.Jitter.String()
		}
		parts = append(parts, d)
	}
	if n.Loss > 0 {
		parts = append(parts, fmt.Sprintf("%g%% loss", n.Loss))
	}
	if len(parts) == 0 {
		return "no netem"
	}
	return strings.Join(parts, ", ")
}

// PeerIP is the member's address on the network its peers reach it on
// (the network carrying the mN aliases), from `docker inspect`.
func (m *Member) PeerIP(ctx context.Context) (string, error) {
	id := m.id()
	if id == "" {
		return "", fmt.Errorf("member %s has no container", m.name)
	}
	res, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("inspect member %s: %w", m.name, err)
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		if ep, ok := ns.Networks[m.c.net.Name]; ok && ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String(), nil
		}
	}
	return "", fmt.Errorf("member %s has no address on network %s", m.name, m.c.net.Name)
}

// Shaping is a running netem sidecar: a container of the member's image
// in the member's network namespace, with NET_ADMIN (and /dev/net/tun,
// for kernels without sch_netem), running the agent for as long as the
// fault lasts. Stop removes it, and the shaping with it; so does the
// run's teardown, by its labels.
type Shaping struct {
	m       *Member
	id      string
	Name    string // the sidecar's container name
	Netem   Netem
	Started Exec // the command that started it, and the agent's first line
	stopped bool
}

// Member is the member the sidecar shapes.
func (sh *Shaping) Member() *Member { return sh.m }

// NetemReady bounds the agent applying the shaping once its sidecar runs.
const NetemReady = 30 * time.Second

// StartNetem shapes the member's peer interface (the one holding its
// address on the peer network) with n; peers are the members its peer
// traffic goes to (used where the kernel has no sch_netem). It returns
// once the agent says the shaping is in place. On an error after the
// sidecar was named, the returned Shaping (already stopped) still holds
// the command that was run and the agent's output.
func (m *Member) StartNetem(ctx context.Context, n Netem, peers []*Member) (*Shaping, error) {
	if err := m.c.peerTrafficAlone("netem on " + m.name); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	ip, err := m.PeerIP(ctx)
	if err != nil {
		return nil, err
	}
	var pips []string
	for _, p := range peers {
		if p == m {
			continue
		}
		pip, err := p.PeerIP(ctx)
		if err != nil {
			return nil, err
		}
		pips = append(pips, pip)
	}
	args := append(n.Args(ip), "--peers", strings.Join(pips, ","))
	sh := &Shaping{m: m, Name: fmt.Sprintf("%s-%s-netem-%d", m.c.runID, m.name, time.Now().UnixNano()%1e6), Netem: n}
	sh.Started.Command = fmt.Sprintf("docker run -d --name %s --network container:%s --cap-add NET_ADMIN --device /dev/net/tun --entrypoint %s %s %s",
		sh.Name, m.ContainerName(), AgentBinary, m.imageTag(), ShellJoin(args[1:]))
	cfg := &container.Config{Image: m.imageTag(), Entrypoint: []string{AgentBinary}, Cmd: args[1:], Labels: maps.Clone(m.c.labels)}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode("container:" + m.id()), CapAdd: []string{"NET_ADMIN"}}
	hc.Devices = []container.DeviceMapping{{PathOnHost: "/dev/net/tun", PathInContainer: "/dev/net/tun", CgroupPermissions: "rwm"}}
	res, err := m.c.dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: sh.Name, Config: cfg, HostConfig: hc})
	sh.id = res.ID
	if err != nil {
		sh.Stop(ctx)
		return sh, fmt.Errorf("netem on %s: create sidecar: %w", m.name, err)
	}
	if _, err := m.c.dc.ContainerStart(ctx, sh.id, client.ContainerStartOptions{}); err != nil {
		sh.Stop(ctx)
		return sh, fmt.Errorf("netem on %s: start sidecar: %w", m.name, err)
	}
	rctx, rcancel := context.WithTimeout(ctx, NetemReady)
	defer rcancel()
	err = Poll(rctx, 100*time.Millisecond, func(ctx context.Context) error {
		out, running, err := m.c.containerOutput(ctx, sh.id)
		if err != nil {
			return Permanent(err)
		}
		sh.Started.Output = out
		if strings.Contains(out, "netem on ") || strings.Contains(out, "shaping on ") {
			return nil
		}
		if !running {
			return Permanent(fmt.Errorf("agent exited: %s", lastLine([]byte(out))))
		}
		return fmt.Errorf("agent has not applied the shaping yet")
	})
	if err != nil {
		sh.Stop(ctx)
		return sh, fmt.Errorf("netem on %s: %w", m.name, err)
	}
	if dev := firstWord(strings.TrimPrefix(strings.TrimPrefix(sh.Started.Output, "netem on "), "shaping on ")); dev != "" {
		sh.Started.Command += fmt.Sprintf("\n# the same with iproute2, on %s: %s", m.name, n.Tc(strings.TrimSuffix(dev, ":")))
	}
	return sh, nil
}

// Stop stops the sidecar (SIGTERM: the agent removes the shaping) and
// removes it; it is nil-safe and idempotent. The returned Exec is the
// command as an operator types it and the agent's last words.
func (sh *Shaping) Stop(ctx context.Context) (Exec, error) {
	if sh == nil || sh.stopped || sh.id == "" {
		return Exec{}, nil
	}
	sh.stopped = true
	c := sh.m.c
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeouts.Command)
	defer cancel()
	e := Exec{Command: fmt.Sprintf("docker stop %[1]s && docker rm %[1]s", sh.Name)}
	timeout := 10
	_, serr := c.dc.ContainerStop(ctx, sh.id, client.ContainerStopOptions{Timeout: &timeout})
	out, _, _ := c.containerOutput(ctx, sh.id)
	e.Output = strings.TrimSpace(strings.TrimPrefix(out, sh.Started.Output))
	_, rerr := c.dc.ContainerRemove(ctx, sh.id, client.ContainerRemoveOptions{Force: true})
	if err := errors.Join(serr, rerr); err != nil {
		return e, fmt.Errorf("remove netem sidecar of %s: %w", sh.m.name, err)
	}
	return e, nil
}

// containerOutput is a container's combined output so far and whether it
// still runs.
func (c *Cluster) containerOutput(ctx context.Context, id string) (string, bool, error) {
	st, err := c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", false, err
	}
	logs, err := c.dc.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", false, err
	}
	defer logs.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, logs)
	return out.String(), st.Container.State != nil && st.Container.State.Running, nil
}

// runOnce runs a one-off container of the run (cfg must carry the run's
// labels) to completion and removes it, returning its combined output and
// exit code. Removal is registered before the create error is checked.
func (c *Cluster) runOnce(ctx context.Context, name string, cfg *container.Config, hc *container.HostConfig) (string, int, error) {
	res, err := c.dc.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc})
	defer func() {
		if res.ID != "" {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeouts.Teardown)
			defer cancel()
			c.dc.ContainerRemove(rctx, res.ID, client.ContainerRemoveOptions{Force: true})
		}
	}()
	if err != nil {
		return "", 0, fmt.Errorf("create %s: %w", name, err)
	}
	wait := c.dc.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := c.dc.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return "", 0, fmt.Errorf("start %s: %w", name, err)
	}
	var code int
	select {
	case r := <-wait.Result:
		code = int(r.StatusCode)
		if r.Error != nil && r.Error.Message != "" {
			return "", code, fmt.Errorf("wait %s: %s", name, r.Error.Message)
		}
	case err := <-wait.Error:
		return "", 0, fmt.Errorf("wait %s: %w", name, err)
	case <-ctx.Done():
		return "", 0, fmt.Errorf("wait %s: %w", name, ctx.Err())
	}
	logs, err := c.dc.ContainerLogs(ctx, res.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", code, fmt.Errorf("logs of %s: %w", name, err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil && !errors.Is(err, context.Canceled) {
		return out.String(), code, fmt.Errorf("logs of %s: %w", name, err)
	}
	return out.String(), code, nil
}
