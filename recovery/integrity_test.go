package recovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPageSize = 4096

// boltDB builds a bbolt-shaped database of size pages whose meta pages
// say it uses pgid pages: both meta pages valid (txid 7 and 6, as
// bbolt's Tx.WriteTo writes them), the rest random bytes.
func boltDB(size, pgid int, bo binary.ByteOrder) []byte {
	db := make([]byte, size*testPageSize)
	r := rand.New(rand.NewPCG(uint64(size), uint64(pgid)))
	for i := 2 * testPageSize; i < len(db); i++ {
		db[i] = byte(r.Uint32())
	}
	putMeta(db, 0, uint64(pgid), 7, bo)
	putMeta(db, 1, uint64(pgid), 6, bo)
	return db
}

func putMeta(db []byte, id int, pgid, txid uint64, bo binary.ByteOrder) {
	p := db[id*testPageSize:]
	bo.PutUint64(p[0:], uint64(id))
	bo.PutUint16(p[8:], 0x04) // meta page flag
	m := p[pageHeaderSize:]
	bo.PutUint32(m[0:], boltMagic)
	bo.PutUint32(m[4:], boltVersion)
	bo.PutUint32(m[8:], testPageSize)
	bo.PutUint64(m[16:], 3) // root bucket page
	bo.PutUint64(m[32:], 2) // freelist page
	bo.PutUint64(m[40:], pgid)
	bo.PutUint64(m[48:], txid)
	h := fnv.New64a()
	h.Write(m[:metaSumLen])
	bo.PutUint64(m[metaSumLen:], h.Sum64())
}

// saved is db as `etcdctl snapshot save` writes it: the SHA-256 appended.
func saved(db []byte) []byte {
	sum := sha256.Sum256(db)
	return append(append([]byte(nil), db...), sum[:]...)
}

func flip(b []byte, at int) []byte {
	out := append([]byte(nil), b...)
	out[at] ^= 0x01
	return out
}

// checkCase is a file CheckSnapshot must classify as kind, with err.
type checkCase struct {
	name string
	data []byte
	kind IntegrityKind
	err  error
}

// checkCases are the files of every kind, and the damage that must not
// pass for another kind.
func checkCases() []checkCase {
	le, be := binary.LittleEndian, binary.BigEndian
	snap := saved(boltDB(40, 40, le))
	raw := boltDB(40, 40, le)
	junk := boltDB(40, 40, le)[2*testPageSize:] // random bytes, no meta page
	bothMetasBad := flip(flip(snap, pageHeaderSize+60), testPageSize+pageHeaderSize+60)
	return []checkCase{
		{"saved snapshot", snap, Valid, nil},
		{"saved snapshot, big-endian meta", saved(boltDB(40, 40, be)), Valid, nil},
		{"copied db file", raw, NoHash, ErrNoHash},
		{"copied db file with preallocated pages past its high-water mark", boltDB(64, 40, le), NoHash, ErrNoHash},
		{"flipped byte in the middle", flip(snap, len(snap)/2), HashMismatch, ErrHashMismatch},
		{"flipped byte in the appended hash", flip(snap, len(snap)-1), HashMismatch, ErrHashMismatch},
		{"flipped byte in meta 0: meta 1 still reads", flip(snap, pageHeaderSize+20), HashMismatch, ErrHashMismatch},
		{"truncated to half", snap[:len(snap)/2], Truncated, ErrTruncated},
		{"truncated to a size that looks hashed", snap[:len(snap)-1024], Truncated, ErrTruncated},
		{"truncated to whole pages below the high-water mark", raw[:20*testPageSize], Truncated, ErrTruncated},
		{"copied db file cut inside a page past the high-water mark", boltDB(64, 40, le)[:50*testPageSize+100], Truncated, ErrTruncated},
		{"truncated inside the meta page", snap[:40], Truncated, ErrTruncated},
		{"empty", nil, Empty, ErrEmpty},
		{"random bytes", junk, NotSnapshot, ErrNotSnapshot},
		{"random bytes of a size that looks hashed", junk[:len(junk)-testPageSize+sha256.Size], NotSnapshot, ErrNotSnapshot},
		{"zeros", make([]byte, 8*testPageSize), NotSnapshot, ErrNotSnapshot},
		{"both meta pages damaged", bothMetasBad, NotSnapshot, ErrNotSnapshot},
		{"too short to say", []byte("etcd"), NotSnapshot, ErrNotSnapshot},
	}
}

func TestCheckSnapshot(t *testing.T) {
	for _, tc := range checkCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckSnapshot(tc.data)
			if got.Kind != tc.kind {
				t.Errorf("kind = %s, want %s (err %v)", got.Kind, tc.kind, err)
			}
			if tc.err == nil && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if got.Size != int64(len(tc.data)) {
				t.Errorf("size = %d, want %d", got.Size, len(tc.data))
			}
			if s := got.String(); !strings.HasPrefix(s, strings.ReplaceAll(string(tc.kind), "-", " ")) {
				t.Errorf("String() = %q, want it to start with the kind %q", s, tc.kind)
			}
		})
	}
}

// TestCheckSnapshotAtFile: a file read through CheckSnapshotAt, in
// bounded pieces, is classified exactly as the same bytes in memory, with
// the same evidence; ReadSnapshotFile agrees, refusing what is no
// snapshot and returning a damaged one to be refused by Accept.
func TestCheckSnapshotAtFile(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range checkCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("%d.db", i))
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			file, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			want, wantErr := CheckSnapshot(tc.data)
			got, gotErr := CheckSnapshotAt(file, int64(len(tc.data)))
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("from the file: %+v, %v\nin memory:     %+v, %v", got, gotErr, want, wantErr)
			}
			f, err := ReadSnapshotFile(path)
			switch tc.kind {
			case Empty, NotSnapshot:
				if !errors.Is(err, ErrBadInput) || !errors.Is(err, tc.err) {
					t.Errorf("ReadSnapshotFile: %v, want ErrBadInput wrapping %v", err, tc.err)
				}
			default:
				if err != nil {
					t.Fatalf("ReadSnapshotFile: %v", err)
				}
				if f.Integrity != want || fmt.Sprint(f.IntegrityErr) != fmt.Sprint(wantErr) || f.Size != int64(len(tc.data)) {
					t.Errorf("ReadSnapshotFile: %+v, %v (size %d)\nCheckSnapshot:    %+v, %v", f.Integrity, f.IntegrityErr, f.Size, want, wantErr)
				}
			}
		})
	}
}

// failingReader is a file whose reads fail from byte at on.
type failingReader struct {
	data []byte
	at   int64
}

var errDisk = errors.New("input/output error")

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= r.at {
		return copy(p, r.data[off:]), nil
	}
	n := 0
	if off < r.at {
		n = copy(p, r.data[off:r.at])
	}
	return n, errDisk
}

// TestCheckSnapshotAtReadError: a file that fails to read, or is shorter
// than its size said, is not classified: no kind, and an error that wraps
// the failure and none of the sentinels.
func TestCheckSnapshotAtReadError(t *testing.T) {
	snap := saved(boltDB(40, 40, binary.LittleEndian))
	size := int64(len(snap))
	for _, tc := range []struct {
		name string
		r    io.ReaderAt
		want error
	}{
		{"fails in the meta pages", failingReader{snap, 100}, errDisk},
		{"fails in the middle", failingReader{snap, size / 2}, errDisk},
		{"fails in the appended hash", failingReader{snap, size - 10}, errDisk},
		{"shorter than its size", bytes.NewReader(snap[:size-testPageSize]), io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := CheckSnapshotAt(tc.r, size)
			if in.Kind != "" || !errors.Is(err, tc.want) {
				t.Errorf("CheckSnapshotAt = %s, %v; want no kind and %v", in.Kind, err, tc.want)
			}
			for _, s := range []error{ErrEmpty, ErrNotSnapshot, ErrTruncated, ErrHashMismatch, ErrNoHash} {
				if errors.Is(err, s) {
					t.Errorf("a read error classified as %v", s)
				}
			}
		})
	}
}

// A truncated file is reported as truncated, never as a missing hash,
// which is all etcdutl says of it.
func TestCheckSnapshotTruncatedSaysTruncated(t *testing.T) {
	snap := saved(boltDB(40, 40, binary.LittleEndian))
	for cut := sha256.Size; cut < len(snap); cut += 777 {
		in, err := CheckSnapshot(snap[:cut])
		if in.Kind == Truncated && (!strings.Contains(err.Error(), "truncated") || strings.Contains(err.Error(), "missing hash")) {
			t.Fatalf("cut at %d: error %q", cut, err)
		}
		if in.Kind != Truncated && cut >= pageHeaderSize+4 {
			t.Fatalf("cut at %d of %d: kind %s, want truncated (err %v)", cut, len(snap), in.Kind, err)
		}
	}
}

func TestCheckSnapshotFields(t *testing.T) {
	in, err := CheckSnapshot(saved(boltDB(40, 33, binary.LittleEndian)))
	if err != nil {
		t.Fatal(err)
	}
	if !in.HasHash || in.PageSize != testPageSize || in.Pages != 33 || in.TxID != 7 || in.Stored != in.Computed || in.Need() != 33*testPageSize {
		t.Errorf("CheckSnapshot = %+v", in)
	}
}

// BenchmarkCheckSnapshot checks a 64 MiB snapshot; hashing dominates.
func BenchmarkCheckSnapshot(b *testing.B) {
	const pages = 64 << 20 / testPageSize
	snap := saved(boltDB(pages, pages, binary.LittleEndian))
	b.SetBytes(int64(len(snap)))
	for b.Loop() {
		if _, err := CheckSnapshot(snap); err != nil {
			b.Fatal(err)
		}
	}
}
