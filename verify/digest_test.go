package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
