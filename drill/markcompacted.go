package drill

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// BumpRevision is how far a Kubernetes-safe restore moves the revision
// past the snapshot's, the amount etcd's documentation suggests: more
// than the writes the cluster could have acknowledged after the snapshot
// was taken, so no revision a client saw is reused.
const BumpRevision = 1_000_000_000

// RelistTimeout bounds the wait for every watcher to be told, after the
// restore, that its revision is compacted.
const RelistTimeout = 30 * time.Second

// RestoreMarkCompacted restores every member like RestoreAll, the way
// Kubernetes needs it: `etcdutl snapshot restore --bump-revision
// --mark-compacted`, so the restored cluster's revisions all lie beyond
// any a client saw, and every watch resumed from an old revision is
// refused as compacted, which makes informers relist instead of waiting
// for revisions that were reused.
func RestoreMarkCompacted(ctx context.Context, d *Drill) error {
	st := State[Restore](d)
	if st.Snapshot == nil {
		return fmt.Errorf("no snapshot was saved")
	}
	bump := strconv.Itoa(BumpRevision)
	if err := recovery.RestoreCluster(ctx, d.Log, d.Cluster, st.Snapshot, recovery.NewToken(d.Cluster.Token()),
		"--bump-revision", bump, "--mark-compacted"); err != nil {
		return err
	}
	id, err := clusterID(ctx, d)
	if err != nil {
		return err
	}
	if st.CompactedThrough == nil {
		st.CompactedThrough = map[uint64]int64{}
	}
	st.CompactedThrough[id] = st.UpTo + BumpRevision
	return nil
}

// clusterID is the cluster ID the first reachable member reports.
func clusterID(ctx context.Context, d *Drill) (uint64, error) {
	cli, err := d.Cluster.Client()
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	var errs []error
	for _, m := range d.Cluster.Members() {
		s, err := d.Cluster.Status(ctx, cli, m)
		if err == nil {
			return s.Header.ClusterId, nil
		}
		errs = append(errs, err)
	}
	return 0, errors.Join(errs...)
}

// ExpectWatchersRelist waits until every watcher's stream, resumed on the
// restored cluster from the revision it had reached, has been refused as
// compacted: the signal an informer relists on.
func ExpectWatchersRelist(ctx context.Context, d *Drill) error {
	st := State[ClientState](d)
	through := State[Restore](d).CompactedThrough
	return d.Log.Do(record.PhaseObserve, "every watcher is told to relist", "", func() (record.Action, error) {
		if st.watchers == nil {
			return record.Action{}, fmt.Errorf("no watchers are running")
		}
		ctx, cancel := context.WithTimeout(ctx, RelistTimeout)
		defer cancel()
		var lines []string
		err := harness.Poll(ctx, 100*time.Millisecond, func(context.Context) error {
			refused := map[int]string{}
			for _, s := range st.watchers.Sessions() {
				if t, ok := through[s.Cluster]; ok && s.Compacted > 0 {
					refused[s.Watcher] = fmt.Sprintf("watcher %d: resuming from revision %d refused: %s (compact revision %d, marked through %d)", s.Watcher, s.From, s.Err, s.Compacted, t)
				}
			}
			if len(refused) < Watchers {
				return fmt.Errorf("%d of %d watchers refused as compacted", len(refused), Watchers)
			}
			lines = lines[:0]
			for w := range Watchers {
				lines = append(lines, refused[w])
			}
			return nil
		})
		return record.Action{Output: strings.Join(lines, "\n")}, err
	})
}

// ExpectOldRevisionCompacted resumes a watch from the snapshot's revision
// on the restored cluster, as a client that saw it would: it must be
// refused as compacted.
func ExpectOldRevisionCompacted(ctx context.Context, d *Drill) error {
	rev := State[Restore](d).UpTo
	c := d.Cluster
	m := c.Members()[0]
	return d.Log.Do(record.PhaseObserve, fmt.Sprintf("a watch from revision %d is refused as compacted", rev), m.Name(), func() (record.Action, error) {
		a := record.Action{Command: strings.Join(c.EtcdctlArgs([]string{m.ClientURL()}, "watch", "--prefix", "--rev="+strconv.FormatInt(rev, 10), d.Config.Load.Prefix), " ")}
		cli, err := c.Client(m)
		if err != nil {
			return a, err
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(ctx, WatchProbeTimeout)
		defer cancel()
		for wr := range cli.Watch(ctx, d.Config.Load.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev)) {
			if err := wr.Err(); errors.Is(err, rpctypes.ErrCompacted) {
				a.Output = fmt.Sprintf("watch %s: %v (compact revision %d)", d.Config.Load.Prefix, err, wr.CompactRevision)
				return a, nil
			} else if err != nil {
				return a, fmt.Errorf("the watch ended with %v, not as compacted", err)
			}
			if len(wr.Events) > 0 {
				return a, fmt.Errorf("the watch from revision %d was served %d events instead of refused as compacted", rev, len(wr.Events))
			}
		}
		return a, fmt.Errorf("the watch from revision %d was not refused within %s", rev, WatchProbeTimeout)
	})
}
