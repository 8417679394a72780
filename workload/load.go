package workload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LoadOptions shape a bulk load. The defaults follow etcd's own limits
// (--max-txn-ops 128, --max-request-bytes 1.5 MiB) and keep a 2-core
// machine busy without queueing requests past their timeout.
type LoadOptions struct {
	// Workers is the number of concurrent transactions. Default 8.
	Workers int
	// TxnOps is the most puts in one transaction. Default 128.
	TxnOps int
	// TxnBytes is the most key and value bytes in one transaction; a
	// single larger value goes alone. Default 1 MiB.
	TxnBytes int
	// TxnTimeout bounds one attempt of one transaction. Default 30s, as a
	// 1 MiB transaction waits for a disk sync on a busy member.
	TxnTimeout time.Duration
	// Attempts is how often a transaction is tried before the load fails.
	// Retrying is safe: a retried put writes the same bytes. Default 5.
	Attempts int
	// Progress, when set, is called after every transaction with the key
	// and value bytes written so far and in all. Calls are serialised.
	Progress func(doneBytes, totalBytes int64)
}

func (o LoadOptions) withDefaults() LoadOptions {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.TxnOps <= 0 {
		o.TxnOps = 128
	}
	if o.TxnBytes <= 0 {
		o.TxnBytes = 1 << 20
	}
	if o.TxnTimeout <= 0 {
		o.TxnTimeout = 30 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	return o
}

// LoadStats says what a load wrote and how long it took.
type LoadStats struct {
	// Keys and Bytes (keys and values) count what committed transactions
	// wrote.
	Keys  int   `json:"keys"`
	Bytes int64 `json:"bytes"`
	// Txns counts transactions sent, Retries the attempts beyond the
	// first, Workers the transactions in flight at once.
	Txns    int `json:"txns"`
	Retries int `json:"retries"`
	Workers int `json:"workers"`
	// Revision is the highest revision a transaction of the load was
	// committed at (see LoadedRevision).
	Revision int64     `json:"revision"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// MBPerSecond is the load's throughput in megabytes (10^6) of keys and
// values per second.
func (s LoadStats) MBPerSecond() float64 {
	d := s.End.Sub(s.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Bytes) / 1e6 / d
}

// loadState is what Load learned per batch, for DatasetCheck and for
// Traffic's first compare-and-swap on a key.
type loadState struct {
	ran    atomic.Bool
	starts []int          // batch b holds keys [starts[b], starts[b+1])
	revs   []atomic.Int64 // 0: not sent, -1: sent without an answer, >0: committed at
	maxRev atomic.Int64
}

// Batch states in loadState.revs.
const (
	batchNotSent = 0
	batchUnknown = -1
)

// Load writes every key of the dataset with its generation-0 value in
// transactions of up to opt.TxnOps puts and opt.TxnBytes bytes, from
// opt.Workers goroutines, recording each value's hash and each
// transaction's revision. A transaction that fails is retried (the puts
// are idempotent) up to opt.Attempts times; the load stops at the first
// transaction that cannot be written, or when ctx ends, and says which.
// A full backend (NOSPACE) or a request etcd refuses outright is not
// retried. Call Load once per dataset.
func (d *Dataset) Load(ctx context.Context, cli *clientv3.Client, opt LoadOptions) (LoadStats, error) {
	opt = opt.withDefaults()
	st := LoadStats{Start: time.Now()}
	starts := d.batches(opt.TxnOps, opt.TxnBytes)
	if d.sums == nil {
		d.sums = make([]uint64, d.n)
	}
	d.load.starts = starts
	d.load.revs = make([]atomic.Int64, len(starts))
	d.load.ran.Store(true)
	workers := min(opt.Workers, max(len(starts), 1))
	st.Workers = workers

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next          atomic.Int64
		done          atomic.Int64
		txns, retries atomic.Int64
		progress      sync.Mutex
		wg            sync.WaitGroup
		firstErr      error
		firstErrOnce  sync.Once
		fail          = func(err error) { firstErrOnce.Do(func() { firstErr = err; cancel(err) }) }
	)
	for range workers {
		wg.Go(func() {
			var buf []byte
			var offs []int
			for ctx.Err() == nil {
				b := int(next.Add(1) - 1)
				if b >= len(starts) {
					return
				}
				lo, hi := d.batchRange(b)
				buf, offs = buf[:0], offs[:0]
				for i := lo; i < hi; i++ {
					buf = d.AppendKey(buf, i)
					offs = append(offs, len(buf))
					buf = d.AppendValue(buf, i, 0)
					d.sums[i] = HashValue(buf[offs[len(offs)-1]:])
					offs = append(offs, len(buf))
				}
				s := string(buf) // one copy per batch; keys and values are slices of it
				ops := make([]clientv3.Op, 0, hi-lo)
				prev := 0
				for j := 0; j < len(offs); j += 2 {
					ops = append(ops, clientv3.OpPut(s[prev:offs[j]], s[offs[j]:offs[j+1]]))
					prev = offs[j+1]
				}
				n, err := d.loadBatch(ctx, cli, opt, b, ops)
				txns.Add(1)
				retries.Add(int64(n - 1))
				if err != nil {
					fail(fmt.Errorf("load %s: transaction %d of %d (keys %d to %d): %w",
						d.spec, b+1, len(starts), lo, hi-1, err))
					return
				}
				total := done.Add(int64(len(buf)))
				if opt.Progress != nil {
					progress.Lock()
					opt.Progress(total, d.bytes)
					progress.Unlock()
				}
			}
		})
	}
	wg.Wait()
	st.End = time.Now()
	st.Txns, st.Retries = int(txns.Load()), int(retries.Load())
	st.Bytes, st.Revision = done.Load(), d.load.maxRev.Load()
	for b := range starts {
		if d.load.revs[b].Load() > 0 {
			lo, hi := d.batchRange(b)
			st.Keys += hi - lo
		}
	}
	if firstErr != nil {
		return st, firstErr
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("load %s: %d of %d keys written: %w", d.spec, st.Keys, d.n, context.Cause(ctx))
	}
	return st, nil
}

// loadBatch commits one batch, retrying, and returns the attempts made.
func (d *Dataset) loadBatch(ctx context.Context, cli *clientv3.Client, opt LoadOptions, b int, ops []clientv3.Op) (int, error) {
	var err error
	for attempt := 1; attempt <= opt.Attempts; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, opt.TxnTimeout)
		var resp *clientv3.TxnResponse
		resp, err = cli.Txn(tctx).Then(ops...).Commit()
		cancel()
		if err == nil {
			rev := resp.Header.Revision
			d.load.revs[b].Store(rev)
			for cur := d.load.maxRev.Load(); rev > cur && !d.load.maxRev.CompareAndSwap(cur, rev); cur = d.load.maxRev.Load() {
			}
			d.hist.cluster(resp.Header.ClusterId)
			return attempt, nil
		}
		d.load.revs[b].CompareAndSwap(batchNotSent, batchUnknown)
		if ctx.Err() != nil {
			return attempt, context.Cause(ctx)
		}
		if errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace) {
			return attempt, fmt.Errorf("%w (the backend quota is full: raise --quota-backend-bytes or load less data)", err)
		}
		if Classify(err) == Failed {
			return attempt, err // refused outright: retrying cannot help
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within the %s transaction timeout: %w", opt.TxnTimeout, err)
		}
		backoff := time.NewTimer(time.Duration(attempt) * 500 * time.Millisecond)
		select {
		case <-ctx.Done():
			backoff.Stop()
			return attempt, context.Cause(ctx)
		case <-backoff.C:
		}
	}
	return opt.Attempts, fmt.Errorf("%d attempts: %w", opt.Attempts, err)
}

// batches splits the keys into transactions of at most ops puts and
// bytes key and value bytes (a larger single put goes alone), returning
// the first key of each.
func (d *Dataset) batches(ops, bytes int) []int {
	var starts []int
	var buf [160]byte
	n, size := 0, 0
	for i := range d.n {
		s := len(d.AppendKey(buf[:0], i))
		if d.spec.Profile == ProfileUniform {
			s += d.spec.ValueSize
		} else {
			s += d.valueLen(i)
		}
		if n == 0 || n == ops || size+s > bytes {
			starts = append(starts, i)
			n, size = 0, 0
		}
		n++
		size += s
	}
	return starts
}

// batchRange is the keys [lo, hi) of batch b.
func (d *Dataset) batchRange(b int) (lo, hi int) {
	lo, hi = d.load.starts[b], d.n
	if b+1 < len(d.load.starts) {
		hi = d.load.starts[b+1]
	}
	return lo, hi
}

// Loaded says what Load learned about key i: Acknowledged with the
// revision of its transaction, Indeterminate when its transaction got no
// answer (the key may exist), Failed when Load stopped before sending it
// (the key must not exist). It returns "" when Load has not run, as in
// tests that plant a keyspace by hand: then every key is expected.
func (d *Dataset) Loaded(i int) (Outcome, int64) {
	if !d.load.ran.Load() || i < 0 || i >= d.n {
		return "", 0
	}
	b := sort.SearchInts(d.load.starts, i+1) - 1
	switch rev := d.load.revs[b].Load(); {
	case rev > 0:
		return Acknowledged, rev
	case rev == batchUnknown:
		return Indeterminate, 0
	}
	return Failed, 0
}

// LoadedRevision is the highest revision a transaction of the load was
// committed at: a snapshot taken at or after it holds all of the data.
func (d *Dataset) LoadedRevision() int64 { return d.load.maxRev.Load() }
