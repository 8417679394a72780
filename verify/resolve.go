package verify

import (
	"github.com/etcdrill/etcdrill/workload"
)

// Resolution counts what ResolveIndeterminate learned.
type Resolution struct {
	// Applied are indeterminate writes found applied: a watcher or a read
	// saw their value. NeverApplied are those no watcher saw although the
	// watchers delivered every change of their cluster to its end.
	// Unresolved are the rest.
	Applied, NeverApplied, Unresolved int
}

// ResolveIndeterminate settles indeterminate puts and CAS from what the
// watchers and the reads saw, as etcd's robustness tests do: every value
// a write puts is unique, so a value seen in a watch event or read back
// proves the write applied, at that revision, on that cluster; and a
// write no watcher saw, in a cluster whose changes the watchers
// delivered to the end (complete, by cluster ID), from a stream opened
// before the write was called, was never applied. A settled write is
// cheap for the linearizability search: an indeterminate one may or may
// not have taken effect at any point until its epoch ended.
//
// Resolved writes keep their call time; an applied one is marked Late,
// since the cluster may have applied it after the client gave up.
func ResolveIndeterminate(ops []workload.Op, sessions []workload.WatchSession, complete map[uint64]bool) ([]workload.Op, Resolution) {
	type seenAt struct {
		key   string
		value uint64
	}
	type where struct {
		cluster uint64
		rev     int64
	}
	seen := map[seenAt]where{}
	watchedFrom := map[uint64]int64{} // per cluster, the earliest start (unix ns) of a stream
	for _, s := range sessions {
		if s.Compacted == 0 && s.Cluster != 0 {
			if t, ok := watchedFrom[s.Cluster]; !ok || s.Start.UnixNano() < t {
				watchedFrom[s.Cluster] = s.Start.UnixNano()
			}
		}
		for _, e := range s.Events {
			if !e.Delete {
				seen[seenAt{e.Key, e.Value}] = where{s.Cluster, e.Revision}
			}
		}
	}
	for _, o := range ops {
		if o.Kind == workload.OpGet && o.Outcome == workload.Acknowledged && o.Found {
			if _, ok := seen[seenAt{o.Key, o.Got}]; !ok {
				seen[seenAt{o.Key, o.Got}] = where{o.Cluster, o.ModRevision}
			}
		}
	}
	// The cluster each unanswered write was called under: the latest to
	// have answered anything before its call.
	epochOf, epochs, _ := assignEpochs(ops)
	out := make([]workload.Op, 0, len(ops))
	var res Resolution
	for i, o := range ops {
		if o.Outcome != workload.Indeterminate || (o.Kind != workload.OpPut && o.Kind != workload.OpCAS) {
			out = append(out, o)
			continue
		}
		if w, ok := seen[seenAt{o.Key, o.Value}]; ok {
			o.Outcome, o.Revision, o.Cluster, o.Found, o.Late = workload.Acknowledged, w.rev, w.cluster, true, true
			res.Applied++
			out = append(out, o)
			continue
		}
		cl := epochs[epochOf[i]].Cluster
		if from, ok := watchedFrom[cl]; ok && complete[cl] && from <= o.Call.UnixNano() {
			res.NeverApplied++ // it changed nothing: leave it out
			continue
		}
		res.Unresolved++
		out = append(out, o)
	}
	return out, res
}
