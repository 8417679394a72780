package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClientsConfig shapes the clients' operations on a small hot keyset:
// linearizable gets, overwrites, deletes and Kubernetes-style updates
// (a transaction comparing the key's mod revision), the operations where
// anomalies show.
type ClientsConfig struct {
	// Prefix holds the hot keys: Prefix + "00" … Prefix + "15".
	Prefix string
	// Keys is the size of the hot keyset. Default 8.
	Keys int
	// Clients is the number of concurrent clients. Default 2.
	Clients int
	// Rate is the total operations per second. Default 40.
	Rate float64
	// Timeout bounds one operation. Default 2s.
	Timeout time.Duration
	// Seed makes the sequence of operations reproducible.
	Seed int64
}

func (c ClientsConfig) withDefaults() ClientsConfig {
	if c.Keys <= 0 {
		c.Keys = 8
	}
	if c.Clients <= 0 {
		c.Clients = 2
	}
	if c.Rate <= 0 {
		c.Rate = 40
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	return c
}

// HotPrefix is where the clients' hot keys live under a load's prefix:
// inside it, so auth grants on the prefix cover them, and apart from the
// writers' keys ("<prefix>wNN/…"), which the ledger owns.
func HotPrefix(loadPrefix string) string { return loadPrefix + "hot/" }

// HotKey is the i-th key of the hot keyset.
func (c ClientsConfig) HotKey(i int) string { return fmt.Sprintf("%s%02d", c.Prefix, i) }

// Clients is a running set of clients; Stop ends them.
type Clients struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartClients runs cfg's clients against kv until Stop or ctx ends,
// recording every operation in h. Client ids start at firstID, so
// several sets can share one history.
func StartClients(ctx context.Context, kv clientv3.KV, cfg ClientsConfig, h *History, firstID int) *Clients {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	cs := &Clients{cancel: cancel}
	gap := time.Duration(float64(time.Second) * float64(cfg.Clients) / cfg.Rate)
	for i := range cfg.Clients {
		r := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(firstID+i)))
		cs.wg.Go(func() { runClient(ctx, kv, cfg, h, firstID+i, r, gap) })
	}
	return cs
}

func runClient(ctx context.Context, kv clientv3.KV, cfg ClientsConfig, h *History, id int, r *rand.Rand, gap time.Duration) {
	t := time.NewTicker(gap)
	defer t.Stop()
	// The mod revision this client last saw of each key: what its next
	// update compares against, as an API server uses its cache's.
	seen := map[string]int64{}
	for {
		key := cfg.HotKey(r.IntN(cfg.Keys))
		var op Op
		switch n := r.IntN(20); {
		case n < 8:
			op = Op{Kind: OpGet}
		case n < 12:
			op = Op{Kind: OpPut, Value: r.Uint64()}
		case n < 14:
			op = Op{Kind: OpDel}
		default:
			op = Op{Kind: OpCAS, Value: r.Uint64(), Expect: seen[key]}
		}
		op.Client, op.Key = id, key
		// An operation cut short by Stop is recorded all the same: it is
		// indeterminate, and may have taken effect.
		op = Do(ctx, kv, op, cfg.Timeout)
		h.Record(op)
		if op.Outcome == Acknowledged {
			switch {
			case op.Kind == OpGet:
				seen[key] = op.ModRevision
			case op.Kind == OpDel, op.Kind == OpCAS && !op.Found:
				delete(seen, key) // unknown: read again before updating
			default:
				seen[key] = op.Revision
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// hotValue is the value a put of hash v writes: its hash is v's own
// HashValue, so the history records values by what was stored.
func hotValue(v uint64) string { return fmt.Sprintf("%016x", v) }

// Do performs op on kv, filling in its call and return times, outcome
// and answer. A put's Value is replaced by the HashValue of what it
// stores.
func Do(ctx context.Context, kv clientv3.KV, op Op, timeout time.Duration) Op {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var val string
	if op.Kind == OpPut || op.Kind == OpCAS {
		val = hotValue(op.Value)
		op.Value = HashValue([]byte(val))
	}
	op.Call = time.Now()
	var hdr interface{ GetRevision() int64 }
	var cluster uint64
	var err error
	switch op.Kind {
	case OpGet:
		var resp *clientv3.GetResponse
		if resp, err = kv.Get(ctx, op.Key); err == nil {
			hdr, cluster = resp.Header, resp.Header.ClusterId
			if len(resp.Kvs) > 0 {
				op.Found, op.Got, op.ModRevision = true, HashValue(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
			}
		}
	case OpPut:
		var resp *clientv3.PutResponse
		if resp, err = kv.Put(ctx, op.Key, val); err == nil {
			hdr, cluster = resp.Header, resp.Header.ClusterId
		}
	case OpDel:
		var resp *clientv3.DeleteResponse
		if resp, err = kv.Delete(ctx, op.Key); err == nil {
			hdr, cluster, op.Found = resp.Header, resp.Header.ClusterId, resp.Deleted > 0
		}
	case OpCAS:
		var resp *clientv3.TxnResponse
		resp, err = kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(op.Key), "=", op.Expect)).
			Then(clientv3.OpPut(op.Key, val)).Commit()
		if err == nil {
			hdr, cluster, op.Found = resp.Header, resp.Header.ClusterId, resp.Succeeded
		}
	}
	op.Return = time.Now()
	op.Outcome = Classify(err)
	if err == nil {
		op.Revision, op.Cluster = hdr.GetRevision(), cluster
	}
	return op
}

// Stop ends the clients and waits for in-flight operations.
func (c *Clients) Stop() {
	c.cancel()
	c.wg.Wait()
}
