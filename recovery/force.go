package recovery

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// ForceNewCluster stops etcd on the survivor m and starts it with
// --force-new-cluster (seed 000's last resort): a one-member cluster that
// keeps m's data and forgets every other member. It does not wait for a
// leader.
func ForceNewCluster(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member) error {
	if err := StopKeepData(ctx, log, m); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	spec.ForceNewCluster = true
	return StartMember(ctx, log, c, m, spec, "start etcd on "+m.Name()+" with --force-new-cluster")
}

// RestartAlone restarts m, the only member of its cluster, without
// --force-new-cluster, as the etcd docs ask once the forced start is
// done, so a later restart cannot rewrite membership again. It waits for
// m to lead.
func RestartAlone(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member) error {
	if err := StopKeepData(ctx, log, m); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	if err := StartMember(ctx, log, c, m, spec, "start etcd on "+m.Name()+" without --force-new-cluster"); err != nil {
		return err
	}
	_, err := c.WaitLeader(ctx, m)
	return err
}

// ReaddMembers adds each of lost back through the survivor m: `member
// add`, start it with an empty data dir and --initial-cluster-state=
// existing, and wait until the members started so far agree on a leader
// before the next one, so the cluster never has two unstarted voters at
// once. It ends when every member is healthy.
func ReaddMembers(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, lost []*harness.Member) error {
	started := []*harness.Member{m}
	for _, l := range lost {
		a, err := AddMember(ctx, log, record.PhaseRecovery, "add "+l.Name()+" back", c, m, l.Name(), l.PeerURL(), false)
		if err != nil {
			return err
		}
		spec := c.Spec(l.Name(), a.InitialCluster, "existing")
		if err := StartMember(ctx, log, c, l, spec, "start etcd on "+l.Name()+" with an empty data dir"); err != nil {
			return err
		}
		started = append(started, l)
		if _, err := c.WaitLeader(ctx, started...); err != nil {
			return fmt.Errorf("after adding %s: %w", l.Name(), err)
		}
	}
	return WaitHealthy(ctx, log, c, m)
}

// V2Backup runs seed 004 §7 (etcd 3.5): with etcd stopped on every
// member, `etcdutl backup` copies the first member's data dir (v2 store
// and WAL, metadata rewritten), and etcd starts from the copy with
// --force-new-cluster as a one-member cluster. It waits for that member
// to lead.
func V2Backup(ctx context.Context, log *record.Log, c *harness.Cluster) error {
	for _, m := range c.Members() {
		if err := StopKeepData(ctx, log, m); err != nil {
			return err
		}
	}
	m := c.Members()[0]
	backup := harness.DataDir + "/v2-backup"
	if err := log.Do(record.PhaseRecovery, "back up the data dir with etcdutl backup", m.Name(), func() (record.Action, error) {
		return m.Offline(ctx, nil, "etcdutl", "backup", "--data-dir="+harness.DataDir, "--backup-dir="+backup)
	}); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	spec.DataDir, spec.ForceNewCluster = backup, true
	if err := StartMember(ctx, log, c, m, spec, "start etcd from the backup with --force-new-cluster"); err != nil {
		return err
	}
	return log.Do(record.PhaseRecovery, "wait until "+m.Name()+" leads its new one-member cluster", m.Name(), func() (record.Action, error) {
		if _, err := c.WaitLeader(ctx, m); err != nil {
			return record.Action{}, err
		}
		return m.Etcdctl(ctx, "endpoint", "status", "--write-out=table")
	})
}
