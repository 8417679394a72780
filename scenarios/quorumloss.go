package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// QuorumLoss follows seeds 000–004: with a snapshot taken earlier, a
// majority of members is lost with its disks; every member is restored
// from the snapshot into a new logical cluster. Writes acknowledged after
// the snapshot are the RPO.
var QuorumLoss = register(quorumLoss(false))

// RestoreMarkCompacted is quorum-loss recovered the way a Kubernetes
// cluster needs it: the restore bumps the revision and marks everything
// before it compacted, so the API server's watches (informers) are
// refused as compacted and relist, rather than wait for revisions the
// restored cluster reuses for other changes. The drill's watchers run
// through the fault and the restore and must be told to relist.
var RestoreMarkCompacted = register(quorumLoss(true))

// quorumLoss declares the drill, with the plain restore of the runbooks
// or the Kubernetes-safe one.
func quorumLoss(markCompacted bool) *drill.Scenario {
	s := &drill.Scenario{
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
	}
	if markCompacted {
		s.Name, s.AlsoWithAuth = "restore-mark-compacted", false
		s.Summary = "lose a majority; restore every member with --bump-revision and --mark-compacted (the Kubernetes-safe restore); every watcher is refused as compacted and relists"
		s.Seeds = []string{"000", "004"}
		s.Labels = append(s.Labels, "watch")
		s.Recover = []drill.Step{
			{Title: "stop the load", Do: drill.StopLoad},
			{Title: "restore every member with --bump-revision and --mark-compacted", Do: drill.RestoreMarkCompacted},
			{Title: "writes are accepted again", Do: drill.ProbeWrite},
			{Title: "every watcher is told to relist", Do: drill.ExpectWatchersRelist},
			{Title: "a watch from the snapshot's revision is refused as compacted", Do: drill.ExpectOldRevisionCompacted},
		}
		s.RunbookBefore, s.RunbookAfter = nil, nil
	}
	return s
}
