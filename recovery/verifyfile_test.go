package recovery

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/verify"
)

// The fixtures under testdata/verifyfile come from real one-member
// clusters of each version (gen.go there): a saved snapshot, the stopped
// member's db file, and what etcdutl 3.7.3 snapshot status says of both.
var fixtureVersions = []string{"3.5.35", "3.6.16", "3.7.3"}

func fixture(t testing.TB, version, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "verifyfile", "v"+version, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadStatusMatchesEtcdutl(t *testing.T) {
	for _, v := range fixtureVersions {
		var want map[string]SnapshotStatus
		if err := json.Unmarshal(fixture(t, v, "status.json"), &want); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"snapshot.db", "db"} {
			t.Run(v+"/"+name, func(t *testing.T) {
				got, err := ReadStatus(fixture(t, v, name))
				if err != nil {
					t.Fatalf("ReadStatus: %v", err)
				}
				if got != want[name] {
					t.Errorf("ReadStatus = %+v\netcdutl says %+v", got, want[name])
				}
			})
		}
	}
}

func TestReadSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	snap := fixture(t, "3.6.16", "snapshot.db")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wantDigest, wantKeys := verify.Digest(kvList(genKeyspace("3.6.16")))
	for _, tc := range []struct {
		name     string
		path     string
		bad      error // wrapped with ErrBadInput
		kind     IntegrityKind
		accept   bool // Accept(false)
		skipping bool // Accept(true)
		status   bool // Status read
	}{
		{name: "valid", path: write("valid.db", snap), kind: Valid, accept: true, skipping: true, status: true},
		{name: "db file", path: write("db", fixture(t, "3.6.16", "db")), kind: NoHash, skipping: true, status: true},
		{name: "flipped byte", path: write("flipped.db", flipInValue(t, snap)), kind: HashMismatch, status: true},
		{name: "truncated", path: write("truncated.db", snap[:len(snap)/2]), kind: Truncated},
		{name: "missing", path: filepath.Join(dir, "nope.db"), bad: fs.ErrNotExist},
		{name: "directory", path: dir, bad: ErrBadInput},
		{name: "empty", path: write("empty.db", nil), bad: ErrEmpty},
		{name: "not a snapshot", path: write("text.db", []byte(strings.Repeat("not a snapshot\n", 400))), bad: ErrNotSnapshot},
		{name: "unreadable", path: write("unreadable.db", snap), bad: fs.ErrPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bad == fs.ErrPermission {
				tc.path = unreadablePath(t, tc.path)
			}
			f, err := ReadSnapshotFile(tc.path)
			if tc.bad != nil {
				if !errors.Is(err, ErrBadInput) || !errors.Is(err, tc.bad) || f != nil {
					t.Fatalf("ReadSnapshotFile = %v, %v; want ErrBadInput wrapping %v", f, err, tc.bad)
				}
				if !strings.Contains(err.Error(), tc.path) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadSnapshotFile: %v", err)
			}
			if f.Integrity.Kind != tc.kind {
				t.Errorf("kind %s, want %s", f.Integrity.Kind, tc.kind)
			}
			if got := f.Accept(false) == nil; got != tc.accept {
				t.Errorf("Accept(false) = %v, want accepted %v", f.Accept(false), tc.accept)
			}
			if got := f.Accept(true) == nil; got != tc.skipping {
				t.Errorf("Accept(true) = %v, want accepted %v", f.Accept(true), tc.skipping)
			}
			if (f.Status != nil) != tc.status {
				t.Errorf("status %v (err %v), want read %v", f.Status, f.StatusErr, tc.status)
			}
			switch {
			case !tc.status:
				if f.Digest != "" || f.KeyCount != 0 {
					t.Errorf("digest %q of %d keys from an unread file", f.Digest, f.KeyCount)
				}
			case tc.kind == HashMismatch: // the flipped value may be live or not
				if len(f.Digest) != 64 || f.KeyCount != wantKeys {
					t.Errorf("digest %q of %d keys, want one of %d keys", f.Digest, f.KeyCount, wantKeys)
				}
			default:
				if f.Digest != wantDigest || f.KeyCount != wantKeys {
					t.Errorf("digest %s of %d keys, want %s of %d (gen.go's history)", f.Digest, f.KeyCount, wantDigest, wantKeys)
				}
				b, _ := json.Marshal(f)
				if want := fmt.Sprintf(`"keyspace_digest":"%s","key_count":%d`, wantDigest, wantKeys); !strings.Contains(string(b), want) {
					t.Errorf("JSON %s lacks %s", b, want)
				}
			}
		})
	}
}

// unreadablePath returns a regular file this process cannot read: the
// file at modeZero, set to mode 0, when that suffices (not root); else a
// write-only procfs file, whose mode bits procfs enforces even for root.
// Without one the test skips, but fails under CI=true: CI runs as root,
// and there a skip would leave the case untested without a word.
func unreadablePath(t *testing.T, modeZero string) string {
	t.Helper()
	if err := os.Chmod(modeZero, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{modeZero, "/proc/sys/vm/compact_memory", "/proc/sys/vm/drop_caches"} {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if _, err := os.ReadFile(p); errors.Is(err, fs.ErrPermission) {
			t.Logf("unreadable file: %s (euid %d)", p, os.Geteuid())
			return p
		}
	}
	const why = "no file here is unreadable to this process (euid %d): a mode-0 file is readable, and no write-only procfs file refuses a read"
	if os.Getenv("CI") == "true" {
		t.Fatalf(why, os.Geteuid())
	}
	t.Skipf(why, os.Geteuid())
	return ""
}

// genKeyspace is the keyspace gen.go's history leaves in the fixtures of
// etcd version v, found by applying that history to a map: the answer the
// offline reader must reach on its own. Keep it in step with gen.go.
func genKeyspace(v string) map[string]string {
	n := map[string]int{"3.5.35": 12, "3.6.16": 400, "3.7.3": 12}[v]
	ks := map[string]string{}
	for i := range n {
		ks[fmt.Sprintf("/fixture/key-%04d", i)] = fmt.Sprintf("%064x", i*7919)
	}
	for i := 0; i < n; i += 4 {
		ks[fmt.Sprintf("/fixture/key-%04d", i)] = fmt.Sprintf("overwritten-%d", i)
	}
	for i := 1; i < n; i += 6 {
		delete(ks, fmt.Sprintf("/fixture/key-%04d", i))
	}
	ks["/fixture/large"] = strings.Repeat("L", 10000)
	// /fixture/deleted-again is put, then deleted.
	return ks
}

// kvList is m as the key-values verify.Digest takes, in no order.
func kvList(m map[string]string) []verify.KV {
	kvs := make([]verify.KV, 0, len(m))
	for k, v := range m {
		kvs = append(kvs, verify.KV{Key: []byte(k), Value: []byte(v)})
	}
	return kvs
}

// readKeys reads data through both passes of the offline reader: the
// status, and the live keys with their values as pass 2 yields them,
// which must be in ascending order.
func readKeys(t *testing.T, data []byte) (SnapshotStatus, map[string]string) {
	t.Helper()
	r := bytes.NewReader(data)
	st, ix, err := readDB(r, int64(len(data)))
	if err != nil {
		t.Fatalf("readDB: %v", err)
	}
	ks := map[string]string{}
	var prev []byte
	err = ix.each(r, func(k, v []byte) error {
		if len(ks) > 0 && bytes.Compare(prev, k) >= 0 {
			t.Errorf("key %q after %q: not in ascending order", k, prev)
		}
		prev = append(prev[:0], k...)
		ks[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatalf("each: %v", err)
	}
	if len(ks) != st.TotalKey {
		t.Errorf("%d keys read back, the status counts %d", len(ks), st.TotalKey)
	}
	return st, ks
}

// sameKeyspace reports the first difference between what the reader left
// live and want, for a readable failure.
func sameKeyspace(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		} else if g != v {
			t.Errorf("key %q = %.40q, want %.40q", k, g, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("key %q is live, want absent", k)
		}
	}
}

// TestReadKeyspaceDigestRealFixtures: from the files of real clusters,
// the offline digest is verify.Digest of the keyspace gen.go's history
// leaves: each overwritten key with its last value, no deleted key.
func TestReadKeyspaceDigestRealFixtures(t *testing.T) {
	for _, v := range fixtureVersions {
		var status map[string]SnapshotStatus
		if err := json.Unmarshal(fixture(t, v, "status.json"), &status); err != nil {
			t.Fatal(err)
		}
		want := genKeyspace(v)
		wantDigest, wantKeys := verify.Digest(kvList(want))
		for _, name := range []string{"snapshot.db", "db"} {
			t.Run(v+"/"+name, func(t *testing.T) {
				data := fixture(t, v, name)
				_, ks := readKeys(t, data)
				sameKeyspace(t, ks, want)
				digest, keys, err := ReadKeyspaceDigest(data)
				if err != nil {
					t.Fatalf("ReadKeyspaceDigest: %v", err)
				}
				if digest != wantDigest || keys != wantKeys {
					t.Errorf("ReadKeyspaceDigest = %s, %d keys; verify.Digest of the history = %s, %d keys", digest, keys, wantDigest, wantKeys)
				}
				if keys != status[name].TotalKey {
					t.Errorf("%d keys, etcdutl counts %d", keys, status[name].TotalKey)
				}
			})
		}
	}
}

// TestReadKeyspaceDigestValueChanges changes one value in a real db file:
// a live value changes the digest (to that of the changed keyspace), a
// value an overwrite replaced does not (though etcdutl's hash sees it).
func TestReadKeyspaceDigestValueChanges(t *testing.T) {
	for _, v := range fixtureVersions {
		t.Run(v, func(t *testing.T) {
			db := fixture(t, v, "db")
			base := genKeyspace(v)
			baseDigest, _ := verify.Digest(kvList(base))
			baseStatus, err := ReadStatus(db)
			if err != nil {
				t.Fatal(err)
			}

			live := fmt.Sprintf("%064x", 2*7919) // key-0002: never overwritten or deleted
			changed := live[:63] + "f"
			if base["/fixture/key-0002"] != live || live == changed {
				t.Fatal("the history no longer leaves key-0002 as this test expects")
			}
			digest, _, err := ReadKeyspaceDigest(replaceOnce(t, db, live, changed))
			if err != nil {
				t.Fatal(err)
			}
			base["/fixture/key-0002"] = changed
			want, _ := verify.Digest(kvList(base))
			if digest == baseDigest || digest != want {
				t.Errorf("live value changed: digest %s, want %s (unchanged %s)", digest, want, baseDigest)
			}

			old := fmt.Sprintf("%064x", 4*7919) // key-0004 before its overwrite
			b := replaceOnce(t, db, old, old[:63]+"f")
			digest, _, err = ReadKeyspaceDigest(b)
			if err != nil {
				t.Fatal(err)
			}
			if digest != baseDigest {
				t.Errorf("a value no longer live changed the digest: %s, want %s", digest, baseDigest)
			}
			if st, _ := ReadStatus(b); st.Hash == baseStatus.Hash {
				t.Error("the old value was not changed where the reader reads: etcdutl's hash is the same")
			}
		})
	}
}

// replaceOnce returns a copy of data with old, which must occur exactly
// once, replaced by repl of the same length.
func replaceOnce(t *testing.T, data []byte, old, repl string) []byte {
	t.Helper()
	if n := bytes.Count(data, []byte(old)); n != 1 || len(old) != len(repl) {
		t.Fatalf("%q occurs %d times (want once), or the replacement changes its length", old, n)
	}
	return bytes.Replace(data, []byte(old), []byte(repl), 1)
}

// TestReadKeyspaceDigestSynthetic reads the databases bbolt wrote for
// histories the real fixtures lack (testdata/verifyfile/synthetic/gen.go):
// keys deleted and re-created, several changes in one txn, an empty
// value, a key that is the prefix of another, binary keys. Each digest is
// verify.Digest of the keyspace the generator's map holds; one live value
// one byte off changes it, an old value one byte off does not.
func TestReadKeyspaceDigestSynthetic(t *testing.T) {
	dir := filepath.Join("testdata", "verifyfile", "synthetic")
	digests := map[string]string{}
	hashes := map[string]uint32{}
	for _, variant := range []string{"snapshot", "changed-live", "changed-old"} {
		t.Run(variant, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, variant+".db"))
			if err != nil {
				t.Fatal(err)
			}
			js, err := os.ReadFile(filepath.Join(dir, variant+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var kvs []verify.KV
			if err := json.Unmarshal(js, &kvs); err != nil {
				t.Fatal(err)
			}
			want, wantKeys := verify.Digest(kvs)
			if in, err := CheckSnapshot(data); err != nil {
				t.Fatalf("CheckSnapshot: %v (%s)", err, in.Kind)
			}
			digest, keys, err := ReadKeyspaceDigest(data)
			if err != nil {
				t.Fatalf("ReadKeyspaceDigest: %v", err)
			}
			if digest != want || keys != wantKeys {
				t.Errorf("ReadKeyspaceDigest = %s, %d keys; verify.Digest of %s.json = %s, %d keys", digest, keys, variant, want, wantKeys)
			}
			st, ks := readKeys(t, data)
			if st.TotalKey != keys {
				t.Errorf("status counts %d keys, the digest %d", st.TotalKey, keys)
			}
			digests[variant], hashes[variant] = digest, st.Hash
			if variant != "snapshot" {
				return
			}
			for k, v := range map[string]string{
				"/k/overwritten": "final value",      // the last of three puts
				"/k/recreated":   "after the delete", // put, deleted, put again
				"/k/txn-b":       "B2",               // overwritten in a txn that deletes another key
				"/k/empty":       "",
				"/k/a":           "a prefix of the next key",
				"/k/a\x00":       "one byte longer",
				"\x00":           "the lowest key",
				"\xff\xfe":       "the highest key",
			} {
				if got, ok := ks[k]; !ok || got != v {
					t.Errorf("key %q = %q (live %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range []string{"/k/deleted", "/k/recreated-deleted", "/k/txn-a", "/k/txn-c", "/k/txn-d", "/k/many/0007", "/k/many/0021"} {
				if _, ok := ks[k]; ok {
					t.Errorf("deleted key %q is live", k)
				}
			}
			if got := ks["/k/many/0014"]; got != "reborn 14" {
				t.Errorf("/k/many/0014 = %q, want %q", got, "reborn 14")
			}
		})
	}
	if digests["changed-live"] == digests["snapshot"] {
		t.Errorf("a live value one byte off leaves the digest %s", digests["snapshot"])
	}
	if digests["changed-old"] != digests["snapshot"] {
		t.Errorf("an overwritten value one byte off changes the digest: %s, want %s", digests["changed-old"], digests["snapshot"])
	}
	if hashes["changed-old"] == hashes["snapshot"] {
		t.Error("changed-old.db reads the same as snapshot.db: etcdutl's hash is equal")
	}
}

// TestKeyspaceDigestIsVerifyDigest: the offline digest, fed the keys in
// ascending order as pass 2 yields them, and verify.Digest agree on any
// keyspace, whatever order verify.Digest gets the keys in, with empty
// values, binary keys and keys that prefix others.
func TestKeyspaceDigestIsVerifyDigest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		ks := map[string][]byte{}
		for range r.IntN(50) * (i % 2) { // every other keyspace empty
			k := make([]byte, 1+r.IntN(12))
			for j := range k {
				k[j] = "a/\x00\xff"[r.IntN(4)]
			}
			v := make([]byte, r.IntN(20))
			for j := range v {
				v[j] = byte(r.Uint32())
			}
			ks[string(k)] = v
		}
		d := newKeyspaceDigest()
		for _, k := range slices.Sorted(maps.Keys(ks)) {
			d.add([]byte(k), ks[k])
		}
		var kvs []verify.KV
		for k, v := range ks {
			kvs = append(kvs, verify.KV{Key: []byte(k), Value: v})
		}
		r.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
		gotDigest, gotKeys := d.sum()
		wantDigest, wantKeys := verify.Digest(kvs)
		if gotDigest != wantDigest || gotKeys != wantKeys {
			t.Fatalf("keyspace %q: digest %s of %d keys, verify.Digest %s of %d", ks, gotDigest, gotKeys, wantDigest, wantKeys)
		}
	}
}

// flipInValue flips one bit inside the first 64-hex-digit value, so the
// database stays readable and only the appended hash tells.
func flipInValue(t testing.TB, snap []byte) []byte {
	i := strings.Index(string(snap), strings.Repeat("0", 40)) // key-0000's value is all zeros
	if i < 0 {
		t.Fatal("no value to flip in the fixture")
	}
	return flip(snap, i+20)
}

// TestReadStatusDamage plants damage in the pages of a db file; each must
// come back as ErrCorrupt, never as a panic or a wrong status.
func TestReadStatusDamage(t *testing.T) {
	db := fixture(t, "3.6.16", "db")
	in, _ := CheckSnapshot(db)
	bo, ps := binary.LittleEndian, in.PageSize
	for _, tc := range []struct {
		name  string
		plant func(b []byte)
	}{
		{"page id of every page zeroed", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint64(b[p*ps:], 0)
			}
		}},
		{"element counts at maximum", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint16(b[p*ps+10:], 0xffff)
			}
		}},
		{"page flags garbage", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint16(b[p*ps+8:], 0x80)
			}
		}},
		{"element offsets past the page", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				if bo.Uint16(b[p*ps+8:]) == leafPageFlag && bo.Uint16(b[p*ps+10:]) > 0 {
					bo.PutUint32(b[p*ps+pageHeaderSize+4:], 1<<31)
				}
			}
		}},
		{"children point to one page", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				if bo.Uint16(b[p*ps+8:]) != branchPageFlag {
					continue
				}
				for i := range int(bo.Uint16(b[p*ps+10:])) {
					bo.PutUint64(b[p*ps+pageHeaderSize+i*pageElementSize+8:], uint64(p))
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), db...)
			tc.plant(b)
			st, err := ReadStatus(b)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("ReadStatus = %+v, %v; want ErrCorrupt", st, err)
			}
		})
	}
}

// TestReadStatusRandomDamage corrupts random bytes of every fixture: each
// read must end in a status or an error, and no error may come from the
// last-resort recover (a runtime error means an unchecked offset).
func TestReadStatusRandomDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range fixtureVersions {
		db := fixture(t, v, "db")
		in, _ := CheckSnapshot(db)
		for range 3000 {
			b := append([]byte(nil), db...)
			for range 1 + r.IntN(8) {
				at := 2*in.PageSize + r.IntN(len(b)-2*in.PageSize) // keep the meta pages
				b[at] = byte(r.Uint32())
			}
			if _, err := ReadStatus(b); err != nil && strings.Contains(err.Error(), "runtime error") {
				t.Fatalf("etcd %s db: %v", v, err)
			}
		}
	}
}

// FuzzReadStatus: whatever the bytes, ReadStatus returns; it never panics.
func FuzzReadStatus(f *testing.F) {
	for _, v := range fixtureVersions {
		f.Add(fixture(f, v, "db"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ReadStatus(b); err != nil && strings.Contains(err.Error(), "runtime error") {
			t.Fatal(err)
		}
	})
}

func TestServerReason(t *testing.T) {
	for _, tc := range []struct{ name, logs, want string }{
		{"3.7 data dir on 3.6", `{"level":"info","msg":"recovered v3 backend"}
{"level":"error","caller":"etcdserver/bootstrap.go:240","msg":"Failed to validate schema","error":"version \"3.7.0\" is not supported","stacktrace":"..."}
{"level":"error","msg":"bootstrap failed","error":"version \"3.7.0\" is not supported"}
{"level":"info","msg":"closing etcd server"}
{"level":"fatal","msg":"discovery failed","error":"version \"3.7.0\" is not supported"}`,
			`Failed to validate schema: version "3.7.0" is not supported`},
		{"no fatal line", `{"level":"warn","msg":"slow"}
{"level":"error","msg":"first","error":"a"}
{"level":"error","msg":"second","error":"b"}`, "second: b"},
		{"fatal without error field", `{"level":"fatal","msg":"cannot listen"}`, "cannot listen"},
		{"plain text", "starting\npanic: boom\n\n", "panic: boom"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServerReason(tc.logs); got != tc.want {
				t.Errorf("ServerReason = %q, want %q", got, tc.want)
			}
		})
	}
}
