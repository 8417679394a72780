package recovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// StopKeepData stops etcd on m and removes its container, keeping the data
// dir: `systemctl stop etcd` on a host, or moving a static pod's manifest
// away. Start it again with StartMember.
func StopKeepData(ctx context.Context, log *record.Log, m *harness.Member) error {
	return log.Do(record.PhaseRecovery, "stop etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker stop %[1]s && docker rm %[1]s  # systemctl stop etcd; the data dir stays", m.ContainerName())}
		if err := m.Stop(ctx); err != nil {
			return a, err
		}
		return a, m.RemoveContainer(ctx)
	})
}

// Reinstall replaces m's container and data volume with new, empty ones,
// created but not started: a host with etcd installed and a clean data
// dir, as a fresh machine or `rm -rf` of the data dir gives.
func Reinstall(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, title string) error {
	spec := c.Spec(m.Name(), harness.InitialCluster(Names(c), c.Config().TLS), "new")
	return log.Do(record.PhaseRecovery, title, m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker rm -f %[1]s; docker volume rm -f %[1]s-data; docker create --name %[1]s --volume %[1]s-data:%[2]s %[3]s  # rm -rf %[2]s/member, etcd not started",
			m.ContainerName(), harness.DataDir, c.Image().Tag)}
		if err := m.Wipe(ctx); err != nil {
			return a, err
		}
		return a, m.Create(ctx, spec)
	})
}

// Names are the names of c's members, in order.
func Names(c *harness.Cluster) []string {
	var names []string
	for _, m := range c.Members() {
		names = append(names, m.Name())
	}
	return names
}

// EndpointStatusTable runs `etcdctl endpoint status -w table` on m
// against every member of c, unrecorded: callers fold it into a step.
func EndpointStatusTable(ctx context.Context, c *harness.Cluster, m *harness.Member) (record.Action, error) {
	return m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "status", "--write-out=table")...)
}

// EtcdCommands renders the etcd command line of every member, each under
// a "# on mN" line, as the operator starts them on their hosts.
func EtcdCommands(c *harness.Cluster) string {
	var cmds []string
	for _, m := range c.Members() {
		args, _ := harness.Flags(m.Version(), m.Spec())
		cmds = append(cmds, "# on "+m.Name()+"\netcd "+harness.ShellJoin(args))
	}
	return strings.Join(cmds, "\n")
}

// WaitHealthy waits until every member of c is healthy with one leader,
// recorded as one step that shows `endpoint status` from m.
func WaitHealthy(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member) error {
	return log.Do(record.PhaseRecovery, "wait until every member is healthy", m.Name(), func() (record.Action, error) {
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return EndpointStatusTable(ctx, c, m)
	})
}
