package recovery

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
)

// keyspace is what a snapshot's "key" bucket leaves live: each key with
// the value of its newest revision. It holds one value per live key, not
// one per revision.
type keyspace map[string][]byte

// digest is the keyspace digest DESIGN.md defines, as verify.Digest
// computes it from the keys a cluster serves: for every key in ascending
// byte order the 8-byte big-endian length of the key, the key, the 8-byte
// big-endian length of the value and the value; the hex SHA-256 of that
// stream, and the number of keys.
func (ks keyspace) digest() (hexSHA256 string, count int) {
	h := sha256.New()
	var n [8]byte
	for _, k := range slices.Sorted(maps.Keys(ks)) { // Go orders strings bytewise
		v := ks[k]
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil)), len(ks)
}

// ReadKeyspaceDigest reads a snapshot or a copied db file offline and
// returns the keyspace digest of what a cluster restored from it serves,
// as verify.Digest computes it from the cluster: for every live key (its
// newest revision is a put, not a tombstone) its newest value. keys is
// the number of live keys, etcdutl's totalKey. Like ReadStatus it reads
// the database whether or not an appended SHA-256 matches; the error is
// CheckSnapshot's for a file it cannot read, or wraps ErrCorrupt.
func ReadKeyspaceDigest(data []byte) (digest string, keys int, err error) {
	_, ks, err := readDB(data)
	if err != nil {
		return "", 0, err
	}
	digest, keys = ks.digest()
	return digest, keys, nil
}
