package fault

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// QuotaFill overwrites a few keys with large values and never compacts,
// as Kubernetes objects rewritten on a cluster without auto-compaction,
// so the history grows until etcd answers NOSPACE and raises the alarm.
// Build it with FillQuota; after Inject, Ledger holds the fill's puts.
type QuotaFill struct {
	// Quota is the cluster's --quota-backend-bytes, which the fill must
	// exceed.
	Quota int64
	// Prefix, Keys and ValueSize shape the fill: Keys keys under Prefix
	// overwritten with ValueSize-byte values.
	Prefix    string
	Keys      int
	ValueSize int
	// Seed makes the values reproducible.
	Seed int64

	fill workload.Ledger // keys repeat, so not the drill's ledger
}

// FillQuota fills a cluster started with --quota-backend-bytes=quota:
// 4 keys under /etcdrill-fill/ overwritten with 128 KiB values.
func FillQuota(quota, seed int64) *QuotaFill {
	return &QuotaFill{Quota: quota, Prefix: "/etcdrill-fill/", Keys: 4, ValueSize: 128 << 10, Seed: seed}
}

func (q *QuotaFill) Name() string   { return "fill-quota" }
func (q *QuotaFill) Target() Target { return Every() }

// Available needs nothing: any cluster size can be filled.
func (q *QuotaFill) Available(Env) error { return nil }

// Ledger is every put of the fill, for the overwritten-keys check.
func (q *QuotaFill) Ledger() *workload.Ledger { return &q.fill }

// maxWrites bounds the fill at four times what the quota can hold.
func (q *QuotaFill) maxWrites() int { return int(4 * q.Quota / int64(q.ValueSize)) }

// Inject puts one value at a time until a put is answered NOSPACE; that
// answer is when the outage began. It gives up after maxWrites puts or
// the catch-up budget.
func (q *QuotaFill) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	var in Injection
	t := c.Config().Timeouts
	err := log.Do(record.PhaseFault, "overwrite a few keys with large values until the quota is exhausted", "", func() (record.Action, error) {
		cli, err := c.Client()
		if err != nil {
			return record.Action{}, err
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(ctx, t.CatchUp)
		defer cancel()
		vals := workload.Config{Seed: q.Seed, ValueSize: q.ValueSize}
		var last workload.Write
		for i := range q.maxWrites() {
			if ctx.Err() != nil {
				break
			}
			k := i % q.Keys
			w, err := workload.Put(ctx, cli, &q.fill, t.Request, fmt.Sprintf("%sk%02d", q.Prefix, k), vals.Value(k, i))
			switch {
			case errors.Is(err, rpctypes.ErrNoSpace):
				in.At, in.Victims = w.End, c.Members()
				return record.Action{Output: q.summary(last) + fmt.Sprintf("\nput %d (%s) refused: %v", i+1, w.Key, err)}, nil
			case w.Outcome == workload.Failed:
				return record.Action{Output: q.summary(last)}, fmt.Errorf("fill put %d refused, but not for space: %w", i+1, err)
			case w.Outcome == workload.Acknowledged:
				last = w
			}
		}
		if err := ctx.Err(); err != nil {
			return record.Action{Output: q.summary(last)}, fmt.Errorf("quota of %d bytes not exhausted within %s: %w", q.Quota, t.CatchUp, err)
		}
		return record.Action{Output: q.summary(last)}, fmt.Errorf("quota of %d bytes not exhausted by %d puts", q.Quota, q.maxWrites())
	})
	return in, err
}

func (q *QuotaFill) summary(last workload.Write) string {
	c := q.fill.Counts()
	return fmt.Sprintf("%d puts of %d KiB over %d keys under %s, never compacted, so every overwrite stays in the history: %d acknowledged (the last at revision %d), %d indeterminate",
		len(q.fill.Writes()), q.ValueSize>>10, q.Keys, q.Prefix, c[workload.Acknowledged], last.Revision, c[workload.Indeterminate])
}
