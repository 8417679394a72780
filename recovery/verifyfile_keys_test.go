package recovery

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/verify"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// fileKeys reads the file at path with ReadSnapshotFile and returns its
// live keys as Keys yields them, in that order.
func fileKeys(t *testing.T, path string) (*SnapshotFile, []verify.KV) {
	t.Helper()
	f, err := ReadSnapshotFile(path)
	if err != nil {
		t.Fatalf("ReadSnapshotFile: %v", err)
	}
	var kvs []verify.KV
	err = f.Keys(func(k, v []byte) error {
		kvs = append(kvs, verify.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	return f, kvs
}

// sortedKVs is m as key-values in ascending key order.
func sortedKVs(m map[string]string) []verify.KV {
	kvs := make([]verify.KV, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kvs = append(kvs, verify.KV{Key: []byte(k), Value: []byte(m[k])})
	}
	return kvs
}

// sameKVs reports the first place where got, as Keys yielded it, departs
// from want, in ascending key order.
func sameKVs(t *testing.T, got, want []verify.KV) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("key %d: %q = %.40q, want %q = %.40q", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d", len(got), len(want))
	}
}

// TestSnapshotFileKeys: Keys yields every live key once, in ascending
// bytewise order, with the value of its newest revision, and no key
// whose newest revision is a tombstone: the keyspace each history leaves,
// in synthetic files (deletes, re-creates, binary keys, a key that is a
// prefix of another), in the files of real clusters, and in a generated
// file whose branch pages span several levels. The digest ReadSnapshotFile
// computes from the same iteration is verify.Digest of that keyspace.
func TestSnapshotFileKeys(t *testing.T) {
	for _, variant := range []string{"snapshot", "changed-live", "changed-old"} {
		t.Run("synthetic/"+variant, func(t *testing.T) {
			dir := filepath.Join("testdata", "verifyfile", "synthetic")
			js, err := os.ReadFile(filepath.Join(dir, variant+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want []verify.KV // sorted by the generator
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			f, got := fileKeys(t, filepath.Join(dir, variant+".db"))
			sameKVs(t, got, want)
			for _, kv := range got {
				if k := string(kv.Key); k == "/k/deleted" || k == "/k/recreated-deleted" || k == "/k/many/0007" {
					t.Errorf("deleted key %q yielded", k)
				}
			}
			if d, n := verify.Digest(want); f.Digest != d || f.KeyCount != n {
				t.Errorf("digest %s of %d keys, want %s of %d", f.Digest, f.KeyCount, d, n)
			}
			// Without the index ReadSnapshotFile kept, Keys walks the file
			// again, to the same keys.
			again := *f
			again.index = nil
			got = got[:0]
			if err := again.Keys(func(k, v []byte) error {
				got = append(got, verify.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			sameKVs(t, got, want)
		})
	}
	for _, v := range fixtureVersions {
		for _, name := range []string{"snapshot.db", "db"} {
			t.Run("v"+v+"/"+name, func(t *testing.T) {
				_, got := fileKeys(t, filepath.Join("testdata", "verifyfile", "v"+v, name))
				sameKVs(t, got, sortedKVs(genKeyspace(v)))
			})
		}
	}
	t.Run("generated", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gen.db")
		want, n, err := writeGenSnapshot(path, genSpec{keys: 20000, value: 100}, true)
		if err != nil {
			t.Fatal(err)
		}
		f, got := fileKeys(t, path)
		if f.Integrity.Kind != Valid || f.Status.TotalKey != n || len(want) != n {
			t.Fatalf("%s, %d keys; want valid, %d keys", f.Integrity.Kind, f.Status.TotalKey, n)
		}
		sameKVs(t, got, sortedKVs(want))
	})
}

// TestSnapshotFileKeysStops: fn's error ends the walk and comes back as
// it is.
func TestSnapshotFileKeysStops(t *testing.T) {
	f, err := ReadSnapshotFile(filepath.Join("testdata", "verifyfile", "synthetic", "snapshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	calls := 0
	err = f.Keys(func(k, v []byte) error {
		if calls++; calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("Keys = %v after %d calls, want %v after 3", err, calls, stop)
	}
}

// TestSnapshotFileKeysConcurrent: calls of Keys on one file may overlap;
// each yields every key (run with -race).
func TestSnapshotFileKeysConcurrent(t *testing.T) {
	f, err := ReadSnapshotFile(filepath.Join("testdata", "verifyfile", "synthetic", "snapshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			d := newKeyspaceDigest()
			err := f.Keys(func(k, v []byte) error { d.add(k, v); return nil })
			if sum, n := d.sum(); err == nil && (sum != f.Digest || n != f.KeyCount) {
				err = fmt.Errorf("digest %s of %d keys, want %s of %d", sum, n, f.Digest, f.KeyCount)
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSnapshotFileKeysFileChanged: Keys reads the file again, so it
// refuses one that changed since ReadSnapshotFile read it, and cannot
// walk one that was not readable then.
func TestSnapshotFileKeysFileChanged(t *testing.T) {
	dir := t.TempDir()
	synthetic := filepath.Join("testdata", "verifyfile", "synthetic")
	snap, err := os.ReadFile(filepath.Join(synthetic, "snapshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join(synthetic, "changed-live.db"))
	if err != nil || len(other) != len(snap) {
		t.Fatalf("changed-live.db: %v, %d bytes; want as many as snapshot.db", err, len(other))
	}
	path := filepath.Join(dir, "snapshot.db")
	read := func(data []byte) *SnapshotFile {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := ReadSnapshotFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	noop := func(k, v []byte) error { return nil }

	f := read(snap)
	if err := os.WriteFile(path, other, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if err := f.Keys(noop); err == nil || !strings.Contains(err.Error(), "changed since it was read") {
		t.Errorf("Keys of a rewritten file = %v, want it changed", err)
	}

	f = read(snap)
	if err := os.WriteFile(path, snap[:len(snap)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Keys(noop); err == nil || !strings.Contains(err.Error(), "changed since it was read") {
		t.Errorf("Keys of a cut file = %v, want it changed", err)
	}

	f = read(snap)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Keys(noop); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Keys of a removed file = %v, want fs.ErrNotExist", err)
	}

	f = read(snap[:len(snap)/2])
	if err := f.Keys(noop); !errors.Is(err, ErrTruncated) {
		t.Errorf("Keys of a truncated file = %v, want ErrTruncated", err)
	}
}

// TestReadSnapshotFileDamagedPages plants damage in the pages of files:
// ReadSnapshotFile returns them with StatusErr wrapping ErrCorrupt (and
// Keys refuses them the same way), never a panic, whether the damage
// shows in the appended hash (a snapshot) or nothing else tells (a db
// file).
func TestReadSnapshotFileDamagedPages(t *testing.T) {
	dir := t.TempDir()
	db := fixture(t, "3.6.16", "db")
	in, _ := CheckSnapshot(db)
	bo, ps := binary.LittleEndian, in.PageSize
	for _, tc := range []struct {
		name  string
		plant func(b []byte)
	}{
		{"page flags garbage", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint16(b[p*ps+8:], 0x80)
			}
		}},
		{"overflow counts at maximum", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint32(b[p*ps+12:], 0xffffffff)
			}
		}},
		{"element offsets past the page", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				if bo.Uint16(b[p*ps+8:]) == leafPageFlag && bo.Uint16(b[p*ps+10:]) > 0 {
					bo.PutUint32(b[p*ps+pageHeaderSize+4:], 1<<31)
				}
			}
		}},
	} {
		for _, hashed := range []bool{false, true} {
			b := append([]byte(nil), db...)
			tc.plant(b)
			kind := NoHash
			if hashed {
				b, kind = append(b, make([]byte, 32)...), HashMismatch
			}
			t.Run(tc.name+"/"+string(kind), func(t *testing.T) {
				path := filepath.Join(dir, "damaged.db")
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := ReadSnapshotFile(path)
				if err != nil {
					t.Fatalf("ReadSnapshotFile: %v", err)
				}
				if f.Integrity.Kind != kind || f.Status != nil || !errors.Is(f.StatusErr, ErrCorrupt) || f.Digest != "" {
					t.Errorf("%s, status %v, %v, digest %q; want %s, no status, ErrCorrupt", f.Integrity.Kind, f.Status, f.StatusErr, f.Digest, kind)
				}
				if err := f.Keys(func(k, v []byte) error { return nil }); !errors.Is(err, ErrCorrupt) {
					t.Errorf("Keys = %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

// TestReadSnapshotFileMemory: reading a file allocates a small fraction
// of its size, whatever its values: the file is streamed, its values are
// read one at a time and not kept. A reader that loaded the file, or held
// every live value, would allocate more than the file.
func TestReadSnapshotFileMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "large-values.db")
	if _, _, err := writeGenSnapshot(path, genSpec{keys: 1000, value: 16 << 10}, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := ReadSnapshotFile(path)
	runtime.ReadMemStats(&after)
	if err != nil || f.Status == nil {
		t.Fatalf("ReadSnapshotFile: %v (status %v)", err, f.StatusErr)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB file of %d live keys: %d KiB allocated", fi.Size()>>20, f.KeyCount, alloc>>10)
	if alloc > uint64(fi.Size())/4 {
		t.Errorf("reading a %d-byte file allocated %d bytes: more than a quarter of it", fi.Size(), alloc)
	}
}

// TestKeyIndexModel drives the index of live keys (pass 1's hash table)
// with random puts and deletes, over enough keys to grow its table many
// times and with deletes enough to reuse its entries and slots, and
// checks it against a map: the live count, then every key with its newest
// value in ascending order (pass 2).
func TestKeyIndexModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := newKeyIndex()
	model := map[string]string{}
	var file []byte // the encoded values, as a file holds them
	for op := range 200_000 {
		k := fmt.Sprintf("/k/%d", r.IntN(20_000))
		if op > 100_000 && op%3 == 0 { // later, many deletes
			ix.remove([]byte(k))
			delete(model, k)
			continue
		}
		v := fmt.Sprintf("value %d", op)
		b, err := (&mvccpb.KeyValue{Key: []byte(k), Value: []byte(v)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.put([]byte(k), int64(len(file)), uint32(len(b))); err != nil {
			t.Fatal(err)
		}
		file = append(file, b...)
		model[k] = v
	}
	if ix.len() != len(model) {
		t.Fatalf("%d live keys, want %d", ix.len(), len(model))
	}
	for range 2 { // sorted once, read back as often as asked
		var got []verify.KV
		err := ix.each(bytes.NewReader(file), func(k, v []byte) error {
			got = append(got, verify.KV{Key: bytes.Clone(k), Value: bytes.Clone(v)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameKVs(t, got, sortedKVs(model))
	}
}

// TestIndexEntryPacking: an index entry gives back the positions and the
// length it was made of, at their limits.
func TestIndexEntryPacking(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 10000 {
		pos, voff, vlen := r.Uint64N(posMask+1), r.Int64N(posMask+1), r.Uint32()
		if i == 0 {
			pos, voff, vlen = posMask, posMask, math.MaxUint32
		}
		en := makeEntry(pos, voff, vlen)
		if en.keyPos() != pos || en.voff() != voff || en.vlen() != vlen {
			t.Fatalf("makeEntry(%d, %d, %d) gives back %d, %d, %d", pos, voff, vlen, en.keyPos(), en.voff(), en.vlen())
		}
	}
}
