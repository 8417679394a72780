package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// QuorumLoss follows seeds 000–004: with a snapshot taken earlier, a
// majority of members is lost with its disks; every member is restored
// from the snapshot into a new logical cluster. Writes acknowledged after
// the snapshot are the RPO.
var QuorumLoss = register(&drill.Scenario{
	Name:         "quorum-loss",
	Summary:      "lose a majority with its data; restore every member from a snapshot into a new cluster",
	Seeds:        []string{"000", "001", "002", "003", "004"},
	Labels:       []string{"fault", "restore", "snapshot"},
	Members:      3,
	TLS:          true,
	AlsoWithAuth: true,
	Prepare: []drill.Step{
		{Title: "save a snapshot from a live member", Do: drill.SaveSnapshot},
		{Title: "keep writing after the snapshot", Do: drill.WriteAfterSnapshot},
	},
	Fault:   fault.Destroy(fault.Majority()),
	Observe: []drill.Step{{Title: "writes are refused without quorum", Do: drill.ExpectWritesRefused}},
	Recover: []drill.Step{
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "restore every member from the snapshot into a new cluster", Do: drill.RestoreAll},
		{Title: "writes are accepted again", Do: drill.ProbeWrite},
	},
	RunbookBefore: []drill.Step{{Title: "stop the load", Do: drill.StopLoad}},
	RunbookAfter:  []drill.Step{{Title: "writes are accepted again", Do: drill.ProbeWrite}},
	Verify:        []drill.Step{{Title: "verify members and keys up to the snapshot revision", Do: drill.Restored}},
})
