package drill

import (
	"bytes"
	"context"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// keyspace is what one paginated read of the whole keyspace learned: the
// load's keys (few, kept for the ledger check), the checks of the data
// profile and of the operator's snapshot, and the digest.
type keyspace struct {
	load   []verify.KV
	checks []record.Check
	digest string
	keys   int
}

// readKeyspace reads every key once at one revision and feeds each to
// the checks that own it. upTo is the snapshot revision of a restore
// (0 without one), which bounds what the data profile must hold.
func readKeyspace(ctx context.Context, d *Drill, cli *clientv3.Client, upTo int64) (keyspace, error) {
	var ks keyspace
	prefix, hot := []byte(d.Config.Load.Prefix), []byte(d.HotPrefix())
	var dig verify.Digester
	var dsc *verify.DatasetCheck
	var dsPrefix []byte
	if ds := State[Data](d).Set; ds != nil {
		dsc, dsPrefix = verify.NewDatasetCheck(ds, upTo), []byte(ds.Prefix())
	}
	var fc *verify.SourceCompare
	if f := State[Operator](d).File; f != nil {
		fc = verify.NewSourceCompare(ctx, f)
		defer fc.Stop()
	}
	_, err := verify.Scan(ctx, cli, "", verify.ScanOptions{PageTimeout: d.Config.Timeouts.Command}, func(kv verify.KV) error {
		dig.Add(kv.Key, kv.Value)
		switch {
		case bytes.HasPrefix(kv.Key, hot):
			// The clients' hot keys: their history is the check.
		case bytes.HasPrefix(kv.Key, prefix):
			ks.load = append(ks.load, verify.KV{Key: bytes.Clone(kv.Key), Value: bytes.Clone(kv.Value)})
		case dsc != nil && bytes.HasPrefix(kv.Key, dsPrefix):
			dsc.Observe(kv.Key, kv.Value)
		}
		if fc != nil {
			fc.Observe(kv.Key, kv.Value)
		}
		return nil
	})
	if err != nil {
		return ks, err
	}
	ks.digest, ks.keys = dig.Sum()
	if dsc != nil {
		ks.checks = append(ks.checks, dsc.Check())
	}
	if fc != nil {
		ks.checks = append(ks.checks, fc.Check("operator-keys"))
	}
	return ks, nil
}

// maxDBSize is the largest database size among the members of st.
func maxDBSize(st *record.ClusterState) int64 {
	var n int64
	if st == nil {
		return 0
	}
	for _, m := range st.Members {
		n = max(n, m.DBSize)
	}
	return n
}

// countKeys counts the whole keyspace (a count-only range), 0 on error.
func countKeys(ctx context.Context, cli *clientv3.Client, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithCountOnly())
	if err != nil {
		return 0
	}
	return int(resp.Count)
}

// rpo measures what a restore to revision upTo lost by design, from the
// ledger: the revisions acknowledged beyond the snapshot's, and the time
// from the last acknowledged write the snapshot holds to the last one it
// lost. Both are 0 when nothing acknowledged was lost.
func rpo(writes []workload.Write, upTo int64) (*int64, *int64) {
	var lastKept, lastLost time.Time
	var maxRev int64
	for _, w := range writes {
		if w.Outcome != workload.Acknowledged {
			continue
		}
		if w.Revision <= upTo {
			if w.End.After(lastKept) {
				lastKept = w.End
			}
			continue
		}
		maxRev = max(maxRev, w.Revision)
		if w.End.After(lastLost) {
			lastLost = w.End
		}
	}
	revs, ms := int64(0), int64(0)
	if maxRev > 0 {
		revs = maxRev - upTo
		if !lastKept.IsZero() {
			ms = lastLost.Sub(lastKept).Milliseconds()
		}
	}
	return &revs, &ms
}
