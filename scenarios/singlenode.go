package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// SingleNode follows seed 004 §一 (单机): a one-member cluster backed up
// with `etcdctl snapshot save` loses its data dir; etcd is stopped, the
// snapshot is restored in place with `etcdutl snapshot restore`, and etcd
// starts again with everything up to the snapshot revision.
var SingleNode = register(&Scenario{
	Name:    "single-node",
	Summary: "a one-member cluster loses its data dir; restore the snapshot in place",
	Seeds:   []string{"004"},
	Labels:  []string{"fault", "restore", "snapshot", "single-node"},
	Members: 1,
	TLS:     true,
	Steps: []Step{
		{"start the cluster", startCluster},
		{"write under load", startLoad},
		{"save a snapshot", saveSnapshot},
		{"keep writing after the snapshot", writeAfterSnapshot},
		{"the only member loses its data dir", loseOnlyMember},
		{"writes fail", expectWritesFail},
		{"stop the load", stopLoad},
		{"restore the member in place from the snapshot", restoreAll},
		{"writes are accepted again", probeWrite},
		{"verify the member and keys up to the snapshot revision", verifyRestored},
	},
})

func loseOnlyMember(ctx context.Context, d *Drill) error {
	victims, _, err := fault.Destroy(fault.Leader()).Inject(ctx, d.Cluster, d.Log)
	d.faultAt = time.Now() // the outage starts once the member is confirmed gone
	d.victims = victims
	return err
}

// expectWritesFail sends a put with the Go client from the operator's
// machine: the member's host has no etcd left to run etcdctl in. The
// recorded command is the etcdctl line that sends the same put.
func expectWritesFail(ctx context.Context, d *Drill) error {
	m := d.Cluster.Members()[0]
	timeout := d.timeouts().Request
	key := "/etcdrill-probe/during-outage"
	return d.Log.Refused(record.PhaseObserve, "a write is refused: no member is left", "", func() (record.Action, error) {
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
}
