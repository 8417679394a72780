package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

const c1, c2 = 0xc1, 0xc2

func changes() []Change {
	return []Change{
		{Key: "/p/a", Revision: 5, Cluster: c1, Value: 1},
		{Key: "/p/b", Revision: 6, Cluster: c1, Value: 2},
		{Key: "/p/a", Revision: 7, Cluster: c1, Delete: true},
		{Key: "/other", Revision: 8, Cluster: c1, Value: 3},
	}
}

func session(events ...workload.WatchEvent) workload.WatchSession {
	return workload.WatchSession{Watcher: 0, Prefix: "/p/", From: 5, Cluster: c1, Events: events}
}

func goodEvents() []workload.WatchEvent {
	return []workload.WatchEvent{
		{Revision: 5, Key: "/p/a", Value: 1},
		{Revision: 6, Key: "/p/b", Value: 2},
		{Revision: 7, Key: "/p/a", Delete: true},
	}
}

func TestWatchesPass(t *testing.T) {
	c := CheckWatches([]workload.WatchSession{session(goodEvents()...)}, changes(), WatchOptions{})
	if c.Verdict != record.Pass {
		t.Fatalf("%s %v", c.Summary, c.Details)
	}
}

func TestWatchDefectsAreReported(t *testing.T) {
	ev := goodEvents()
	for _, tc := range []struct {
		name, want string
		s          []workload.WatchSession
		opts       WatchOptions
	}{
		{"reordered", "out of order", []workload.WatchSession{session(ev[1], ev[0], ev[2])}, WatchOptions{}},
		{"duplicate", "delivered twice", []workload.WatchSession{session(ev[0], ev[1], ev[1], ev[2])}, WatchOptions{}},
		{"missing", "missing the change of /p/b at revision 6", []workload.WatchSession{session(ev[0], ev[2])}, WatchOptions{}},
		{"changed value", "another value", []workload.WatchSession{session(ev[0], workload.WatchEvent{Revision: 6, Key: "/p/b", Value: 9}, ev[2])}, WatchOptions{}},
		{"resumed across a restore", "without a compaction error", []workload.WatchSession{
			session(ev...),
			{Watcher: 0, Prefix: "/p/", From: 8, Cluster: c2, Events: []workload.WatchEvent{{Revision: 1000000009, Key: "/p/c", Value: 4}}},
		}, WatchOptions{CompactedThrough: map[uint64]int64{c2: 1000000008}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := CheckWatches(tc.s, changes(), tc.opts)
			if c.Verdict != record.Fail || !strings.Contains(strings.Join(c.Details, "\n"), tc.want) {
				t.Fatalf("want a failure mentioning %q, got %s: %s %v", tc.want, c.Verdict, c.Summary, c.Details)
			}
		})
	}
}

// A change between two sessions of a watcher that no watcher saw is a
// coverage defect; the same change in a hole left by a refused resume is
// not (the watcher relisted).
func TestWatchCoverage(t *testing.T) {
	ev := goodEvents()
	first := session(ev[0])
	first.From = 5
	later := session(ev[2])
	later.From = 7
	c := CheckWatches([]workload.WatchSession{first, later}, changes(), WatchOptions{})
	if c.Verdict != record.Fail || !strings.Contains(c.Summary+strings.Join(c.Details, "\n"), "/p/b at revision 6") {
		t.Fatalf("a change between sessions must be reported: %s %v", c.Summary, c.Details)
	}
	refused := workload.WatchSession{Watcher: 0, Prefix: "/p/", From: 6, Cluster: c1, Compacted: 6}
	c = CheckWatches([]workload.WatchSession{first, refused, later}, changes(), WatchOptions{})
	if c.Verdict != record.Pass {
		t.Fatalf("a change in a relisted hole is not a defect: %s %v", c.Summary, c.Details)
	}
}

func TestChangesFromHistory(t *testing.T) {
	ops := []workload.Op{
		{Kind: workload.OpPut, Key: "a", Value: 1, Revision: 2, Outcome: workload.Acknowledged, Cluster: c1},
		{Kind: workload.OpCAS, Key: "a", Value: 2, Expect: 9, Revision: 2, Outcome: workload.Acknowledged, Cluster: c1}, // compare failed
		{Kind: workload.OpDel, Key: "a", Found: true, Revision: 3, Outcome: workload.Acknowledged, Cluster: c1},
		{Kind: workload.OpPut, Key: "b", Value: 3, Outcome: workload.Indeterminate},
		{Kind: workload.OpGet, Key: "a", Outcome: workload.Acknowledged, Revision: 3, Cluster: c1},
	}
	got := Changes(ops)
	if len(got) != 2 || got[0].Revision != 2 || !got[1].Delete {
		t.Fatalf("changes %+v", got)
	}
}

// A restore without --mark-compacted: the watchers resume past the
// restored cluster's reused revisions and hear nothing. etcd behaves as
// documented, so the check passes and says so.
func TestWatchersDeafToARestoredCluster(t *testing.T) {
	cs := append(changes(), Change{Key: "/p/c", Revision: 6, Cluster: c2, Value: 5})
	c := CheckWatches([]workload.WatchSession{session(goodEvents()...)}, cs, WatchOptions{})
	if c.Verdict != record.Pass || !strings.Contains(c.Summary, "never told to relist") {
		t.Fatalf("want a pass that names the silent miss, got %s: %s", c.Verdict, c.Summary)
	}
}

// A stream no cluster answered (it ended with a client-side error, no
// leader) is not a cluster change: the next stream on the same cluster is
// no resume on a restored one.
func TestWatchUnansweredSessionIsNoClusterChange(t *testing.T) {
	first := session(goodEvents()...)
	unanswered := workload.WatchSession{Watcher: 0, Prefix: "/p/", From: 8, Err: "etcdserver: no leader"}
	next := workload.WatchSession{Watcher: 0, Prefix: "/p/", From: 8, Cluster: c1}
	c := CheckWatches([]workload.WatchSession{first, unanswered, next}, changes(), WatchOptions{})
	if c.Verdict != record.Pass || len(c.Details) != 0 {
		t.Fatalf("%s %v", c.Summary, c.Details)
	}
}
