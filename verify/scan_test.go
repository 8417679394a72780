package verify

import (
	"context"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// capKV answers Range with up to the request's limit of its keys, and
// refuses with ResourceExhausted, as the gRPC client does for a response
// over its receive cap, any page of more than maxKeys keys. It records
// the limits asked for.
type capKV struct {
	pb.KVClient // only Range is called
	keys        int
	maxKeys     int
	asked       []int64
}

func (k *capKV) Range(_ context.Context, r *pb.RangeRequest, _ ...grpc.CallOption) (*pb.RangeResponse, error) {
	k.asked = append(k.asked, r.Limit)
	n := min(int(r.Limit), k.keys)
	if n > k.maxKeys {
		return nil, status.Error(codes.ResourceExhausted, "grpc: received message larger than max")
	}
	resp := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 7}, More: n < k.keys}
	for i := range n {
		resp.Kvs = append(resp.Kvs, &mvccpb.KeyValue{Key: fmt.Appendf(nil, "/k/%03d", i), Value: []byte("v")})
	}
	return resp, nil
}

// TestReadPageHalvesAnOversizedPage: a page the client refuses as too
// large is asked for again with half as many keys until it fits; a page
// that does not fit even as one key is an error, not a loop.
func TestReadPageHalvesAnOversizedPage(t *testing.T) {
	kv := &capKV{keys: 100, maxKeys: 10}
	r := readPage(context.Background(), kv, "/k/", "/k0", 0, 80, time.Second)
	if r.err != nil {
		t.Fatalf("readPage: %v", r.err)
	}
	if len(r.kvs) != 10 || !r.more || r.rev != 7 {
		t.Errorf("page of %d keys, more %v, revision %d; want 10 keys, more, revision 7", len(r.kvs), r.more, r.rev)
	}
	if got := fmt.Sprint(kv.asked); got != "[80 40 20 10]" {
		t.Errorf("limits asked: %s, want [80 40 20 10]", got)
	}

	huge := &capKV{keys: 100, maxKeys: 0}
	r = readPage(context.Background(), huge, "/k/", "/k0", 0, 8, time.Second)
	if status.Code(r.err) != codes.ResourceExhausted {
		t.Errorf("a key larger than the cap: error %v, want ResourceExhausted", r.err)
	}
	if got := fmt.Sprint(huge.asked); got != "[8 4 2 1]" {
		t.Errorf("limits asked: %s, want [8 4 2 1]", got)
	}
}
