package fault

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"

	"github.com/etcdrill/etcdrill/recovery"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// boltEntry is one entry of a "key" bucket for a generated database.
type boltEntry struct {
	rev   int64
	tomb  bool
	key   string
	value string
}

// genBolt writes a small bbolt file as bbolt lays one out: two meta pages
// (with their FNV-64a checksums), an empty freelist page, the root
// bucket's leaf page holding the "key" bucket, and that bucket either
// inline (its page follows its header) or on a leaf page of its own.
func genBolt(t *testing.T, entries []boltEntry, inline bool) []byte {
	t.Helper()
	const ps = 4096
	le := binary.LittleEndian
	var elems [][2][]byte
	for _, e := range entries {
		k := make([]byte, 17, 18)
		binary.BigEndian.PutUint64(k, uint64(e.rev))
		k[8] = '_'
		if e.tomb {
			k = append(k, 't')
		}
		kv := mvccpb.KeyValue{Key: []byte(e.key), Value: []byte(e.value), ModRevision: e.rev, CreateRevision: e.rev, Version: 1}
		v, err := kv.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		elems = append(elems, [2][]byte{k, v})
	}
	leaf := func(id uint64, els [][2][]byte, flags []uint32) []byte {
		p := make([]byte, 16+16*len(els))
		le.PutUint64(p, id)
		le.PutUint16(p[8:], 0x02)
		le.PutUint16(p[10:], uint16(len(els)))
		for i, kv := range els {
			e := 16 + 16*i
			le.PutUint32(p[e:], flags[i])
			le.PutUint32(p[e+4:], uint32(len(p)-e))
			le.PutUint32(p[e+8:], uint32(len(kv[0])))
			le.PutUint32(p[e+12:], uint32(len(kv[1])))
			p = append(p, kv[0]...)
			p = append(p, kv[1]...)
		}
		return p
	}
	zeros := make([]uint32, len(elems))
	pages := 4
	hdr := make([]byte, 16)
	if inline {
		hdr = append(hdr, leaf(0, elems, zeros)...)
	} else {
		le.PutUint64(hdr, 4)
		pages = 5
	}
	db := make([]byte, pages*ps)
	for i := range 2 {
		m := db[i*ps:]
		le.PutUint64(m, uint64(i))
		le.PutUint16(m[8:], 0x04)
		b := m[16:]
		le.PutUint32(b, boltMagic)
		le.PutUint32(b[4:], 2)
		le.PutUint32(b[8:], ps)
		le.PutUint64(b[16:], 3)             // root bucket's page
		le.PutUint64(b[32:], 2)             // freelist
		le.PutUint64(b[40:], uint64(pages)) // high water
		le.PutUint64(b[48:], uint64(i+1))   // txid
		h := fnv.New64a()
		h.Write(b[:56])
		le.PutUint64(b[56:], h.Sum64())
	}
	le.PutUint64(db[2*ps:], 2)
	le.PutUint16(db[2*ps+8:], 0x10) // freelist, empty
	copy(db[3*ps:], leaf(3, [][2][]byte{{[]byte("key"), hdr}}, []uint32{0x01}))
	if !inline {
		copy(db[4*ps:], leaf(4, elems, zeros))
	}
	return db
}

func TestFlipDBValueGenerated(t *testing.T) {
	entries := []boltEntry{
		{2, false, "/a", "aaaaaaaaaaaa"},
		{3, false, "/b", "bbbbbbbbbbbb"},
		{4, false, "/c", "old-c-value"},
		{5, false, "/c", "cccccccccccc"},
		{6, false, "/d", "dddddddddddd"},
		{7, true, "/d", ""},
		{8, false, "/e", "eeeeeeeeeeee"},
	}
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			db := genBolt(t, entries, inline)
			vals, rev, err := liveValues(db)
			if err != nil {
				t.Fatalf("liveValues: %v", err)
			}
			if rev != 8 {
				t.Errorf("file revision %d, want 8", rev)
			}
			got := map[string]int64{}
			for _, v := range vals {
				got[v.key] = v.rev
				if want := bytes.Repeat([]byte(v.key[1:]), 12); !bytes.Equal(db[v.off:v.off+int64(v.len)], want) {
					t.Errorf("value of %s at byte %d is %q, want %q", v.key, v.off, db[v.off:v.off+int64(v.len)], want)
				}
			}
			// /c's newest value is at 5; /d is deleted.
			if want := map[string]int64{"/a": 2, "/b": 3, "/c": 5, "/e": 8}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("live values %v, want %v", got, want)
			}
			orig := bytes.Clone(db)
			f, err := FlipDBValue(db)
			if err != nil {
				t.Fatalf("FlipDBValue: %v", err)
			}
			if f.Key != "/c" || f.Revision != 5 || f.Offset != f.ValueOffset+6 {
				t.Errorf("flipped %+v, want the middle of /c's value at revision 5", f)
			}
			if n := diffBytes(orig, db); n != 1 || db[f.Offset] != orig[f.Offset]^0x01 {
				t.Errorf("%d bytes changed, want exactly byte %d flipped", n, f.Offset)
			}
		})
	}
}

// TestFlipDBValueRealFiles flips a value in db files etcd wrote (the
// fixtures of recovery's offline reader) and reads the result with that
// reader, which shares no code with the flip: the file must still be a
// readable database with as many keys, and its keyspace must differ.
func TestFlipDBValueRealFiles(t *testing.T) {
	for _, v := range []string{"3.5.35", "3.6.16", "3.7.3"} {
		t.Run(v, func(t *testing.T) {
			db, err := os.ReadFile(filepath.Join("..", "recovery", "testdata", "verifyfile", "v"+v, "db"))
			if err != nil {
				t.Fatal(err)
			}
			before, n, err := recovery.ReadKeyspaceDigest(db)
			if err != nil {
				t.Fatalf("digest of the good file: %v", err)
			}
			orig := bytes.Clone(db)
			f, err := FlipDBValue(db)
			if err != nil {
				t.Fatalf("FlipDBValue: %v", err)
			}
			if diffBytes(orig, db) != 1 || f.Offset < f.ValueOffset || f.Offset >= f.ValueOffset+int64(f.ValueLen) {
				t.Fatalf("flip %+v: want one byte changed inside the value", f)
			}
			after, m, err := recovery.ReadKeyspaceDigest(db)
			if err != nil {
				t.Fatalf("the flipped file no longer reads: %v", err)
			}
			if m != n || after == before {
				t.Errorf("after the flip: %d keys (want %d), digest changed %v (want true)", m, n, after != before)
			}
			if !bytes.Contains(orig, []byte(f.Key)) || f.Revision <= 0 || f.Revision > f.FileRevision {
				t.Errorf("flip %+v: key or revisions not from the file", f)
			}
		})
	}
}

func TestFlipDBValueRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   []byte
	}{
		{"empty", nil},
		{"not bbolt", bytes.Repeat([]byte{0x5a}, 8192)},
		{"no live key", nil},
		{"page outside the file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db
			switch tc.name {
			case "no live key":
				db = genBolt(t, []boltEntry{{2, false, "/a", "x"}, {3, true, "/a", ""}}, true)
			case "page outside the file":
				db = genBolt(t, []boltEntry{{2, false, "/a", "x"}}, false)
				db = db[:4*4096] // the bucket's page is cut off
			}
			if f, err := FlipDBValue(db); err == nil {
				t.Fatalf("FlipDBValue = %+v, want an error", f)
			}
		})
	}
}

// walFrame is one record frame: the length field (with padding bits) and
// the data, padded to 8 bytes as etcd's encoder pads it.
func walFrame(data []byte) []byte {
	pad := (8 - len(data)%8) % 8
	lf := uint64(len(data))
	if pad > 0 {
		lf |= uint64(0x80|pad) << 56
	}
	out := binary.LittleEndian.AppendUint64(nil, lf)
	out = append(out, data...)
	return append(out, make([]byte, pad)...)
}

func TestGarbleWALTail(t *testing.T) {
	recs := [][]byte{bytes.Repeat([]byte{1}, 13), bytes.Repeat([]byte{2}, 40), bytes.Repeat([]byte{3}, 21)}
	var seg []byte
	for _, r := range recs {
		seg = append(seg, walFrame(r)...)
	}
	last := int64(len(walFrame(recs[0])) + len(walFrame(recs[1])))
	seg = append(seg, make([]byte, 4096)...) // preallocated
	for _, tc := range []struct {
		name string
		seg  []byte
		rec  int64
		n    int
	}{
		{"last of three, then preallocated zeros", seg, last, 21},
		{"the file ends at the last frame", seg[:len(seg)-4096], last, 21},
		{"a record shorter than the garble", walFrame([]byte{7, 7, 7}), 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := bytes.Clone(tc.seg)
			g, err := GarbleWALTail(w)
			if err != nil {
				t.Fatalf("GarbleWALTail: %v", err)
			}
			n := min(walGarb, tc.n)
			if g.Record != tc.rec || g.RecordLen != tc.n || len(g.After) != n {
				t.Fatalf("garbled %+v, want record at %d of %d bytes, %d bytes garbled", g, tc.rec, tc.n, n)
			}
			if g.Offset < tc.rec+8 || g.Offset+int64(n) > tc.rec+8+int64(tc.n) {
				t.Errorf("garbled bytes %d..%d outside the record's data", g.Offset, g.Offset+int64(n))
			}
			if diffBytes(tc.seg, w) != n {
				t.Errorf("%d bytes changed, want %d", diffBytes(tc.seg, w), n)
			}
			if bytes.Count(g.After, []byte{0}) == n {
				t.Error("the garbled bytes are all zero: etcd would take the record for a torn write")
			}
		})
	}
	// A record as etcd frames it: type 2 (an entry), a crc, and the
	// entry as data. Only the data may change.
	payload := []byte{0x08, 0x02, 0x10, 0xd5, 0x01, 0x18, 0x00, 0x22, 0x04, 'a', 'b', 'c', 'd', 0x99, 0x77, 0x10}
	rec := append([]byte{0x08, 0x02, 0x10, 0xa4, 0xd6, 0x9d, 0xea, 0x0b, 0x1a, byte(len(payload))}, payload...)
	w := append(walFrame([]byte{1, 2, 3}), walFrame(rec)...)
	w = append(w, make([]byte, 512)...)
	orig := bytes.Clone(w)
	g, err := GarbleWALTail(w)
	if err != nil {
		t.Fatalf("GarbleWALTail: %v", err)
	}
	recAt := int64(len(walFrame([]byte{1, 2, 3})))
	if g.Record != recAt || g.Payload != recAt+8+10 || g.PayloadLen != len(payload) {
		t.Errorf("garbled %+v, want the record at %d with its payload at %d", g, recAt, recAt+18)
	}
	if g.Offset != g.Payload+4 || diffBytes(orig, w) != 8 {
		t.Errorf("garbled %d bytes from %d, want 8 from %d (the payload's middle)", diffBytes(orig, w), g.Offset, g.Payload+4)
	}
	if off, n, ok := protoBytesField(w[recAt+8:recAt+8+int64(len(rec))], 3); !ok || n != len(payload) || int64(off) != 10 {
		t.Errorf("the garbled record's framing changed: data field %d+%d, %v", off, n, ok)
	}
	for _, bad := range [][]byte{nil, make([]byte, 64), append(binary.LittleEndian.AppendUint64(nil, 100), 1, 2, 3)} {
		if g, err := GarbleWALTail(bytes.Clone(bad)); err == nil {
			t.Errorf("GarbleWALTail(%d bytes) = %+v, want an error", len(bad), g)
		}
	}
}

func TestProtoBytesField(t *testing.T) {
	kv := mvccpb.KeyValue{Key: []byte("/k"), CreateRevision: 300, ModRevision: 1 << 40, Version: 2, Value: []byte("value!"), Lease: 7}
	b, err := kv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	off, n, ok := protoBytesField(b, 5)
	if !ok || string(b[off:off+n]) != "value!" {
		t.Errorf("field 5 = %q, %v; want value!", b[off:off+n], ok)
	}
	if off, n, ok := protoBytesField(b, 1); !ok || string(b[off:off+n]) != "/k" {
		t.Errorf("field 1 = %v; want /k", ok)
	}
	if _, _, ok := protoBytesField(b[:len(b)-3], 5); ok {
		t.Error("a cut message must not yield the field")
	}
}

func diffBytes(a, b []byte) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n + max(len(a), len(b)) - min(len(a), len(b))
}
