package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// The "database space exceeded" procedure of seed 004 §3: save a snapshot
// (SaveSnapshot), read the revision from `endpoint status -w json`,
// compact to it, defragment every member, disarm the alarm. Each step
// runs etcdctl on one member against every member's endpoint, as the seed
// types it.

// EndpointStatus is one member's entry in `etcdctl endpoint status -w json`.
type EndpointStatus struct {
	Endpoint    string
	MemberID    uint64
	Revision    int64
	RaftTerm    uint64
	Leader      uint64
	DBSize      int64
	DBSizeInUse int64
}

// epStatusJSON is etcdctl's epStatus: the endpoint and the StatusResponse
// as encoding/json writes it (gogo-protobuf field tags; zero values are
// omitted).
type epStatusJSON struct {
	Endpoint string `json:"Endpoint"`
	Status   struct {
		Header struct {
			MemberID uint64 `json:"member_id"`
			Revision int64  `json:"revision"`
			RaftTerm uint64 `json:"raft_term"`
		} `json:"header"`
		Leader      uint64 `json:"leader"`
		DBSize      int64  `json:"dbSize"`
		DBSizeInUse int64  `json:"dbSizeInUse"`
	} `json:"Status"`
}

// ParseEndpointStatus reads `etcdctl endpoint status -w json` output. The
// JSON array is one line; other lines (warnings, zap logs) are skipped.
func ParseEndpointStatus(out string) ([]EndpointStatus, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "[") {
			continue
		}
		var raw []epStatusJSON
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, fmt.Errorf("endpoint status: %w", err)
		}
		out := make([]EndpointStatus, 0, len(raw))
		for _, r := range raw {
			if r.Endpoint == "" {
				return nil, fmt.Errorf("endpoint status: entry without an endpoint in %q", line)
			}
			s := r.Status
			out = append(out, EndpointStatus{
				Endpoint: r.Endpoint, MemberID: s.Header.MemberID, Revision: s.Header.Revision, RaftTerm: s.Header.RaftTerm,
				Leader: s.Leader, DBSize: s.DBSize, DBSizeInUse: s.DBSizeInUse,
			})
		}
		return out, nil
	}
	return nil, fmt.Errorf("endpoint status: no JSON array in output %q", strings.TrimSpace(out))
}

// CompactRevision is the revision to compact to: the lowest one any
// member reports, so no member is asked to compact past what it has
// applied. While NOSPACE refuses writes the members agree anyway.
func CompactRevision(st []EndpointStatus) (int64, error) {
	if len(st) == 0 {
		return 0, fmt.Errorf("compact revision: no endpoint status")
	}
	var rev int64
	for _, s := range st {
		if s.Revision <= 0 {
			return 0, fmt.Errorf("compact revision: %s reports no revision", s.Endpoint)
		}
		if rev == 0 || s.Revision < rev {
			rev = s.Revision
		}
	}
	return rev, nil
}

// EndpointStatuses runs `etcdctl endpoint status -w json` on m against
// every member, records it as step name in phase, and parses it. Every
// member must answer.
func EndpointStatuses(ctx context.Context, log *record.Log, phase record.Phase, c *harness.Cluster, m *harness.Member, name string) ([]EndpointStatus, error) {
	var st []EndpointStatus
	err := log.Do(phase, name, m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "endpoint", "status", "--write-out=json")...)
		if err != nil {
			return e, err
		}
		st, err = ParseEndpointStatus(e.Output)
		if err == nil && len(st) != len(c.Members()) {
			err = fmt.Errorf("endpoint status: %d of %d members answered", len(st), len(c.Members()))
		}
		if err == nil {
			e.Output += "\n# " + summarize(st)
		}
		return e, err
	})
	return st, err
}

func summarize(st []EndpointStatus) string {
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = fmt.Sprintf("%s revision %d, db size %s (in use %s)", s.Endpoint, s.Revision, mib(s.DBSize), mib(s.DBSizeInUse))
	}
	return strings.Join(parts, "; ")
}

// mib renders a byte count as MiB with two decimals.
func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 2, 64) + " MiB" }

// Compact runs `etcdctl compact <rev>` on m against every member: the
// history before rev is dropped (its space is freed inside the file, not
// yet returned to the disk).
func Compact(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, rev int64) error {
	name, fn := compactStep(ctx, c, m, rev)
	return log.Do(record.PhaseRecovery, name, m.Name(), fn)
}

// CompactMayBeRefused is Compact on a cluster that may refuse the
// compaction for the reason why gives; it says whether it did.
func CompactMayBeRefused(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, rev int64, why record.Refusal) (bool, error) {
	name, fn := compactStep(ctx, c, m, rev)
	return log.MayBeRefused(record.PhaseRecovery, name, m.Name(), why, fn)
}

func compactStep(ctx context.Context, c *harness.Cluster, m *harness.Member, rev int64) (string, func() (record.Action, error)) {
	return fmt.Sprintf("compact the history up to revision %d", rev), func() (record.Action, error) {
		return m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "compact", strconv.FormatInt(rev, 10))...)
	}
}

// Defrag runs `etcdctl defrag` on m against every member's endpoint, so
// each member rewrites its database without the freed pages. etcdctl
// defragments the endpoints one after another.
func Defrag(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member) error {
	return log.Do(record.PhaseRecovery, "defragment every member", m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "defrag")...)
		if err == nil {
			if n := strings.Count(e.Output, "Finished defragmenting"); n != len(c.Members()) {
				err = fmt.Errorf("defrag: %d of %d members defragmented", n, len(c.Members()))
			}
		}
		return e, err
	})
}

// DisarmAlarms runs `etcdctl alarm disarm` on m against every member; the
// seed stresses that without it the cluster still refuses writes.
func DisarmAlarms(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member) error {
	return log.Do(record.PhaseRecovery, "disarm the alarm", m.Name(), func() (record.Action, error) {
		return m.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "alarm", "disarm")...)
	})
}
