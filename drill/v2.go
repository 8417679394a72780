package drill

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// V2Keys is what WriteV2Keys wrote, kept with State: the v2 writes'
// ledger and their prefix.
type V2Keys struct {
	Ledger workload.Ledger
	Prefix string
}

// v2Count is how many v2 keys WriteV2Keys writes after the first.
const v2Count = 50

// WriteV2Keys writes v2 keys (etcd 3.5 with --enable-v2): first one with
// `ETCDCTL_API=2 etcdctl set`, as seed 004 types it, then v2Count more
// through the v2 API.
func WriteV2Keys(ctx context.Context, d *Drill) error {
	st := State[V2Keys](d)
	st.Prefix = "/etcdrill-v2/" + d.Scenario.Name
	c := d.Cluster
	m := c.Members()[0]
	key, val := st.Prefix+"/name1", []byte("test01")
	if err := d.Log.Do(record.PhaseWorkload, "write a v2 key with etcdctl", m.Name(), func() (record.Action, error) {
		w := workload.Write{Key: key, Digest: workload.ValueDigest(val), Outcome: workload.Indeterminate}
		e, err := m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args(c.ClientURLs(), "set", key, string(val))...)
		if err == nil {
			w.Outcome = workload.Acknowledged
		}
		st.Ledger.Record(w)
		return e, err
	}); err != nil {
		return err
	}
	return d.Log.Do(record.PhaseWorkload, fmt.Sprintf("write %d more v2 keys through the v2 API", v2Count), "", func() (record.Action, error) {
		kapi, err := c.KeysV2()
		if err != nil {
			return record.Action{}, err
		}
		for i := range v2Count {
			k := fmt.Sprintf("%s/k%04d", st.Prefix, i)
			if _, err := workload.PutV2(ctx, kapi, &st.Ledger, d.Config.Timeouts.Request, k, d.Config.Load.Value(99, i)); err != nil {
				return record.Action{}, fmt.Errorf("v2 set %s: %w", k, err)
			}
		}
		e, err := m.ExecEnv(ctx, []string{"ETCDCTL_API=2"}, c.EtcdctlV2Args(c.ClientURLs(), "ls", "--recursive", st.Prefix)...)
		e.Output = fmt.Sprintf("%d v2 keys acknowledged\n%s", st.Ledger.Counts()[workload.Acknowledged], e.Output)
		return e, err
	})
}
