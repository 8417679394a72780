package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ScanOptions bound a paginated read of a keyspace.
type ScanOptions struct {
	// Rev is the revision to read at. Default 0: the revision of the first
	// page, a linearizable read, so every page shows one point in time.
	Rev int64
	// PageKeys is the most keys per page. Default 0: sized from the keys
	// seen so far to make pages of about PageBytes.
	PageKeys int
	// PageBytes is the page size aimed at when PageKeys is 0. etcd counts
	// every key from a page's start to the range's end to answer it, so
	// a scan costs the server about keys²/(2·page keys) index visits:
	// pages must be large (1M keys of 125 bytes on 2 cores: 1 MiB pages
	// read 110k keys/s, 8 MiB pages 290k), yet two of them (the one fn
	// works on and the next one) must stay small in memory. Default 8 MiB.
	PageBytes int
	// PageTimeout bounds the read of one page. Default 30s.
	PageTimeout time.Duration
}

func (o ScanOptions) withDefaults() ScanOptions {
	if o.PageBytes <= 0 {
		o.PageBytes = 8 << 20
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 30 * time.Second
	}
	return o
}

// Page sizes when ScanOptions.PageKeys is 0: the first page, and the
// bounds of the pages sized from it.
const (
	firstPageKeys = 1000
	minPageKeys   = 100
	maxPageKeys   = 100_000
)

// page is one range response handed from the reader to fn.
type page struct {
	kvs  []KV
	more bool
	err  error
}

// Scan reads every key under prefix ("" for the whole keyspace) in
// ascending order, page by page, all at one revision, calling fn for each
// key, and returns that revision. Memory stays bounded by a few pages
// whatever the keyspace's size: the next page is read while fn works on
// the current one, and none after it. fn must not keep kv's slices after it returns unless
// it copies them; an error from fn stops the scan and is returned. A
// compaction past the scan's revision while it runs fails the scan, so
// stop compacting traffic before scanning.
func Scan(ctx context.Context, cli *clientv3.Client, prefix string, opt ScanOptions, fn func(kv KV) error) (rev int64, err error) {
	opt = opt.withDefaults()
	start, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	if prefix == "" {
		start, end = "\x00", "\x00" // from the smallest key to the end
	}
	limit := opt.PageKeys
	if limit <= 0 {
		limit = firstPageKeys
	}
	kv := pb.NewKVClient(cli.ActiveConnection())
	first := readPage(ctx, kv, start, end, opt.Rev, limit, opt.PageTimeout)
	if first.err != nil {
		return 0, fmt.Errorf("scan %q: %w", prefix, first.err)
	}
	rev = first.rev
	if opt.Rev > 0 {
		rev = opt.Rev
	}

	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan page) // unbuffered: one page read ahead, no more
	defer func() {
		cancel()
		for range pages { // wait for the reader to stop
		}
	}()
	go func() {
		defer close(pages)
		p := first.page
		for p.more && len(p.kvs) > 0 {
			if opt.PageKeys <= 0 {
				limit = pageKeys(p.kvs, opt.PageBytes)
			}
			next := string(p.kvs[len(p.kvs)-1].Key) + "\x00"
			r := readPage(ctx, kv, next, end, rev, limit, opt.PageTimeout)
			if r.err != nil {
				r.err = fmt.Errorf("scan %q at revision %d, from %q: %w", prefix, rev, next, r.err)
			}
			select {
			case pages <- r.page:
			case <-ctx.Done():
				return
			}
			if r.err != nil {
				return
			}
			p = r.page
		}
	}()
	for _, kv := range first.kvs {
		if err := fn(kv); err != nil {
			return rev, err
		}
	}
	for p := range pages {
		if p.err != nil {
			return rev, p.err
		}
		for _, kv := range p.kvs {
			if err := fn(kv); err != nil {
				return rev, err
			}
		}
	}
	return rev, ctx.Err()
}

// pageKeys sizes the next page from the keys and values of the last one.
func pageKeys(kvs []KV, pageBytes int) int {
	total := 0
	for _, kv := range kvs {
		total += len(kv.Key) + len(kv.Value)
	}
	avg := max(total/len(kvs), 1)
	return min(max(pageBytes/avg, minPageKeys), maxPageKeys)
}

type readResult struct {
	page
	rev int64
}

// readPage reads up to limit keys of [start, end) at rev (0: now),
// bounded by timeout, through kv (the client's connection).
func readPage(ctx context.Context, kv pb.KVClient, start, end string, rev int64, limit int, timeout time.Duration) readResult {
	for {
		r, err := rangePage(ctx, kv, start, end, rev, limit, timeout)
		// A page larger than maxPageMessage is refused by the client
		// before it is read into memory: ask again for half as many keys.
		if status.Code(err) == codes.ResourceExhausted && limit > 1 {
			limit /= 2
			continue
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no page within the %s page timeout: %w", timeout, err)
			}
			return readResult{page: page{err: err}}
		}
		return r
	}
}

// maxPageMessage caps one page's response as the gRPC client receives
// it. The page size is planned from the last page's average key and value
// size, which a run of large values (Kubernetes secrets of tens of KiB
// after events of hundreds of bytes) can make many times too big; the cap
// turns that into a retry with fewer keys instead of a page of hundreds
// of megabytes in memory.
const maxPageMessage = 16 << 20

// rangePage is one linearizable range request, through the client's
// connection (its auth and retries) with the page cap.
func rangePage(ctx context.Context, kv pb.KVClient, start, end string, rev int64, limit int, timeout time.Duration) (readResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := &pb.RangeRequest{Key: []byte(start), RangeEnd: []byte(end), Limit: int64(limit), Revision: rev}
	resp, err := kv.Range(ctx, req, grpc.MaxCallRecvMsgSize(maxPageMessage))
	if err != nil {
		return readResult{}, err
	}
	kvs := make([]KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		kvs[i] = KV{Key: kv.Key, Value: kv.Value}
	}
	return readResult{page: page{kvs: kvs, more: resp.More}, rev: resp.Header.Revision}, nil
}
