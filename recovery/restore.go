package recovery

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// RestoreArgs is the `etcdutl snapshot restore` command line for member
// name of a new cluster made of names (seeds 000–004).
func RestoreArgs(snapshot, name string, names []string, token string, tls bool, extra ...string) []string {
	args := []string{"etcdutl", "snapshot", "restore", snapshot,
		"--name=" + name,
		"--initial-cluster=" + harness.InitialCluster(names, tls),
		"--initial-cluster-token=" + token,
		"--initial-advertise-peer-urls=" + harness.PeerURL(name, tls),
		"--data-dir=" + harness.DataDir,
	}
	return append(args, extra...)
}

// RestoreCluster rebuilds every member of c from snap as a new logical
// cluster with a new --initial-cluster-token, as the runbooks say: stop
// etcd everywhere, clear the data dirs, distribute the snapshot, run
// `etcdutl snapshot restore` on each member, start them all, wait until
// the cluster is ready. extra flags go to every restore (such as
// --skip-hash-check for a db file copied out of a data dir).
func RestoreCluster(ctx context.Context, log *record.Log, c *harness.Cluster, snap *Snapshot, token string, extra ...string) error {
	members, names := c.Members(), Names(c)
	tls := c.Config().TLS
	for _, m := range members {
		if err := log.Do(record.PhaseRecovery, "stop etcd on "+m.Name()+" and clear its data dir", m.Name(), func() (record.Action, error) {
			a := record.Action{Command: fmt.Sprintf("docker rm -f %[1]s && docker volume rm -f %[1]s-data  # systemctl stop etcd && rm -rf %[2]s", m.ContainerName(), harness.DataDir)}
			return a, m.Wipe(ctx)
		}); err != nil {
			return err
		}
	}
	for _, m := range members {
		if err := log.Do(record.PhaseRecovery, "restore the snapshot on "+m.Name(), m.Name(), func() (record.Action, error) {
			return m.Offline(ctx, map[string][]byte{SnapshotPath: snap.Data}, RestoreArgs(SnapshotPath, m.Name(), names, token, tls, extra...)...)
		}); err != nil {
			return err
		}
	}
	c.SetToken(token)
	for _, m := range members {
		spec := c.Spec(m.Name(), harness.InitialCluster(names, tls), "new")
		if err := StartMember(ctx, log, c, m, spec, "start etcd on "+m.Name()); err != nil {
			return err
		}
	}
	return log.Do(record.PhaseRecovery, "wait until the restored cluster is healthy", "", func() (record.Action, error) {
		// Poll through the published ports first: the members may still be
		// electing. Then show health as the operator sees it.
		if err := c.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return c.Members()[0].Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "health", "--write-out=table")...)
	})
}

var restoredRE = regexp.MustCompile(`-restored-[0-9]+$`)

// NewToken derives a fresh --initial-cluster-token from the old one, so
// restored members can never join the old cluster by mistake.
func NewToken(old string) string {
	old = restoredRE.ReplaceAllString(old, "")
	return fmt.Sprintf("%s-restored-%d", old, time.Now().UnixNano())
}
