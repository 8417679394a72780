package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
)

// The clients beside the writers: a few clients reading and updating a
// small hot keyset, and watchers on the drill's prefix, throughout the
// drill. What they saw is checked for linearizability and for watch
// ordering, gaps and compaction.
const (
	// HotKeys is the size of the hot keyset, HotClients the clients
	// reading and updating it.
	HotKeys    = 8
	HotClients = 2
	// Watchers is the number of watchers.
	Watchers = 2
	// WatchProbeTimeout bounds the compaction probe: a watch resumed
	// from below a compaction must be refused at once.
	WatchProbeTimeout = 5 * time.Second
	// VisualizationFile is porcupine's rendering of a history that is not
	// linearizable, beside report.html.
	VisualizationFile = "linearizability.html"
)

// clientFinalID is the client id of the final reads of the hot keys.
const clientFinalID = 1000

// ClientState is what the drill keeps of its clients.
type ClientState struct {
	History  *workload.History
	config   workload.ClientsConfig
	clients  *workload.Clients
	watchers *workload.Watchers
	watchCli *clientv3.Client
	sessions []workload.WatchSession
	// viz is porcupine's rendering of the first bad key history, written
	// beside the report by Finish, with the history and the watch
	// sessions when a check of them failed.
	viz     []byte
	failed  bool
	ops     []workload.Op
	checked bool
}

// HotPrefix is where the clients' hot keys live: under the load's prefix,
// so auth grants cover them, and apart from the writers' keys, which the
// ledger owns.
func (d *Drill) HotPrefix() string { return workload.HotPrefix(d.Config.Load.Prefix) }

// startClients starts the hot-key clients on cli, which the load owns,
// and the watchers on a client of their own that outlives the load, so
// they watch through the fault and the recovery.
func (d *Drill) startClients(ctx context.Context, cli *clientv3.Client) error {
	st := State[ClientState](d)
	st.History = &workload.History{}
	st.config = workload.ClientsConfig{Prefix: d.HotPrefix(), Keys: HotKeys, Clients: HotClients, Seed: d.Config.Seed}
	st.clients = workload.StartClients(ctx, cli, st.config, st.History, d.Config.Load.Writers)
	wcli, err := d.Cluster.ClientAs(d.loadCreds)
	if d.loadCreds == nil {
		wcli, err = d.Cluster.Client()
	}
	if err != nil {
		return err
	}
	st.watchCli = wcli
	st.watchers = workload.StartWatchers(ctx, wcli, d.Config.Load.Prefix, Watchers, 0)
	return nil
}

// stopClients stops the hot-key clients; the watchers go on.
func (d *Drill) stopClients() {
	if st := State[ClientState](d); st.clients != nil {
		st.clients.Stop()
		st.clients = nil
	}
}

// stopWatchers stops the watchers and keeps what they saw.
func (d *Drill) stopWatchers() {
	st := State[ClientState](d)
	if st.watchers != nil {
		st.sessions = st.watchers.Stop()
		st.watchers = nil
	}
	if st.watchCli != nil {
		st.watchCli.Close()
		st.watchCli = nil
	}
}

// clientChecks reads every hot key once more (the history's final
// observations), stops the clients and watchers, probes that a watch
// resumed below a compaction is refused, and checks the history and the
// watch streams. It returns no checks when the drill ran no clients.
func (d *Drill) clientChecks(ctx context.Context, cli *clientv3.Client) []record.Check {
	st := State[ClientState](d)
	if st.History == nil || st.checked {
		return nil
	}
	st.checked = true // once: a drill verifying twice checks its clients once
	d.stopClients()
	var final workload.Reach
	for i := range st.config.Keys {
		op := workload.Do(ctx, cli, workload.Op{Client: clientFinalID, Kind: workload.OpGet, Key: st.config.HotKey(i)}, d.Config.Timeouts.Command)
		st.History.Record(op)
		if op.Outcome == workload.Acknowledged {
			final = workload.Reach{Cluster: op.Cluster, Revision: max(final.Revision, op.Revision)}
		}
	}
	complete := map[uint64]bool{final.Cluster: final.Revision > 0 && d.watchersReach(ctx, final)}
	d.stopWatchers()
	ops, resolved := verify.ResolveIndeterminate(st.History.Ops(), st.sessions, complete)
	lin := verify.CheckLinearizable(ops, verify.LinearizableOptions{Init: d.restoredHotKeys(ctx)})
	if lin.Violations() > 0 {
		var buf bytes.Buffer
		if err := lin.Visualize(&buf); err == nil {
			st.viz = buf.Bytes()
		}
	}
	changes := verify.Changes(ops)
	for _, w := range d.Ledger.Writes() {
		if w.Outcome == workload.Acknowledged {
			changes = append(changes, verify.Change{Key: w.Key, Revision: w.Revision, Cluster: w.Cluster})
		}
	}
	watch := verify.CheckWatches(st.sessions, changes, verify.WatchOptions{CompactedThrough: State[Restore](d).CompactedThrough})
	d.Record.Clients = clientsRecord(st.History.Ops(), lin, st.sessions, st.viz != nil)
	r := d.Record.Clients
	r.IndeterminateApplied, r.IndeterminateNeverApplied, r.IndeterminateUnresolved = resolved.Applied, resolved.NeverApplied, resolved.Unresolved
	// Kept beside the report when a check failed, or when the watch check
	// has something to say: the evidence to read it by.
	st.ops, st.failed = ops, !lin.Check.Passed() || !watch.Passed() || len(watch.Details) > 0
	return []record.Check{lin.Check, watch, d.probeCompactedWatch(ctx, cli)}
}

// WatchCatchUpTimeout bounds the wait for the watchers to deliver every
// change up to the final reads' revision.
const WatchCatchUpTimeout = 10 * time.Second

// watchersReach asks the watchers' streams for progress until every
// watcher has delivered every change of the final cluster up to its
// final revision; false when they did not within WatchCatchUpTimeout.
// Only then can a write no watcher saw be taken as never applied.
func (d *Drill) watchersReach(ctx context.Context, final workload.Reach) bool {
	st := State[ClientState](d)
	if st.watchers == nil || st.watchCli == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, WatchCatchUpTimeout)
	defer cancel()
	err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		behind, ahead := watchersBehind(st.watchers.Reached(), final)
		if behind > 0 {
			st.watchers.RequestProgress(ctx)
			return fmt.Errorf("%d of %d watchers short of revision %d", behind, Watchers, final.Revision)
		}
		if ahead > 0 {
			return harness.Permanent(fmt.Errorf("%d of %d watchers resumed on the restored cluster after its final revision %d, from a revision of the cluster before: it sends them nothing up to there", ahead, Watchers, final.Revision))
		}
		return nil
	})
	if err != nil {
		d.lg.Info("watchers did not catch up; indeterminate writes they did not see stay indeterminate", "err", err)
	}
	return err == nil
}

// watchersBehind counts the watchers that have not yet delivered every
// change of the final cluster up to its final revision, and those that
// never will: a watcher whose stream the client resumed on a restored
// cluster (a plain restore, which keeps the snapshot's revision) waits
// for revisions after the last one it delivered from the cluster before.
// The restored cluster sends it no event, and no progress notification
// either, until its own revision passes that one (the reuse of revisions
// that `--bump-revision --mark-compacted` exists to prevent); waiting for
// it is waiting for nothing.
func watchersBehind(reached map[int]workload.Reach, final workload.Reach) (behind, ahead int) {
	for w := range Watchers {
		switch r := reached[w]; {
		case r.Revision < final.Revision:
			behind++
		case r.Cluster != final.Cluster:
			ahead++
		}
	}
	return behind, ahead
}

// InitMaxSnapshot bounds the snapshot read for the hot keys' restored
// state: a larger one is not read again just for 8 keys, and the keys of
// the restored cluster are then learned from their first observation.
const InitMaxSnapshot = 256 << 20

// restoredHotKeys is the hot keys' state in the cluster a restore
// started, read from the snapshot it restored, keyed by the restored
// cluster's ID; nil without a restore, or when the snapshot cannot be
// read.
func (d *Drill) restoredHotKeys(ctx context.Context) map[uint64]map[string]verify.KeyState {
	snap := State[Restore](d).Snapshot
	if snap == nil || snap.Path == "" || snap.Size > InitMaxSnapshot {
		return nil
	}
	id, err := clusterID(ctx, d)
	if err != nil || id == State[Restore](d).ClusterBefore {
		return nil
	}
	f, err := recovery.ReadSnapshotFile(snap.Path)
	if err != nil {
		return nil
	}
	hot := []byte(d.HotPrefix())
	keys := map[string]verify.KeyState{}
	if err := f.Keys(func(k, v []byte) error {
		if bytes.HasPrefix(k, hot) {
			keys[string(k)] = verify.KeyState{Exists: true, Value: workload.HashValue(v)}
		}
		return nil
	}); err != nil {
		d.lg.Warn("read the hot keys from the snapshot", "err", err)
		return nil
	}
	return map[uint64]map[string]verify.KeyState{id: keys}
}

// probeCompactedWatch compacts the keyspace at its current revision and,
// on every member, resumes a watch from just below it: each must refuse
// it as compacted, which is what tells an informer to relist. A member
// applies the compaction when it applies that raft entry, so each is
// first read from linearizably, which waits until it has.
func (d *Drill) probeCompactedWatch(ctx context.Context, cli *clientv3.Client) record.Check {
	c := record.Check{Name: "watch-compacted"}
	ctx, cancel := context.WithTimeout(ctx, WatchProbeTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, d.HotPrefix(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		c.Verdict, c.Summary = record.Fail, "read the current revision: "+err.Error()
		return c
	}
	rev := resp.Header.Revision
	if _, err := cli.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		c.Verdict, c.Summary = record.Fail, fmt.Sprintf("compact at revision %d: %v", rev, err)
		return c
	}
	var names []string
	for _, m := range d.Cluster.Members() {
		if err := d.refusesCompacted(ctx, m, rev); err != nil {
			c.Verdict, c.Summary = record.Fail, fmt.Sprintf("after `etcdctl compact %d`, %s: %v", rev, m.Name(), err)
			return c
		}
		names = append(names, m.Name())
	}
	c.Verdict = record.Pass
	c.Summary = fmt.Sprintf("after `etcdctl compact %d`, a watch resumed from revision %d was refused as compacted on %s", rev, rev-1, strings.Join(names, ", "))
	return c
}

// refusesCompacted resumes a watch from rev-1 on m alone, once m has
// applied everything committed: it must be refused as compacted at rev.
func (d *Drill) refusesCompacted(ctx context.Context, m *harness.Member, rev int64) error {
	mc, err := d.Cluster.Client(m)
	if err != nil {
		return err
	}
	defer mc.Close()
	if _, err := mc.Get(ctx, d.HotPrefix(), clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("linearizable read: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range mc.Watch(wctx, d.Config.Load.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev-1)) {
		switch err := wr.Err(); {
		case errors.Is(err, rpctypes.ErrCompacted) && wr.CompactRevision == rev:
			return nil
		case err != nil:
			return fmt.Errorf("a watch resumed from revision %d ended with %v, not as compacted at %d", rev-1, err, rev)
		case len(wr.Events) > 0:
			return fmt.Errorf("a watch resumed from revision %d was served %d events instead of refused", rev-1, len(wr.Events))
		}
	}
	return fmt.Errorf("a watch resumed from revision %d was not refused within %s", rev-1, WatchProbeTimeout)
}

func clientsRecord(ops []workload.Op, lin verify.Linearizability, sessions []workload.WatchSession, viz bool) *record.Clients {
	r := &record.Clients{Keys: HotKeys, Watchers: Watchers, WatchSessions: len(sessions)}
	idx := map[workload.OpKind]int{}
	for _, o := range ops {
		i, ok := idx[o.Kind]
		if !ok {
			i = len(r.Ops)
			idx[o.Kind] = i
			r.Ops = append(r.Ops, record.OpCount{Kind: string(o.Kind)})
		}
		switch o.Outcome {
		case workload.Acknowledged:
			r.Ops[i].Acknowledged++
		case workload.Failed:
			r.Ops[i].Failed++
		default:
			r.Ops[i].Indeterminate++
		}
	}
	for _, e := range lin.Epochs {
		r.Epochs = append(r.Epochs, record.ClientEpoch{Cluster: fmt.Sprintf("%x", e.Cluster), From: e.From, Ops: e.Ops})
	}
	for _, s := range sessions {
		r.WatchEvents += len(s.Events)
		if s.Compacted > 0 {
			r.WatchRefused++
		}
	}
	if viz {
		r.Visualization = VisualizationFile
	}
	return r
}

// HistoryFile holds the clients' history and the watch sessions, beside
// the report, when their checks failed.
const HistoryFile = "client-history.json"

// keepClientEvidence writes porcupine's rendering of a history that is
// not linearizable beside the report, and the history and watch sessions
// when a check of them failed.
func (d *Drill) keepClientEvidence() {
	st := State[ClientState](d)
	dir := reports.RunDir(d.Config.OutDir, d.Record)
	if dir == "" || st.viz == nil && !st.failed {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.lg.Error("keep client evidence", "err", err)
		return
	}
	if st.viz != nil {
		if err := os.WriteFile(filepath.Join(dir, VisualizationFile), st.viz, 0o644); err != nil {
			d.lg.Error("keep linearizability visualization", "err", err)
		}
	}
	if st.failed {
		b, err := json.MarshalIndent(struct {
			Ops      []workload.Op           `json:"ops"`
			Sessions []workload.WatchSession `json:"watch_sessions"`
		}{st.ops, st.sessions}, "", " ")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, HistoryFile), b, 0o644)
		}
		if err != nil {
			d.lg.Error("keep client history", "err", err)
		}
	}
}
