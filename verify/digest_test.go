package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"testing"
)

func kvs(pairs ...string) []KV {
	out := make([]KV, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, KV{Key: []byte(pairs[i]), Value: []byte(pairs[i+1])})
	}
	return out
}

func TestDigestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b []KV
	}{
		{"order independent", kvs("a", "1", "b", "2", "c", "3"), kvs("c", "3", "a", "1", "b", "2")},
		{"nil and empty", nil, []KV{}},
		{"repeated key ordered by value", kvs("a", "1", "a", "2"), kvs("a", "2", "a", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			da, na := Digest(tt.a)
			db, nb := Digest(tt.b)
			if da != db || na != nb {
				t.Errorf("Digest differs: %s/%d vs %s/%d", da, na, db, nb)
			}
		})
	}
}

func TestDigestDiffers(t *testing.T) {
	tests := []struct {
		name string
		a, b []KV
	}{
		{"changed value", kvs("a", "1", "b", "2"), kvs("a", "1", "b", "3")},
		{"length prefix splits key from value", kvs("ab", "c"), kvs("a", "bc")},
		{"missing key", kvs("a", "1", "b", "2"), kvs("a", "1")},
		{"empty value is a key", kvs("a", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			da, _ := Digest(tt.a)
			db, _ := Digest(tt.b)
			if da == db {
				t.Errorf("Digest equal for different keyspaces: %s", da)
			}
		})
	}
}

func TestDigestCount(t *testing.T) {
	tests := []struct {
		name string
		in   []KV
		want int
	}{
		{"empty", nil, 0},
		{"one", kvs("a", "1"), 1},
		{"three", kvs("a", "1", "b", "2", "c", "3"), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, n := Digest(tt.in)
			if n != tt.want {
				t.Errorf("count = %d, want %d", n, tt.want)
			}
			if len(d) != 2*sha256.Size {
				t.Errorf("digest %q is not hex SHA-256", d)
			}
		})
	}
}

// TestDigestDefinition builds the stream DESIGN.md describes by hand and
// checks Digest hashes exactly that.
func TestDigestDefinition(t *testing.T) {
	var stream []byte
	for _, kv := range [][2]string{{"/a", "x"}, {"/b", "yz"}} { // ascending order
		stream = binary.BigEndian.AppendUint64(stream, uint64(len(kv[0])))
		stream = append(stream, kv[0]...)
		stream = binary.BigEndian.AppendUint64(stream, uint64(len(kv[1])))
		stream = append(stream, kv[1]...)
	}
	sum := sha256.Sum256(stream)
	want := hex.EncodeToString(sum[:])

	got, n := Digest(kvs("/b", "yz", "/a", "x"))
	if got != want || n != 2 {
		t.Errorf("Digest = %s/%d, want %s/2", got, n, want)
	}

	empty := sha256.Sum256(nil)
	if got, _ := Digest(nil); got != hex.EncodeToString(empty[:]) {
		t.Errorf("Digest(nil) = %s, want SHA-256 of nothing", got)
	}
}

func TestDigestDoesNotMutate(t *testing.T) {
	in := kvs("c", "3", "a", "1", "b", "2")
	before := kvs("c", "3", "a", "1", "b", "2")
	Digest(in)
	for i := range in {
		if !bytes.Equal(in[i].Key, before[i].Key) || !bytes.Equal(in[i].Value, before[i].Value) {
			t.Fatalf("input reordered or changed at %d: %q=%q", i, in[i].Key, in[i].Value)
		}
	}
}

// TestDigesterEqualsDigest feeds random keyspaces, sorted, to a Digester
// and compares with Digest of the same keys in random order.
func TestDigesterEqualsDigest(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for n := range 50 {
		size := n * n
		seen := map[string]bool{}
		var in []KV
		for len(in) < size {
			k := make([]byte, 1+r.IntN(6))
			for j := range k {
				k[j] = "ab/\x00\xff"[r.IntN(5)]
			}
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			v := make([]byte, r.IntN(40))
			for j := range v {
				v[j] = byte(r.UintN(256))
			}
			in = append(in, KV{Key: k, Value: v})
		}
		sorted := slices.Clone(in)
		slices.SortFunc(sorted, func(a, b KV) int { return bytes.Compare(a.Key, b.Key) })
		var d Digester
		for _, kv := range sorted {
			d.Add(kv.Key, kv.Value)
		}
		gotSum, gotN := d.Sum()
		wantSum, wantN := Digest(in)
		if gotSum != wantSum || gotN != wantN || d.Err() != nil {
			t.Fatalf("%d keys: Digester = %s/%d (err %v), Digest = %s/%d", size, gotSum, gotN, d.Err(), wantSum, wantN)
		}
	}
}

func TestDigesterOrder(t *testing.T) {
	var d Digester
	d.Add([]byte("b"), nil)
	d.Add([]byte("a"), nil)
	if d.Err() == nil {
		t.Fatal("keys out of order went unnoticed")
	}
	var e Digester
	if sum, n := e.Sum(); n != 0 || sum != func() string { s, _ := Digest(nil); return s }() {
		t.Errorf("empty Digester = %s/%d, want Digest(nil)", sum, n)
	}
}
