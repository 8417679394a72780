package drill

import (
	"context"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/record"
)

// ExpectCrashed is the Observe step of a crash-point drill: every victim
// of the last fault has exited, and its log holds the panic of p (the
// failpoint's own message), so the drill proves the member died at that
// point inside etcd and not some other way.
func ExpectCrashed(p fault.Crashpoint) func(ctx context.Context, d *Drill) error {
	return func(ctx context.Context, d *Drill) error {
		for _, m := range State[Outage](d).Victims {
			if err := d.Log.Do(record.PhaseObserve, m.Name()+" crashed at "+p.Failpoint, m.Name(), func() (record.Action, error) {
				return fault.Crashed(ctx, m, p)
			}); err != nil {
				return err
			}
			d.Event("crash", m.Name()+" crashed at "+p.Failpoint)
		}
		return nil
	}
}
