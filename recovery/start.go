package recovery

import (
	"context"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// StartMember creates m's container from spec and starts etcd in it, as
// one step recorded with the etcd command line an operator runs on the
// member's host. It does not wait for the member to be healthy.
func StartMember(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, spec harness.Spec, title string) error {
	return StartMemberConcurrent(ctx, log, "", c, m, spec, title)
}

// StartMemberConcurrent is StartMember for a member started at the same
// time as the others of group (see record.Log.DoConcurrent).
func StartMemberConcurrent(ctx context.Context, log *record.Log, group string, c *harness.Cluster, m *harness.Member, spec harness.Spec, title string) error {
	return log.DoConcurrent(group, record.PhaseRecovery, title, m.Name(), func() (record.Action, error) {
		args, err := harness.Flags(m.Version(), spec) // a member may run another version mid-upgrade
		a := record.Action{Command: "etcd " + harness.ShellJoin(args)}
		if err != nil {
			return a, err
		}
		if err := m.Create(ctx, spec); err != nil {
			return a, err
		}
		return a, m.Start(ctx)
	})
}
