// Package verify decides whether a cluster came through a drill intact.
// The checks here are pure: they take observations gathered elsewhere (the
// keyspace, endpoint status, member list, alarms, HashKV) and return a
// record.Check. They never assert or panic, so a failed check is a result
// to report, not a crash.
package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
)

// KV is one key and its value as read from the cluster.
type KV struct {
	Key, Value []byte
}

// Digest is the keyspace digest DESIGN.md defines: for every key in
// ascending byte order it writes the 8-byte big-endian length of the key,
// the key, the 8-byte big-endian length of the value and the value, and
// returns the hex SHA-256 of that stream with the number of keys.
//
// Digest sorts a copy, so the order of kvs does not matter and kvs is not
// modified. A keyspace has unique keys; if kvs repeats a key anyway, the
// entries are ordered by value as well, so the digest still does not
// depend on input order. An empty keyspace gives the SHA-256 of nothing
// and a count of 0.
func Digest(kvs []KV) (hexSHA256 string, count int) {
	sorted := slices.Clone(kvs)
	slices.SortFunc(sorted, func(a, b KV) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return bytes.Compare(a.Value, b.Value)
	})
	h := sha256.New()
	var n [8]byte
	for _, kv := range sorted {
		binary.BigEndian.PutUint64(n[:], uint64(len(kv.Key)))
		h.Write(n[:])
		h.Write(kv.Key)
		binary.BigEndian.PutUint64(n[:], uint64(len(kv.Value)))
		h.Write(n[:])
		h.Write(kv.Value)
	}
	return hex.EncodeToString(h.Sum(nil)), len(sorted)
}

// Digester computes Digest over a keyspace fed one key at a time, such as
// a Scan, without holding it: keys must come in ascending byte order (a
// repeated key with its values in ascending order), and then Sum equals
// Digest of the same keys. The zero value is ready to use.
type Digester struct {
	h    hash.Hash
	n    int
	last []byte
	err  error
	len  [8]byte
}

// Add feeds one key and its value. Add copies nothing but the key, to
// check the order, so the slices may be reused after it returns.
func (d *Digester) Add(key, value []byte) {
	if d.h == nil {
		d.h = sha256.New()
	}
	if d.n > 0 && d.err == nil && bytes.Compare(key, d.last) < 0 {
		d.err = fmt.Errorf("digest: key %q after %q: keys must be fed in ascending order", key, d.last)
	}
	d.last = append(d.last[:0], key...)
	binary.BigEndian.PutUint64(d.len[:], uint64(len(key)))
	d.h.Write(d.len[:])
	d.h.Write(key)
	binary.BigEndian.PutUint64(d.len[:], uint64(len(value)))
	d.h.Write(d.len[:])
	d.h.Write(value)
	d.n++
}

// Sum returns the digest and the number of keys fed so far, as Digest
// returns them; Add may continue after it.
func (d *Digester) Sum() (hexSHA256 string, count int) {
	if d.h == nil {
		d.h = sha256.New()
	}
	return hex.EncodeToString(d.h.Sum(nil)), d.n
}

// Err says whether keys came out of order, in which case Sum is not the
// keyspace's Digest.
func (d *Digester) Err() error { return d.err }
