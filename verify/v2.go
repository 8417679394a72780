package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/record"
	clientv2 "go.etcd.io/etcd/client/v2"
)

// KeyspaceV2 reads every v2 key under dir, recursively, with a quorum
// read. A missing dir is an empty keyspace, not an error: after a v3
// restore the v2 store is expected to be empty.
func KeyspaceV2(ctx context.Context, kapi clientv2.KeysAPI, dir string, timeout time.Duration) ([]KV, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := kapi.Get(ctx, dir, &clientv2.GetOptions{Recursive: true, Quorum: true})
	var v2err clientv2.Error
	if errors.As(err, &v2err) && v2err.Code == clientv2.ErrorCodeKeyNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read v2 keyspace %s: %w", dir, err)
	}
	var out []KV
	var walk func(n *clientv2.Node)
	walk = func(n *clientv2.Node) {
		if !n.Dir {
			out = append(out, KV{Key: []byte(n.Key), Value: []byte(n.Value)})
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	walk(resp.Node)
	return out, nil
}

// V2Dropped checks the documented outcome of restoring a v3 snapshot into
// a cluster that held v2 keys: the v3 snapshot carries only the v3
// keyspace, so none of the acknowledged v2 keys may come back. It fails
// when any does, since then the drill's premise (and the runbook's
// warning) would be wrong for this version.
func V2Dropped(acknowledged int, present []KV) record.Check {
	c := record.Check{Name: "v2-keys-after-v3-restore"}
	if acknowledged == 0 {
		return failed(c, "no v2 write was acknowledged, so the loss cannot be shown")
	}
	if len(present) > 0 {
		keys := make([]string, len(present))
		for i, kv := range present {
			keys[i] = string(kv.Key)
		}
		c = failed(c, fmt.Sprintf("%d v2 keys survived a v3 snapshot restore; expected none", len(present)))
		c.Details = capDetails("present: ", keys)
		return c
	}
	return passed(c, fmt.Sprintf("all %d v2 keys are gone after the v3 snapshot restore: the documented loss (v3 snapshots hold only v3 keys; back up v2 data with etcdutl backup)", acknowledged))
}
