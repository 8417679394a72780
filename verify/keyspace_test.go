package verify

import (
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestSameKeyspace(t *testing.T) {
	a, na := Digest([]KV{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}})
	b, nb := Digest([]KV{{Key: []byte("a"), Value: []byte("1")}}) // a dropped key
	c, nc := Digest([]KV{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("X")}})
	if got := SameKeyspace("k", a, na, a, na); got.Verdict != record.Pass {
		t.Fatalf("same keyspace: %+v", got)
	}
	for name, tc := range map[string]struct {
		d string
		n int
	}{"dropped key": {b, nb}, "changed value": {c, nc}} {
		if got := SameKeyspace("k", a, na, tc.d, tc.n); got.Verdict != record.Fail {
			t.Errorf("%s not caught: %+v", name, got)
		}
	}
	if got := SameKeyspace("k", "", 0, a, na); got.Verdict != record.Fail {
		t.Error("no before digest must fail")
	}
}
