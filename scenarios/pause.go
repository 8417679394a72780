package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// PauseLeader freezes the leader (docker pause, the cgroup freezer) for
// longer than the election timeout: the others elect a new leader and
// take a write of the probe key. The old leader is resumed with reads of
// that key already in flight and read in a tight loop: it must not serve
// the value from its old term (the shape of etcd issue 20418), nor lose a
// write it acknowledges.
var PauseLeader = register(&drill.Scenario{
	Name:       "pause-leader",
	Summary:    "freeze the leader past the election timeout; a new leader takes a write; the resumed old leader serves no stale read",
	Labels:     []string{"fault", "pause", "availability"},
	Members:    3,
	MinMembers: 3,
	TLS:        true,
	Prepare:    []drill.Step{{Title: "write the probe key", Do: drill.WriteProbe}},
	Fault:      fault.Pause(fault.Leader()),
	Observe: []drill.Step{
		{Title: "the others elect a new leader", Do: drill.ExpectMajorityLeader},
		{Title: "writes resume", Do: drill.ExpectWritesResume},
		{Title: "the new leader takes a write of the probe key", Do: drill.WriteOnNewLeader},
	},
	Recover: []drill.Step{
		{Title: "resume the old leader, reading it at once", Do: drill.ResumeAndRead},
		{Title: "wait until every member is healthy", Do: drill.WaitHealthyAfterResume},
		{Title: "the cluster takes writes", Do: drill.WriteMore},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify members, HashKV, the resumed leader's write and keys", Do: drill.VerifyPause}},
})
