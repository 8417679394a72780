package verify

import (
	"fmt"

	"github.com/etcdrill/etcdrill/record"
)

// NewCluster checks that a restore made a new logical cluster: every
// reachable member reports one cluster ID, and it differs from before.
// Restoring into the old identity would let stale members rejoin.
func NewCluster(before uint64, after []Status) record.Check {
	c := record.Check{Name: "new-cluster-id"}
	if same := SameCluster(after); !same.Passed() {
		return failed(c, "members disagree on the cluster ID: "+same.Summary)
	}
	var id uint64
	for _, s := range after {
		if s.Err == "" {
			id = s.ClusterID
			break
		}
	}
	if before == 0 {
		return failed(c, "no cluster ID was recorded before the fault")
	}
	if id == before {
		return failed(c, fmt.Sprintf("cluster ID %x is the same as before the restore", id))
	}
	return passed(c, fmt.Sprintf("cluster ID %x → %x", before, id))
}
