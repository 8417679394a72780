// gen writes the synthetic snapshot fixtures of verifyfile_test.go: bbolt
// databases laid out as etcd lays out its backend (revision keys in the
// "key" bucket, mvccpb.KeyValue values, tombstones marked 't'), written by
// bbolt itself, for histories the real fixtures (../gen.go) lack: a key
// deleted and re-created, several changes in one txn, a delete of two keys
// at once, an empty value, a key that is a prefix of another, keys outside
// printable ASCII. For each variant:
//
//	<variant>.db    the database as etcd streams a snapshot (tx.WriteTo),
//	                with its sha256 appended
//	<variant>.json  the keyspace the history leaves, by applying it to a
//	                map (the reader under test plays no part)
//
// Variants: snapshot; changed-live, where the live value of /k/overwritten
// differs by one byte; changed-old, where a value /k/overwritten no longer
// holds differs by one byte.
//
// Run from this directory (no Docker, its own module): go run .
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// op is one change: a put, or a delete when del is set.
type op struct {
	del      bool
	key, val string
}

func put(k, v string) op { return op{key: k, val: v} }
func del(k string) op    { return op{del: true, key: k} }

// history is the sequence of txns every variant writes.
func history() [][]op {
	h := [][]op{
		{put("/k/overwritten", "first value")},
		{put("/k/overwritten", "second value")},
		{put("/k/overwritten", "final value")},
		{put("/k/deleted", "doomed")},
		{del("/k/deleted")},
		{put("/k/recreated", "before the delete")},
		{del("/k/recreated")},
		{put("/k/recreated", "after the delete")},
		{put("/k/recreated-deleted", "one")},
		{del("/k/recreated-deleted")},
		{put("/k/recreated-deleted", "two")},
		{del("/k/recreated-deleted")},
		{put("/k/empty", "")},
		{put("/k/txn-a", "A"), put("/k/txn-b", "B"), put("/k/txn-c", "C")},
		{del("/k/txn-a"), put("/k/txn-b", "B2"), put("/k/txn-d", "D")},
		{del("/k/txn-c"), del("/k/txn-d")},
		{put("\x00", "the lowest key")},
		{put("\xff\xfe", "the highest key")},
		{put("/k/a", "a prefix of the next key")},
		{put("/k/a\x00", "one byte longer")},
		{put("/k/large", strings.Repeat("L", 10000))}, // overflow pages
	}
	const n = 300 // enough for branch pages in the "key" bucket
	for i := range n {
		h = append(h, []op{put(fmt.Sprintf("/k/many/%04d", i), fmt.Sprintf("value %d %s", i, strings.Repeat("v", i%50)))})
	}
	for i := 0; i < n; i += 3 {
		h = append(h, []op{put(fmt.Sprintf("/k/many/%04d", i), fmt.Sprintf("rewritten %d", i))})
	}
	for i := 0; i < n; i += 7 {
		h = append(h, []op{del(fmt.Sprintf("/k/many/%04d", i))})
	}
	for i := 0; i < n; i += 14 {
		h = append(h, []op{put(fmt.Sprintf("/k/many/%04d", i), fmt.Sprintf("reborn %d", i))})
	}
	return h
}

// variants: the value each changes, to what.
var variants = []struct{ name, from, to string }{
	{"snapshot", "", ""},
	{"changed-live", "final value", "final valuE"},
	{"changed-old", "first value", "first valuE"},
}

func main() {
	for _, v := range variants {
		db, kvs := build(v.from, v.to)
		sum := sha256.Sum256(db)
		must(os.WriteFile(v.name+".db", append(db, sum[:]...), 0o644))
		b, err := json.MarshalIndent(kvs, "", "  ")
		must(err)
		must(os.WriteFile(v.name+".json", append(b, '\n'), 0o644))
	}
}

// kv is verify.KV's JSON form.
type kv struct{ Key, Value []byte }

// build writes the history as etcd's mvcc store would, one main revision
// per txn that changes something and one sub revision per change, and
// returns the snapshot stream and the keyspace left.
func build(from, to string) ([]byte, []kv) {
	dir, err := os.MkdirTemp("", "synthetic-*")
	must(err)
	defer os.RemoveAll(dir)
	db, err := bbolt.Open(filepath.Join(dir, "db"), 0o600, nil)
	must(err)
	defer db.Close()
	must(db.Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"key", "meta", "lease", "alarm", "auth", "authRoles", "authUsers", "cluster", "members", "members_removed"} {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("cluster")).Put([]byte("clusterVersion"), []byte("3.6.0"))
	}))

	live := map[string]*mvccpb.KeyValue{}
	rev := int64(1) // a new cluster's revision
	txns := history()
	for start := 0; start < len(txns); start += 40 { // a bbolt commit per batch, as etcd batches
		must(db.Update(func(tx *bbolt.Tx) error {
			keys := tx.Bucket([]byte("key"))
			keys.FillPercent = 0.9 // etcd's sequential puts
			for _, t := range txns[start:min(start+40, len(txns))] {
				main, sub := rev+1, int64(0)
				for _, o := range t {
					rk := make([]byte, 17, 18)
					binary.BigEndian.PutUint64(rk, uint64(main))
					rk[8] = '_'
					binary.BigEndian.PutUint64(rk[9:], uint64(sub))
					var v mvccpb.KeyValue
					if o.del {
						if live[o.key] == nil {
							continue // etcd writes no tombstone for an absent key
						}
						rk = append(rk, 't')
						v = mvccpb.KeyValue{Key: []byte(o.key)}
						delete(live, o.key)
					} else {
						val := o.val
						if from != "" && val == from {
							val = to
						}
						v = mvccpb.KeyValue{Key: []byte(o.key), Value: []byte(val), CreateRevision: main, ModRevision: main, Version: 1}
						if old := live[o.key]; old != nil {
							v.CreateRevision, v.Version = old.CreateRevision, old.Version+1
						}
						live[o.key] = &v
					}
					b, err := v.Marshal()
					if err != nil {
						return err
					}
					if err := keys.Put(rk, b); err != nil {
						return err
					}
					sub++
				}
				if sub > 0 {
					rev = main
				}
			}
			meta := tx.Bucket([]byte("meta"))
			ci := binary.BigEndian.AppendUint64(nil, uint64(rev+10))
			if err := meta.Put([]byte("consistent_index"), ci); err != nil {
				return err
			}
			if err := meta.Put([]byte("term"), binary.BigEndian.AppendUint64(nil, 2)); err != nil {
				return err
			}
			return meta.Put([]byte("storageVersion"), []byte("3.6.0"))
		}))
	}

	var snap bytes.Buffer
	must(db.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(&snap)
		return err
	}))
	kvs := make([]kv, 0, len(live))
	for k, v := range live {
		kvs = append(kvs, kv{[]byte(k), v.Value})
	}
	sort.Slice(kvs, func(i, j int) bool { return bytes.Compare(kvs[i].Key, kvs[j].Key) < 0 })
	return snap.Bytes(), kvs
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
