package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// PartitionFollower cuts one follower's peer traffic while its client
// port stays reachable: the majority keeps its leader and its writes; the
// follower loses its leader, acknowledges no write, and serves no stale
// linearizable read; healed, it catches up with equal HashKV.
var PartitionFollower = register(partition("partition-follower", fault.Follower(), 3,
	"cut a follower off its peers; it serves no write and no stale read; the majority goes on; healed, it catches up"))

// PartitionLeader cuts the leader off its peers: it must step down, the
// majority elects a leader and keeps taking writes, and the old leader
// acknowledges no write and serves no stale linearizable read.
var PartitionLeader = register(partition("partition-leader", fault.Leader(), 3,
	"cut the leader off its peers; it steps down, the majority elects a leader and takes writes; healed, it catches up"))

// PartitionMinority splits 5 members 2 against 3, the old leader and one
// follower on the small side, which still talk to each other: the small
// side has no quorum, so its leader steps down and neither of its members
// elects one; the majority elects a leader and keeps taking writes.
var PartitionMinority = register(partition("partition-minority", fault.Minority(), 5,
	"split 5 members 2 against 3, the leader on the small side; it steps down, the 3 elect a leader and take writes; healed, all converge"))

func partition(name string, t fault.Target, members int, summary string) *drill.Scenario {
	return &drill.Scenario{
		Name:       name,
		Summary:    summary,
		Labels:     []string{"fault", "partition", "availability"},
		Members:    members,
		MinMembers: 3,
		TLS:        true,
		Prepare:    []drill.Step{{Title: "write the probe key", Do: drill.WriteProbe}},
		Fault:      fault.Partition(t),
		Observe: []drill.Step{
			{Title: "the cut-off side has no leader", Do: drill.ExpectSideLosesLeader},
			{Title: "the majority has a leader", Do: drill.ExpectMajorityLeader},
			{Title: "the majority keeps taking writes", Do: drill.ExpectMajorityWrites},
			{Title: "a write sent to the cut-off side is not acknowledged", Do: drill.ExpectCutOffWriteRefused},
			{Title: "a linearizable read on the cut-off side is not stale", Do: drill.ExpectNoStaleRead},
		},
		Recover: []drill.Step{
			{Title: "heal the partition", Do: drill.Heal},
			{Title: "the cut-off members serve the majority's write", Do: drill.ExpectCaughtUp},
			{Title: "the healed cluster takes writes", Do: drill.WriteMore},
			{Title: "stop the load", Do: drill.StopLoad},
		},
		Verify: []drill.Step{{Title: "verify members, HashKV and keys", Do: drill.VerifyProbe}},
	}
}
