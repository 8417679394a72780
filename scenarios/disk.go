package scenarios

import (
	"context"
	"fmt"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// The full-disk drill's victim and the size of its data file system:
// room for etcd's two preallocated 64 MiB WAL segments and a database,
// and small enough to fill in a second.
const (
	diskMember = "m3"
	diskBytes  = 256 << 20
)

// FullDisk fills one member's data file system (a 256 MiB tmpfs) under
// load until the kernel answers ENOSPC: a real full disk, not the NOSPACE
// quota alarm. The drill records what etcd does on that version (crash,
// refuse writes, or keep serving), keeps the load on the other members,
// then frees the space as an operator would and starts etcd again if it
// stopped; no acknowledged write may be lost.
var FullDisk = register(&drill.Scenario{
	Name:           "full-disk",
	Summary:        "one member's data file system fills up (ENOSPC) under load; what etcd does is recorded; free the space, restart, nothing is lost",
	Labels:         []string{"fault", "disk"},
	Members:        3,
	MinMembers:     3,
	TLS:            true,
	ClusterOptions: []harness.Option{harness.WithDataVolume(diskMember, diskBytes)},
	Fault:          fault.FillDisk(fault.Named(diskMember)),
	Observe: []drill.Step{
		{Title: "watch etcd with a full disk", Do: drill.ObserveFullDisk},
	},
	Recover: []drill.Step{
		{Title: "free the space and start etcd again if it stopped", Do: drill.FreeDisk},
		{Title: "the member takes writes again", Do: drill.WriteMore},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify what etcd did, members and keys", Do: drill.VerifyDisk}},
})

// FullDiskReplace is full-disk with the other procedure the runbooks
// give for a member that cannot come back where it is: member replace
// onto a bigger disk. The member is removed by ID, its container and its
// small volume go, it is added back and started empty on an ordinary
// volume (the host's disk) with --initial-cluster-state=existing, and
// catches up from the leader under a new member ID.
var FullDiskReplace = register(&drill.Scenario{
	Name:           "full-disk-replace",
	Summary:        "one member's data file system fills up (ENOSPC) under load; member remove, move it to a bigger volume, member add, start it empty; it rejoins with a new ID",
	Seeds:          []string{"002"},
	Labels:         []string{"fault", "disk", "membership"},
	Members:        3,
	MinMembers:     3,
	TLS:            true,
	ClusterOptions: []harness.Option{harness.WithDataVolume(diskMember, diskBytes)},
	Fault:          fault.FillDisk(fault.Named(diskMember)),
	Observe: []drill.Step{
		{Title: "watch etcd with a full disk", Do: drill.ObserveFullDisk},
	},
	Recover: []drill.Step{
		{Title: "find the member's ID", Do: findLostMember},
		{Title: "remove the member from the cluster", Do: removeLostMember},
		{Title: "move the member to a bigger data volume", Do: moveToBiggerDisk},
		{Title: "add the member back under its name", Do: addLostMember(false)},
		{Title: "start it with an empty data dir, joining the existing cluster", Do: startReplacement},
		{Title: "wait until every member is healthy", Do: waitReplaced},
		{Title: "the replaced member takes writes", Do: drill.WriteMore},
		{Title: "stop the load", Do: drill.StopLoad},
	},
	Verify: []drill.Step{{Title: "verify what etcd did, members, keys and the new member ID", Do: verifyDiskReplaced}},
})

// moveToBiggerDisk removes the member's container and its full volume
// (after `member remove` nothing on it is needed) and gives it an
// ordinary volume, the host's disk, for the next start.
func moveToBiggerDisk(ctx context.Context, d *drill.Drill) error {
	lost, _ := lostAndOps(d)
	return d.Log.Do(record.PhaseRecovery, "move "+lost.Name()+" to a bigger data volume", lost.Name(), func() (record.Action, error) {
		old := lost.DataVolumeBytes()
		a := record.Action{Command: fmt.Sprintf("docker rm -f %[1]s %[1]s-disk && docker volume rm %[2]s\n", lost.ContainerName(), lost.DataVolume())}
		if err := lost.Wipe(ctx); err != nil {
			return a, err
		}
		if err := lost.ResizeDataVolume(0); err != nil {
			return a, err
		}
		a.Command += lost.DataVolumeCommand() + "  # an ordinary volume: the host's disk"
		a.Output = fmt.Sprintf("%s's data dir moves from a %d MiB tmpfs to an ordinary volume; it starts empty and catches up from the leader", lost.Name(), old>>20)
		return a, nil
	})
}

// verifyDiskReplaced records what etcd did with the full disk and checks
// the member came back under a new ID, then every member and key.
func verifyDiskReplaced(ctx context.Context, d *drill.Drill) error {
	b, err := drill.DiskObserved(d)
	if err != nil {
		return err
	}
	return drill.VerifyWith(ctx, d, drill.DiskCheck(b), newMemberIDCheck(ctx, d))
}
