package recovery

import (
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// The refusals drills observe, with what proves each on every etcd
// version the drills run. A step that expects a refusal passes only when
// the error says one of these; anything else (an exec, TLS or auth error)
// fails the step, because it proves nothing about the fault.

// RefusalTimeout is etcdctl's --command-timeout for a write that must be
// refused for want of quorum. Without quorum the put is never committed
// and etcd's own request timeout (5 s and more) is longer, so etcdctl's
// deadline is what ends it: the shortest budget that still proves the
// refusal is the one that leaves etcdctl time to reach a live member and
// send the put, which takes milliseconds here; 2 s leaves ample room on
// a loaded 2-core machine, on 3.5, 3.6 and 3.7 alike. It bounds
// `endpoint health` over a cluster with a lost member too: a live member
// answers in milliseconds, and the lost one is reported unhealthy only
// when the deadline runs out (etcdctl's default is 5 s).
const RefusalTimeout = 2 * time.Second

// NoQuorum is a write that cannot commit for want of quorum. etcd
// answers "etcdserver: request timed out" when its own request timeout
// ends first (seen on 3.5.35, 3.6.16 and 3.7.3 alike), etcdctl says
// "context deadline exceeded" when its --command-timeout does, and both
// can say "no leader" or "leader changed" while an election is under way.
// The Go client reports DeadlineExceeded. No version seen so far words it
// differently; v is where a new version's words go.
func NoQuorum(v harness.Version) record.Refusal {
	return record.Refusal{Reason: "no quorum", Says: []string{"etcdserver: request timed out", "context deadline exceeded", "DeadlineExceeded", "etcdserver: no leader", "etcdserver: leader changed"}}
}

// NoMember is a request sent when no member is left to answer it: the Go
// client cannot connect (Unavailable) or gives up (DeadlineExceeded).
func NoMember() record.Refusal {
	return record.Refusal{Reason: "no member answers", Says: []string{"connection refused", "Unavailable", "DeadlineExceeded", "context deadline exceeded", "no such host"}}
}

// NoSpace is a put refused once the NOSPACE alarm is raised: the same
// words on 3.5, 3.6 and 3.7.
func NoSpace() record.Refusal {
	return record.Refusal{Reason: "database space exceeded", Says: []string{"database space exceeded"}}
}

// MissingHash is etcdutl refusing a file without an appended sha256 (a copied
// db file, or a truncated snapshot, which etcdutl cannot tell apart).
func MissingHash() record.Refusal {
	return record.Refusal{Reason: "snapshot missing hash", Says: []string{"snapshot missing hash"}}
}

// WrongHash is etcdutl refusing a file whose appended sha256 does not
// match its content.
func WrongHash() record.Refusal {
	return record.Refusal{Reason: "sha256 mismatch", Says: []string{"expected sha256"}}
}

// CorruptCluster is every request refused while a CORRUPT alarm is
// raised: "etcdserver: corrupt cluster", the same on 3.5, 3.6 and 3.7.
func CorruptCluster() record.Refusal {
	return record.Refusal{Reason: "corrupt cluster: the CORRUPT alarm is raised", Says: []string{rpctypes.ErrCorrupt.Error()}}
}

// Unreachable is `endpoint health` reporting a member that does not
// answer as unhealthy.
func Unreachable() record.Refusal {
	return record.Refusal{Reason: "an endpoint is unhealthy", Says: []string{"unhealthy cluster", "is unhealthy"}}
}

// Compacted is a read or watch of a revision older than the compaction.
// etcdctl get says so; etcdctl watch only prints that the server
// cancelled the watch (the client library sees ErrCompacted, which is
// what callers check first).
func Compacted() record.Refusal {
	return record.Refusal{Reason: "revision compacted", Says: []string{"required revision has been compacted", "watch is canceled by the server"}}
}
