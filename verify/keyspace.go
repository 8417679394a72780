package verify

import (
	"fmt"

	"github.com/etcdrill/etcdrill/record"
)

// SameKeyspace compares two keyspace digests (see Digest), such as a
// survivor's before and the recovered cluster's after.
func SameKeyspace(name, wantDigest string, wantKeys int, gotDigest string, gotKeys int) record.Check {
	c := record.Check{Name: name}
	if wantDigest == "" {
		return failed(c, "no keyspace digest was taken before")
	}
	if wantDigest != gotDigest || wantKeys != gotKeys {
		return failed(c, fmt.Sprintf("keyspace changed: %d keys digest %s before, %d keys digest %s after", wantKeys, short(wantDigest), gotKeys, short(gotDigest)))
	}
	return passed(c, fmt.Sprintf("%d keys, digest %s, unchanged", gotKeys, short(gotDigest)))
}
