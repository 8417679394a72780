package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Config shapes the load.
type Config struct {
	// Prefix is prepended to every key. Default "/etcdrill/".
	Prefix string `json:"prefix"`
	// Writers is the number of concurrent writers. Default 4.
	Writers int `json:"writers"`
	// Rate is the total writes per second across writers; 0 means as fast
	// as the cluster answers. Default 100, gentle enough for 2 cores.
	Rate float64 `json:"rate"`
	// ValueSize is the size of each value in bytes. Default 64.
	ValueSize int `json:"value_size"`
	// Seed makes keys and values reproducible. Default 1.
	Seed int64 `json:"seed"`
	// Timeout bounds one write; a write that times out is indeterminate.
	// Default 3s.
	Timeout time.Duration `json:"timeout"`
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "/etcdrill/"
	}
	if c.Writers <= 0 {
		c.Writers = 4
	}
	if c.Rate == 0 {
		c.Rate = 100
	}
	if c.ValueSize <= 0 {
		c.ValueSize = 64
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	return c
}

// Key is the key writer w writes at sequence number seq.
func (c Config) Key(w, seq int) string { return fmt.Sprintf("%sw%02d/%08d", c.Prefix, w, seq) }

// Value is the deterministic value for writer w at sequence seq: the same
// seed always writes the same bytes.
func (c Config) Value(w, seq int) []byte {
	r := rand.New(rand.NewPCG(uint64(c.Seed), uint64(w)<<32|uint64(seq)))
	const hexdigits = "0123456789abcdef"
	b := make([]byte, c.ValueSize)
	for i := range b {
		b[i] = hexdigits[r.IntN(16)]
	}
	return b
}

// definite are the server errors that prove a write was not applied.
// "database space exceeded" is not one of them: etcd applies the put that
// crosses the quota and answers NOSPACE all the same (quotaApplierV3.Put,
// in 3.5 to 3.7); only puts after the alarm are surely refused, and the
// client cannot tell which is which.
var definite = map[string]bool{
	rpctypes.ErrorDesc(rpctypes.ErrGRPCRequestTooManyRequests): true,
	rpctypes.ErrorDesc(rpctypes.ErrGRPCRequestTooLarge):        true,
	rpctypes.ErrorDesc(rpctypes.ErrGRPCPermissionDenied):       true,
	rpctypes.ErrorDesc(rpctypes.ErrGRPCInvalidAuthToken):       true,
	// "corrupt cluster": with a CORRUPT alarm raised, etcd's corrupt
	// applier refuses every request applied after the alarm (3.5 to 3.7).
	rpctypes.ErrorDesc(rpctypes.ErrGRPCCorrupt): true,
}

// Classify maps a write's error to its outcome. Only errors that prove
// the write was not applied count as Failed; anything else (timeouts, lost
// connections, leader changes) may have been committed and is
// Indeterminate.
func Classify(err error) Outcome {
	if err == nil {
		return Acknowledged
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) && definite[ee.Error()] {
		return Failed
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return Indeterminate
	}
	if definite[se.GRPCStatus().Message()] {
		return Failed
	}
	switch se.GRPCStatus().Code() {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated:
		return Failed
	}
	return Indeterminate
}

// Put writes one key and records the outcome in l.
func Put(ctx context.Context, kv clientv3.KV, l *Ledger, timeout time.Duration, key string, val []byte) (Write, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := Write{Key: key, Digest: ValueDigest(val), Start: time.Now()}
	resp, err := kv.Put(ctx, key, string(val))
	w.End = time.Now()
	w.Outcome = Classify(err)
	if err != nil {
		w.Err = err.Error()
	} else {
		w.Revision, w.Cluster = resp.Header.Revision, resp.Header.ClusterId
	}
	l.Record(w)
	return w, err
}

// Runner is a running load; Stop ends it.
type Runner struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs cfg's writers against kv until Stop or ctx ends, recording
// every write in l. Writers continue after errors: a drill wants to see
// writes fail and resume.
func Start(ctx context.Context, kv clientv3.KV, cfg Config, l *Ledger) *Runner {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{cancel: cancel}
	interval := time.Duration(0)
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.Writers) / cfg.Rate)
	}
	for w := range cfg.Writers {
		r.wg.Go(func() { r.write(ctx, kv, cfg, l, w, interval) })
	}
	return r
}

func (r *Runner) write(ctx context.Context, kv clientv3.KV, cfg Config, l *Ledger, w int, interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for seq := 0; ; seq++ {
		if ctx.Err() != nil {
			return
		}
		_, err := Put(ctx, kv, l, cfg.Timeout, cfg.Key(w, seq), cfg.Value(w, seq))
		if err != nil && ctx.Err() != nil {
			return // cancelled by Stop mid-write: recorded as indeterminate
		}
		if tick != nil {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
		}
	}
}

// Stop ends the load and waits for in-flight writes to finish.
func (r *Runner) Stop() {
	r.cancel()
	r.wg.Wait()
}
