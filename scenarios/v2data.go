package scenarios

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// V2Data follows seed 004 on a cluster holding v2 and v3 keys (etcd 3.5,
// the last version with the v2 API): the v2 backup (`etcdutl backup` and
// `--force-new-cluster`) brings the v2 keys back; a v3 snapshot restore
// brings the v3 keys back and, as documented, not the v2 ones. There is
// no fault: the drill is about what each backup keeps.
var V2Data = register(&drill.Scenario{
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
	Prepare: []drill.Step{
		{Title: "write v2 keys", Do: drill.WriteV2Keys},
		{Title: "save a v3 snapshot", Do: drill.SaveSnapshot},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Recover: []drill.Step{
		{Title: "back up the v2 data dir and start from it with --force-new-cluster", Do: restoreV2Backup},
		{Title: "the v2 keys are back", Do: verifyV2Back},
		{Title: "restore every member from the v3 snapshot", Do: drill.RestoreAll},
	},
	Verify: []drill.Step{{Title: "verify v3 keys, and that v2 keys are gone as documented", Do: verifyV3RestoreDropsV2}},
})

func restoreV2Backup(ctx context.Context, d *drill.Drill) error {
	return recovery.V2Backup(ctx, d.Log, d.Cluster)
}

func verifyV2Back(ctx context.Context, d *drill.Drill) error {
	st := drill.State[drill.V2Keys](d)
	c := d.Cluster
	m := c.Members()[0]
	if err := d.Log.Do(record.PhaseVerify, "read a v2 key back", m.Name(), func() (record.Action, error) {
		return m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args([]string{m.ClientURL()}, "get", st.Prefix+"/name1")...)
	}); err != nil {
		return err
	}
	kapi, err := c.KeysV2(m)
	if err != nil {
		return err
	}
	kvs, err := verify.KeyspaceV2(ctx, kapi, st.Prefix, d.Config.Timeouts.Command)
	if err != nil {
		return err
	}
	check := verify.Integrity(st.Ledger.Writes(), kvs, verify.IntegrityOptions{Prefix: st.Prefix}).Check()
	check.Name = "v2-keys-after-v2-backup"
	d.AddChecks(check)
	if err := drill.CheckErr(check); err != nil {
		return fmt.Errorf("after the v2 backup: %w", err)
	}
	return nil
}

func verifyV3RestoreDropsV2(ctx context.Context, d *drill.Drill) error {
	st := drill.State[drill.V2Keys](d)
	kapi, err := d.Cluster.KeysV2()
	if err != nil {
		return err
	}
	kvs, err := verify.KeyspaceV2(ctx, kapi, st.Prefix, d.Config.Timeouts.Command)
	if err != nil {
		return err
	}
	return drill.VerifyRestored(ctx, d, verify.V2Dropped(st.Ledger.Counts()[workload.Acknowledged], kvs))
}
