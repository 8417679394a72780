package workload

import (
	"context"
	"errors"
	"time"

	clientv2 "go.etcd.io/etcd/client/v2"
)

// PutV2 writes one key through the v2 keys API and records the outcome;
// an acknowledged write's Revision is the v2 index. A v2 error answer
// from the server proves the write was not applied (Failed); anything
// else may have been (Indeterminate).
func PutV2(ctx context.Context, kapi clientv2.KeysAPI, l *Ledger, timeout time.Duration, key string, val []byte) (Write, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := Write{Key: key, Digest: ValueDigest(val), Start: time.Now()}
	resp, err := kapi.Set(ctx, key, string(val), nil)
	w.End = time.Now()
	var v2err clientv2.Error
	switch {
	case err == nil:
		w.Outcome, w.Revision = Acknowledged, int64(resp.Index)
	case errors.As(err, &v2err):
		w.Outcome, w.Err = Failed, err.Error()
	default:
		w.Outcome, w.Err = Indeterminate, err.Error()
	}
	l.Record(w)
	return w, err
}
