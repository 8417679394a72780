package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Statuses asks every member of c for `endpoint status`; an unreachable
// member gets Err set rather than failing the whole observation.
func Statuses(ctx context.Context, c *harness.Cluster, cli *clientv3.Client) []Status {
	var out []Status
	for _, m := range c.Members() {
		s := Status{Name: m.Name(), Endpoint: m.Endpoint()}
		st, err := c.Status(ctx, cli, m)
		if err != nil {
			s.Err = err.Error()
		} else {
			s.ID, s.Leader, s.ClusterID = st.Header.MemberId, st.Leader, st.Header.ClusterId
			s.RaftTerm, s.RaftIndex, s.Revision = st.RaftTerm, st.RaftIndex, st.Header.Revision
			s.IsLearner, s.DBSize, s.Version = st.IsLearner, st.DbSize, st.Version
		}
		out = append(out, s)
	}
	return out
}

// MemberList reads `member list` through cli.
func MemberList(ctx context.Context, cli *clientv3.Client, timeout time.Duration) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("member list: %w", err)
	}
	var out []Member
	for _, m := range resp.Members {
		out = append(out, Member{Name: m.Name, ID: m.ID, PeerURLs: m.PeerURLs, IsLearner: m.IsLearner})
	}
	return out, nil
}

// Expected is the membership c should have: every member by name with
// its peer URL.
func Expected(c *harness.Cluster) []Member {
	var want []Member
	for _, m := range c.Members() {
		want = append(want, Member{Name: m.Name(), PeerURLs: []string{m.PeerURL()}})
	}
	return want
}

// AlarmList reads `alarm list` through cli.
func AlarmList(ctx context.Context, cli *clientv3.Client, timeout time.Duration) ([]Alarm, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.AlarmList(ctx)
	if err != nil {
		return nil, fmt.Errorf("alarm list: %w", err)
	}
	var out []Alarm
	for _, a := range resp.Alarms {
		out = append(out, Alarm{MemberID: a.MemberID, Alarm: a.Alarm.String()})
	}
	return out, nil
}

// Hashes asks every member for HashKV at rev.
func Hashes(ctx context.Context, c *harness.Cluster, cli *clientv3.Client, rev int64) []Hash {
	var out []Hash
	for _, m := range c.Members() {
		h := Hash{Name: m.Name()}
		rctx, cancel := context.WithTimeout(ctx, c.Config().Timeouts.Request)
		resp, err := cli.HashKV(rctx, m.Endpoint(), rev)
		cancel()
		if err != nil {
			h.Err = err.Error()
		} else {
			h.Revision, h.CompactRevision, h.Hash = resp.HashRevision, resp.CompactRevision, resp.Hash
			if h.Revision == 0 { // servers that do not fill hash_revision
				h.Revision = rev
				if rev == 0 {
					h.Revision = resp.Header.Revision
				}
			}
		}
		out = append(out, h)
	}
	return out
}

// Keyspace reads every key under prefix ("" for the whole keyspace) with a
// linearizable read, and the revision it read at.
func Keyspace(ctx context.Context, cli *clientv3.Client, prefix string, timeout time.Duration) ([]KV, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if prefix == "" {
		prefix, opts = "\x00", []clientv3.OpOption{clientv3.WithFromKey()}
	}
	resp, err := cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("read keyspace %q: %w", prefix, err)
	}
	return kvsOf(resp.Kvs), resp.Header.Revision, nil
}

// kvsOf is the keys and values of a range response.
func kvsOf(kvs []*mvccpb.KeyValue) []KV {
	out := make([]KV, len(kvs))
	for i, kv := range kvs {
		out[i] = KV{Key: kv.Key, Value: kv.Value}
	}
	return out
}

// Cluster runs the member checks against c: health, one leader, equal
// raft term, one cluster ID, membership as expected, no alarms, HashKV
// equal on every member at one revision. A cluster that just recovered may
// still be converging, so the checks are repeated until they all pass, the
// failure is one that waiting cannot heal (settled), or the catch-up
// timeout ends; the last observation is returned either way.
func Cluster(ctx context.Context, c *harness.Cluster, want []Member) []record.Check {
	cli, err := c.Client()
	if err != nil {
		return []record.Check{{Name: "health", Verdict: record.Fail, Summary: err.Error()}}
	}
	defer cli.Close()
	// The catch-up budget only decides when to stop retrying. Each
	// observation runs on the caller's ctx, bounded per request, so the
	// last one is complete rather than cut off by the expiring budget.
	budget, cancel := context.WithTimeout(ctx, harness.Budget(ctx, c.Config().Timeouts.CatchUp))
	defer cancel()
	var o observation
	harness.Poll(budget, 500*time.Millisecond, func(context.Context) error {
		o = observe(ctx, c, cli, want)
		for _, ch := range o.checks {
			if !ch.Passed() {
				err := fmt.Errorf("%s: %s", ch.Name, ch.Summary)
				if o.settled() {
					return harness.Permanent(err)
				}
				return err
			}
		}
		return nil
	})
	return o.checks
}

// observation is one round of the member checks, with the alarms and
// hashes they were made from.
type observation struct {
	checks []record.Check
	alarms []Alarm // nil when none were raised or the list could not be read
	hashes []Hash
}

// settled reports whether a failed observation is one that waiting cannot
// heal: every other check passed, and each failed one is
//   - alarms, with an alarm read as raised (not a list that could not be
//     read): it stays raised until someone runs `alarm disarm`, and
//     verifying disarms nothing;
//   - hashkv with every member answering at one revision and one compact
//     revision: each member's history up to that revision is written, so
//     hashes that differ there differ for good.
//
// Hashes taken at different revisions or compact revisions, and every
// other failed check (an unhealthy member, no leader, a term or
// membership still changing), may be a member catching up, and are
// retried until the catch-up timeout.
func (o observation) settled() bool {
	failed := false
	for _, ch := range o.checks {
		if ch.Passed() {
			continue
		}
		failed = true
		switch ch.Name {
		case "alarms":
			if len(o.alarms) == 0 {
				return false
			}
		case "hashkv":
			if len(o.hashes) == 0 {
				return false
			}
			for _, h := range o.hashes {
				if h.Err != "" || h.Revision != o.hashes[0].Revision || h.CompactRevision != o.hashes[0].CompactRevision {
					return false
				}
			}
		default:
			return false
		}
	}
	return failed
}

func observe(ctx context.Context, c *harness.Cluster, cli *clientv3.Client, want []Member) observation {
	timeout := c.Config().Timeouts.Request
	st := Statuses(ctx, c, cli)
	checks := []record.Check{Health(st), Leader(st), Term(st), SameCluster(st)}
	got, err := MemberList(ctx, cli, timeout)
	if err != nil {
		checks = append(checks, record.Check{Name: "membership", Verdict: record.Fail, Summary: err.Error()})
	} else {
		checks = append(checks, Membership(got, want))
	}
	alarms, err := AlarmList(ctx, cli, timeout)
	if err != nil {
		checks = append(checks, record.Check{Name: "alarms", Verdict: record.Fail, Summary: err.Error()})
	} else {
		checks = append(checks, Alarms(alarms))
	}
	// Hash at the lowest revision every member has applied, so members that
	// are a little behind are compared on the same history.
	var rev int64
	for _, s := range st {
		if s.Err == "" && (rev == 0 || s.Revision < rev) {
			rev = s.Revision
		}
	}
	hashes := Hashes(ctx, c, cli, rev)
	return observation{checks: append(checks, HashKV(hashes)), alarms: alarms, hashes: hashes}
}

// State observes the cluster for a report's before/after tables:
// `endpoint status` of every member joined with `member list`.
func State(ctx context.Context, c *harness.Cluster, when string) *record.ClusterState {
	st := &record.ClusterState{When: when, T: time.Now()}
	cli, err := c.Client()
	if err != nil {
		return st
	}
	defer cli.Close()
	timeout := c.Config().Timeouts.Request
	peers := map[uint64]string{}
	if ms, err := MemberList(ctx, cli, timeout); err == nil {
		for _, m := range ms {
			peers[m.ID] = strings.Join(m.PeerURLs, ",")
		}
	}
	for _, s := range Statuses(ctx, c, cli) {
		ms := record.MemberState{Name: s.Name, Endpoint: s.Endpoint, Error: s.Err}
		if s.Err == "" {
			ms.ID, ms.PeerURLs, ms.Version, ms.DBSize = fmt.Sprintf("%x", s.ID), peers[s.ID], s.Version, s.DBSize
			ms.IsLeader, ms.IsLearner, ms.RaftTerm, ms.RaftIndex, ms.Revision = s.ID == s.Leader, s.IsLearner, s.RaftTerm, s.RaftIndex, s.Revision
			st.ClusterID = fmt.Sprintf("%x", s.ClusterID)
		}
		st.Members = append(st.Members, ms)
	}
	return st
}
