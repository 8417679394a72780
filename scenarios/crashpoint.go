package scenarios

import (
	"strings"
	"unicode"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
)

// The crash-point drills crash one member inside etcd at a gofail
// failpoint, under load, on the failpoints image, then restart it: what
// etcd's robustness tests do in-process, on released versions in
// containers. No acknowledged write may be lost and the members must
// converge (HashKV equal).
//
// The raft and commit points crash the leader: it is the member that
// acknowledges writes, and it sends entries to followers before it saves
// them itself (raft thesis 10.2.1), so a leader dying around its WAL save
// or its bbolt commit is the case where an acknowledged write could be
// lost or a member diverge. Defrag and compaction are per-member
// maintenance, run on one member at a time by operators; they crash a
// follower, so the cluster keeps its leader and the drill isolates the
// member's own recovery of its db file.
var (
	CrashRaftBeforeSave           = register(crashDrill(fault.RaftBeforeSave, fault.Leader()))
	CrashRaftAfterSave            = register(crashDrill(fault.RaftAfterSave, fault.Leader()))
	CrashBeforeCommit             = register(crashDrill(fault.BeforeCommit, fault.Leader()))
	CrashDefragBeforeRename       = register(crashDrill(fault.DefragBeforeRename, fault.Follower()))
	CrashCompactBeforeCommitBatch = register(crashDrill(fault.CompactBeforeCommitBatch, fault.Follower()))
)

// crashDrill is the drill that crashes t's member at p.
func crashDrill(p fault.Crashpoint, t fault.Target) *drill.Scenario {
	observe := []drill.Step{{Title: "the " + t.Name() + " crashed at " + p.Failpoint, Do: drill.ExpectCrashed(p)}}
	if t.Name() == fault.Leader().Name() {
		observe = append(observe, drill.Step{Title: "a new leader is elected among the survivors", Do: drill.ExpectNewLeader})
	}
	observe = append(observe, drill.Step{Title: "writes resume", Do: drill.ExpectWritesResume})
	return &drill.Scenario{
		Name:           "crash-" + kebab(p.Failpoint),
		Summary:        "the " + t.Name() + " panics " + p.Where + ", under load; restart it; no acknowledged write lost, members converge",
		Labels:         []string{"failpoint", "fault"},
		Members:        3,
		TLS:            true,
		ClusterOptions: []harness.Option{harness.WithFailpoints()},
		Fault:          fault.CrashAt(t, p),
		Observe:        observe,
		Recover: []drill.Step{
			{Title: "restart the crashed member", Do: drill.RestartVictims},
			{Title: "the restarted member takes writes again", Do: drill.WriteMore},
			{Title: "stop the load", Do: drill.StopLoad},
		},
		Verify: []drill.Step{{Title: "verify members and keys", Do: drill.VerifyAll}},
	}
}

// kebab turns a failpoint name into a drill name: raftBeforeSave →
// raft-before-save.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
