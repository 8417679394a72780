package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/workload"
)

// SingleNode follows seed 004 §一 (单机): a one-member cluster backed up
// with `etcdctl snapshot save` loses its data dir; etcd is stopped, the
// snapshot is restored in place with `etcdutl snapshot restore`, and etcd
// starts again with everything up to the snapshot revision.
var SingleNode = register(&drill.Scenario{
	Name:       "single-node",
	Summary:    "a one-member cluster loses its data dir; restore the snapshot in place",
	Seeds:      []string{"004"},
	Labels:     []string{"fault", "restore", "snapshot", "single-node"},
	Members:    1,
	MaxMembers: 1,
	TLS:        true,
	Prepare: []drill.Step{
		{Title: "save a snapshot", Do: drill.SaveSnapshot},
		{Title: "keep writing after the snapshot", Do: drill.WriteAfterSnapshot},
	},
	Fault:   fault.Destroy(fault.Leader()),
	Observe: []drill.Step{{Title: "writes fail", Do: expectWritesFail}},
	Recover: []drill.Step{
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "restore the member in place from the snapshot", Do: drill.RestoreAll},
		{Title: "writes are accepted again", Do: drill.ProbeWrite},
	},
	Verify: []drill.Step{{Title: "verify the member and keys up to the snapshot revision", Do: drill.Restored}},
})

// expectWritesFail sends a put with the Go client from the operator's
// machine: the member's host has no etcd left to run etcdctl in. The
// recorded command is the etcdctl line that sends the same put.
func expectWritesFail(ctx context.Context, d *drill.Drill) error {
	m := d.Cluster.Members()[0]
	timeout := d.Config.Timeouts.Request
	key := "/etcdrill-probe/during-outage"
	_, err := d.Log.Refused(record.PhaseObserve, "a write is refused: no member is left", "", recovery.NoMember(), func() (record.Action, error) {
		a := record.Action{Command: "# from the operator's machine, sent with the Go client: no etcd is left on " + m.Name() + "'s host\n" +
			harness.ShellJoin(d.Cluster.EtcdctlArgs([]string{m.ClientURL()}, "--command-timeout="+timeout.String(), "put", key, "refused"))}
		cli, err := d.Cluster.Client()
		if err != nil {
			a.Output, a.Exit = "Error: "+err.Error(), 1
			return a, err
		}
		defer cli.Close()
		var probe workload.Ledger // outside the load's prefix and ledger
		w, err := workload.Put(ctx, cli, &probe, timeout, key, []byte("refused"))
		if err != nil {
			a.Output, a.Exit = fmt.Sprintf("Error: %v\n# outcome: %s, after %s", err, w.Outcome, w.End.Sub(w.Start).Round(time.Millisecond)), 1
			return a, err
		}
		a.Output = fmt.Sprintf("OK (revision %d)", w.Revision)
		return a, nil
	})
	return err
}
