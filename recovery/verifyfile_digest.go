package recovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// keyspaceDigest computes the keyspace digest DESIGN.md defines, as
// verify.Digest computes it from the keys a cluster serves: for every key
// in ascending byte order the 8-byte big-endian length of the key, the
// key, the 8-byte big-endian length of the value and the value; the hex
// SHA-256 of that stream, and the number of keys. It is fed one key at a
// time, in order, so that no keyspace is ever held whole.
type keyspaceDigest struct {
	h hash.Hash
	n int
}

func newKeyspaceDigest() *keyspaceDigest { return &keyspaceDigest{h: sha256.New()} }

// add appends a key and its value; keys come in ascending bytewise order.
func (d *keyspaceDigest) add(k, v []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(k)))
	d.h.Write(n[:])
	d.h.Write(k)
	binary.BigEndian.PutUint64(n[:], uint64(len(v)))
	d.h.Write(n[:])
	d.h.Write(v)
	d.n++
}

// sum is the hex digest and the number of keys added.
func (d *keyspaceDigest) sum() (hexSHA256 string, count int) {
	return hex.EncodeToString(d.h.Sum(nil)), d.n
}

// ReadKeyspaceDigest reads a snapshot or a copied db file offline and
// returns the keyspace digest of what a cluster restored from it serves,
// as verify.Digest computes it from the cluster: for every live key (its
// newest revision is a put, not a tombstone) its newest value. keys is
// the number of live keys, etcdutl's totalKey. Like ReadStatus it reads
// the database whether or not an appended SHA-256 matches; the error is
// CheckSnapshot's for a file it cannot read, or wraps ErrCorrupt. It is
// for a snapshot in memory; ReadSnapshotFile reads a file.
func ReadKeyspaceDigest(data []byte) (digest string, keys int, err error) {
	r := bytes.NewReader(data)
	_, ix, err := readDB(r, int64(len(data)))
	if err != nil {
		return "", 0, err
	}
	return ix.digest(r)
}
