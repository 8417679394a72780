package drill

import (
	"testing"

	"github.com/etcdrill/etcdrill/workload"
)

func TestWatchersBehind(t *testing.T) {
	at := func(cluster uint64, rev int64) workload.Reach { return workload.Reach{Cluster: cluster, Revision: rev} }
	const before, restored = 0xaaa, 0xbbb
	final := at(restored, 156)
	for _, tc := range []struct {
		name          string
		reached       map[int]workload.Reach
		behind, ahead int
	}{
		{"both caught up", map[int]workload.Reach{0: at(restored, 156), 1: at(restored, 160)}, 0, 0},
		{"one short on the restored cluster", map[int]workload.Reach{0: at(restored, 150), 1: at(restored, 156)}, 1, 0},
		{"one not heard from", map[int]workload.Reach{1: at(restored, 156)}, 1, 0},
		{"one still on the cluster before, below the final revision", map[int]workload.Reach{0: at(before, 120), 1: at(restored, 156)}, 1, 0},
		{"both resumed after the restored cluster's revision", map[int]workload.Reach{0: at(before, 300), 1: at(before, 298)}, 0, 2},
	} {
		b, a := watchersBehind(tc.reached, final)
		if b != tc.behind || a != tc.ahead {
			t.Errorf("%s: behind %d ahead %d, want %d and %d", tc.name, b, a, tc.behind, tc.ahead)
		}
	}
}
