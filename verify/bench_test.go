package verify

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/etcdrill/etcdrill/workload"
)

// keyspace returns n keys under /drill/ with 64-byte values, in reverse
// order so Digest has sorting to do.
func keyspace(n int) []KV {
	out := make([]KV, n)
	for i := range out {
		out[n-1-i] = KV{
			Key:   fmt.Appendf(nil, "/drill/%08d", i),
			Value: bytes.Repeat([]byte{byte('a' + i%26)}, 64),
		}
	}
	return out
}

func BenchmarkDigest(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			kv := keyspace(n)
			b.ReportAllocs()
			for b.Loop() {
				Digest(kv)
			}
		})
	}
}

func BenchmarkIntegrity(b *testing.B) {
	const n = 100_000
	kv := keyspace(n)
	writes := make([]workload.Write, n)
	for i, x := range kv {
		writes[i] = workload.Write{
			Key:      string(x.Key),
			Digest:   workload.ValueDigest(x.Value),
			Outcome:  workload.Acknowledged,
			Revision: int64(i + 2),
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := Integrity(writes, kv, IntegrityOptions{Prefix: "/drill/"}); !r.OK() {
			b.Fatalf("fixture not intact: %s", r.Check().Summary)
		}
	}
}
