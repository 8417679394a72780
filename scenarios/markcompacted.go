package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
)

// RestoreMarkCompacted is quorum-loss recovered the way a Kubernetes
// cluster needs it: the restore bumps the revision and marks everything
// before it compacted, so the API server's watches (informers) are
// refused as compacted and relist, rather than wait for revisions the
// restored cluster reuses for other changes. The watchers of the drill
// run through the fault and the restore and must be told to relist.
var RestoreMarkCompacted = register(&drill.Scenario{
	Name:    "restore-mark-compacted",
	Summary: "lose a majority; restore every member with --bump-revision and --mark-compacted (the Kubernetes-safe restore); every watcher is refused as compacted and relists",
	Seeds:   []string{"000", "004"},
	Labels:  []string{"fault", "restore", "snapshot", "watch"},
	Members: 3,
	TLS:     true,
	Prepare: []drill.Step{
		{Title: "save a snapshot from a live member", Do: drill.SaveSnapshot},
		{Title: "keep writing after the snapshot", Do: drill.WriteAfterSnapshot},
	},
	Fault:   fault.Destroy(fault.Majority()),
	Observe: []drill.Step{{Title: "writes are refused without quorum", Do: drill.ExpectWritesRefused}},
	Recover: []drill.Step{
		{Title: "stop the load", Do: drill.StopLoad},
		{Title: "restore every member with --bump-revision and --mark-compacted", Do: drill.RestoreMarkCompacted},
		{Title: "writes are accepted again", Do: drill.ProbeWrite},
		{Title: "every watcher is told to relist", Do: drill.ExpectWatchersRelist},
		{Title: "a watch from the snapshot's revision is refused as compacted", Do: drill.ExpectOldRevisionCompacted},
	},
	Verify: []drill.Step{{Title: "verify members and keys up to the snapshot revision", Do: drill.Restored}},
})
