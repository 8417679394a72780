package scenarios

import (
	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
)

// CorruptMemberDB (issue 10): bit rot in one follower's bbolt file. The
// follower is stopped cleanly, one byte inside the newest value of a
// live key is flipped (the file stays a valid database: bbolt has no page
// checksums) and it is started with the version's corruption checks on.
// The drill records what etcd does (refuses to start it, raises a CORRUPT
// alarm, or nothing) and what etcdrill's own HashKV and keyspace digest
// checks catch, then replaces the member from the healthy quorum. It
// fails if neither etcd nor etcdrill catches the flipped value.
var CorruptMemberDB = register(corruptMember("corrupt-member-db", fault.CorruptDB(fault.Follower()), true, true,
	"a stopped follower's bbolt file gets one flipped byte in a stored value; start it with etcd's corruption checks on, record who detects it, replace the member"))

// CorruptMemberWAL (issue 10): the last record of one follower's last
// WAL segment is garbled while it is stopped, and it is started with the
// corruption checks on. The drill records what etcd does with it; its db
// is intact, which etcdrill's checks confirm. Then the member is
// replaced.
var CorruptMemberWAL = register(corruptMember("corrupt-member-wal", fault.CorruptWAL(fault.Follower()), true, false,
	"a stopped follower's last WAL record is garbled; start it with etcd's corruption checks on, record what etcd does, replace the member"))

// CorruptMemberDBUnchecked is corrupt-member-db with etcd's corruption
// checks off, as etcd runs by default: etcd serves the flipped value, and
// etcdrill's checks must say so. It is the planted test of those checks
// on a real cluster: corruption etcd misses, which they must catch.
var CorruptMemberDBUnchecked = register(corruptMember("corrupt-member-db-unchecked", fault.CorruptDB(fault.Follower()), false, true,
	"corrupt-member-db with etcd's corruption checks off (etcd's default): etcd serves the flipped value; etcdrill's HashKV and digest checks must catch it"))

// corruptMember declares a corruption drill: the fault, whether etcd's
// checks are on, and whether the drill fails when nobody catches the
// damage.
func corruptMember(name string, f fault.Fault, checks, requireCatch bool, summary string) *drill.Scenario {
	s := &drill.Scenario{
		Name:    name,
		Summary: summary,
		Seeds:   []string{"002", "004"},
		Labels:  []string{"fault", "corruption", "membership"},
		Members: 3,
		TLS:     true,
		Fault:   f,
		Observe: []drill.Step{
			{Title: "start the damaged member and record what etcd does", Do: drill.StartDamaged},
			{Title: "run etcdrill's own checks on the damaged member", Do: drill.CheckDamaged(requireCatch)},
		},
		Recover: []drill.Step{
			{Title: "find the damaged member's ID", Do: findLostMember},
			{Title: "remove the damaged member from the cluster", Do: removeLostMember},
			{Title: "wipe its data dir", Do: drill.WipeDamaged},
			// Once the damaged member is gone, nothing diverges: the alarm
			// can go, and with it the refusal of every request.
			{Title: "disarm a CORRUPT alarm if one is raised", Do: drill.DisarmCorrupt},
			{Title: "add the member back under its name", Do: addLostMember(false)},
			{Title: "start it with an empty data dir, joining the existing cluster", Do: startReplacement},
			{Title: "wait until every member is healthy", Do: waitReplaced},
			{Title: "the replaced member takes writes", Do: drill.WriteMore},
			{Title: "stop the load", Do: drill.StopLoad},
		},
		Verify: []drill.Step{{Title: "verify members, keys and the new member ID", Do: verifyReplaced}},
	}
	if checks {
		s.ClusterOptions = []harness.Option{func(c *harness.Config) error { c.CorruptCheck = true; return nil }}
	}
	return s
}
