package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// LeaderKill follows seed 004's "stop the leader, a new one is elected":
// SIGKILL the leader under load, see a new leader and writes resume,
// restart the member, and prove nothing acknowledged was lost.
var LeaderKill = register(&drill.Scenario{
	Name:         "leader-kill",
	Summary:      "SIGKILL the leader under load; a new leader is elected, writes resume, the member rejoins and catches up",
	Seeds:        []string{"004"},
	Labels:       []string{"fault", "availability"},
	Members:      3,
	TLS:          true,
	AlsoWithAuth: true,
	Fault:        fault.Kill(fault.Leader()),
	Observe: []drill.Step{
		{Title: "a new leader is elected among the survivors", Do: drill.ExpectNewLeader},
		{Title: "writes resume", Do: drill.ExpectWritesResume},
	},
	Recover: []drill.Step{
		{Title: "restart the killed member", Do: drill.RestartVictims},
		{Title: "the restarted member takes writes again", Do: drill.WriteMore},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify members and keys", Do: drill.VerifyAll}},
})
