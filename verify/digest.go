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
