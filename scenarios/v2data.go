package scenarios

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// V2Data follows seed 004 on a cluster holding v2 and v3 keys (etcd 3.5,
// the last version with the v2 API): the v2 backup (`etcdutl backup` and
// `--force-new-cluster`) brings the v2 keys back; a v3 snapshot restore
// brings the v3 keys back and, as documented, not the v2 ones.
var V2Data = register(&Scenario{
	Name:           "v2-data",
	Summary:        "v2 and v3 keys: a v2 backup keeps v2 keys; a v3 snapshot restore keeps v3 keys and drops v2 keys, as documented",
	Seeds:          []string{"004"},
	Labels:         []string{"v2", "restore", "snapshot"},
	Members:        3,
	TLS:            true,
	MinMinor:       5,
	MaxMinor:       5,
	VersionNote:    "the v2 API, --enable-v2 and etcdutl backup were removed in etcd 3.6",
	ClusterOptions: []harness.Option{harness.WithV2()},
	Steps: []Step{
		{"start the cluster with the v2 API", startCluster},
		{"write v3 keys under load", startLoad},
		{"write v2 keys", writeV2},
		{"save a v3 snapshot", saveSnapshot},
		{"stop the load", stopLoad},
		{"back up the v2 data dir and start from it with --force-new-cluster", restoreV2Backup},
		{"the v2 keys are back", verifyV2Back},
		{"restore every member from the v3 snapshot", restoreAll},
		{"verify v3 keys, and that v2 keys are gone as documented", verifyV3RestoreDropsV2},
	},
})

// v2State is what the v2 steps share.
type v2State struct {
	ledger workload.Ledger
	prefix string
}

const v2Keys = 50

func writeV2(ctx context.Context, d *Drill) error {
	st := State[v2State](d)
	st.prefix = "/etcdrill-v2/" + d.Scenario.Name
	c := d.Cluster
	m := c.Members()[0]
	// The operator's command first, as seed 004 types it.
	key, val := st.prefix+"/name1", []byte("test01")
	if err := d.Log.Do(record.PhaseWorkload, "write a v2 key with etcdctl", m.Name(), func() (record.Action, error) {
		w := workload.Write{Key: key, Digest: workload.ValueDigest(val), Outcome: workload.Indeterminate}
		e, err := m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args(c.ClientURLs(), "set", key, string(val))...)
		if err == nil {
			w.Outcome = workload.Acknowledged
		}
		st.ledger.Record(w)
		return e, err
	}); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseWorkload, fmt.Sprintf("write %d more v2 keys through the v2 API", v2Keys), "", func() (record.Action, error) {
		kapi, err := c.KeysV2()
		if err != nil {
			return record.Action{}, err
		}
		for i := range v2Keys {
			k := fmt.Sprintf("%s/k%04d", st.prefix, i)
			if _, err := workload.PutV2(ctx, kapi, &st.ledger, d.timeouts().Request, k, d.Load.Value(99, i)); err != nil {
				return record.Action{}, fmt.Errorf("v2 set %s: %w", k, err)
			}
		}
		e, err := m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args(c.ClientURLs(), "ls", "--recursive", st.prefix)...)
		e.Output = fmt.Sprintf("%d v2 keys acknowledged\n%s", st.ledger.Counts()[workload.Acknowledged], e.Output)
		return e, err
	})
}

// restoreV2Backup runs seed 004 §7: with etcd stopped, `etcdutl backup`
// copies the data dir (v2 store and WAL, metadata rewritten), and etcd
// starts from the copy with --force-new-cluster.
func restoreV2Backup(ctx context.Context, d *Drill) error {
	c := d.Cluster
	for _, m := range c.Members() {
		if err := d.Log.Do(record.PhaseRecovery, "stop etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
			a := record.Action{Command: "docker stop " + m.ContainerName() + " && docker rm " + m.ContainerName() + "  # systemctl stop etcd; the data dir stays"}
			if err := m.Stop(ctx); err != nil {
				return a, err
			}
			return a, m.RemoveContainer(ctx)
		}); err != nil {
			return err
		}
	}
	m := c.Members()[0]
	backup := harness.DataDir + "/v2-backup"
	if err := d.Log.Do(record.PhaseRecovery, "back up the data dir with etcdutl backup", m.Name(), func() (record.Action, error) {
		return m.Offline(ctx, nil, "etcdutl", "backup", "--data-dir="+harness.DataDir, "--backup-dir="+backup)
	}); err != nil {
		return err
	}
	spec := c.Spec(m.Name(), harness.InitialCluster([]string{m.Name()}, c.Config().TLS), "new")
	spec.DataDir, spec.ForceNewCluster = backup, true
	if err := recovery.StartMember(ctx, d.Log, c, m, spec, "start etcd from the backup with --force-new-cluster"); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseRecovery, "wait until "+m.Name()+" leads its new one-member cluster", m.Name(), func() (record.Action, error) {
		if _, err := c.WaitLeader(ctx, m); err != nil {
			return record.Action{}, err
		}
		return m.Etcdctl(ctx, "endpoint", "status", "--write-out=table")
	})
}

func verifyV2Back(ctx context.Context, d *Drill) error {
	st := State[v2State](d)
	c := d.Cluster
	m := c.Members()[0]
	if err := d.Log.Do(record.PhaseVerify, "read a v2 key back", m.Name(), func() (record.Action, error) {
		return m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args([]string{m.ClientURL()}, "get", st.prefix+"/name1")...)
	}); err != nil {
		return err
	}
	kapi, err := c.KeysV2(m)
	if err != nil {
		return err
	}
	kvs, err := verify.KeyspaceV2(ctx, kapi, st.prefix, d.timeouts().Command)
	if err != nil {
		return err
	}
	check := verify.Integrity(st.ledger.Writes(), kvs, verify.IntegrityOptions{Prefix: st.prefix}).Check()
	check.Name = "v2-keys-after-v2-backup"
	d.Record.Checks = append(d.Record.Checks, check)
	if !check.Passed() {
		return fmt.Errorf("%s: %s", check.Name, check.Summary)
	}
	return nil
}

func verifyV3RestoreDropsV2(ctx context.Context, d *Drill) error {
	st := State[v2State](d)
	kapi, err := d.Cluster.KeysV2()
	if err != nil {
		return err
	}
	kvs, err := verify.KeyspaceV2(ctx, kapi, st.prefix, d.timeouts().Command)
	if err != nil {
		return err
	}
	check := verify.V2Dropped(st.ledger.Counts()[workload.Acknowledged], kvs)
	d.Record.Checks = append(d.Record.Checks, check)
	err = verifyRestored(ctx, d)
	if err == nil && !check.Passed() {
		err = fmt.Errorf("%s: %s", check.Name, check.Summary)
	}
	return err
}
