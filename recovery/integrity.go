package recovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// How etcd marks and checks a snapshot, as read in etcdutl's
// snapshot/v3_snapshot.go (hasChecksum and copyAndVerifyDB, the same in
// 3.5.35, 3.6.16 and 3.7.3): the server streams its bbolt database and
// appends the SHA-256 of it, so a saved snapshot is pages plus 32 bytes.
// etcdutl takes a file to carry that hash when its size modulo 512 (the
// smallest disk sector, which divides every page size) is sha256.Size.
// A database copied out of a data dir is whole pages, so its size modulo
// 512 is 0: it has no hash and restores only with --skip-hash-check.
//
// etcdutl cannot tell a truncated snapshot from a copied db file: both
// lack the 32-byte tail, and it prints "snapshot missing hash". The bbolt
// meta page can tell: it records the database's high-water mark (pages
// in use), so a file shorter than that lost its end.
const (
	hashSector = 512 // etcdutl's hasChecksum modulus

	pageHeaderSize = 16 // bbolt page: id u64, flags u16, count u16, overflow u32
	metaSize       = 64 // bbolt meta: magic, version, pageSize, flags u32; root, sequence, freelist, pgid, txid, checksum u64
	metaSumLen     = 56 // the checksum (FNV-64a) covers the meta up to itself
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
)

// Sentinel errors of CheckSnapshot; callers decide with errors.Is.
var (
	// ErrEmpty: the file has no bytes.
	ErrEmpty = errors.New("empty file")
	// ErrNotSnapshot: no valid bbolt meta page, so not an etcd database.
	ErrNotSnapshot = errors.New("not an etcd snapshot")
	// ErrTruncated: the database is shorter than its meta page says.
	ErrTruncated = errors.New("snapshot truncated")
	// ErrHashMismatch: the appended SHA-256 does not match the database.
	ErrHashMismatch = errors.New("snapshot sha256 mismatch")
	// ErrNoHash: a whole database without the appended SHA-256, as copied
	// from a data dir's member/snap/db; restorable only with
	// --skip-hash-check, and nothing proves it is intact.
	ErrNoHash = errors.New("snapshot has no sha256 hash")
)

// IntegrityKind names what CheckSnapshot found.
type IntegrityKind string

// The kinds CheckSnapshot reports, one per sentinel error (Valid: none).
const (
	Valid        IntegrityKind = "valid"
	NoHash       IntegrityKind = "no-hash"
	HashMismatch IntegrityKind = "hash-mismatch"
	Truncated    IntegrityKind = "truncated"
	Empty        IntegrityKind = "empty"
	NotSnapshot  IntegrityKind = "not-a-snapshot"
)

// Integrity is what CheckSnapshot learned about a file. Fields it could
// not learn stay zero.
type Integrity struct {
	Kind IntegrityKind `json:"kind"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// HasHash is etcdutl's view: the size modulo 512 is 32, so the last
	// 32 bytes are taken as the SHA-256 of the rest.
	HasHash bool `json:"has_hash"`
	// PageSize, Pages and TxID come from the newest valid bbolt meta page;
	// Pages×PageSize is the size the database needs.
	PageSize int    `json:"page_size,omitempty"`
	Pages    int64  `json:"pages,omitempty"`
	TxID     uint64 `json:"txid,omitempty"`
	// Stored and Computed are hex SHA-256s: the appended one and that of
	// the database before it (set when HasHash).
	Stored   string `json:"stored_sha256,omitempty"`
	Computed string `json:"computed_sha256,omitempty"`
}

// Need is the number of bytes the database's meta page says it has.
func (i Integrity) Need() int64 { return i.Pages * int64(i.PageSize) }

// CheckSnapshot classifies data the way a restore should: a valid
// snapshot (appended SHA-256 matches), a database without a hash (a
// copied db file, ErrNoHash), a hash mismatch (ErrHashMismatch), a
// truncated file (ErrTruncated, also when a cut happens to leave a size
// that looks hashed), an empty file (ErrEmpty) or something that is no
// bbolt database (ErrNotSnapshot). The error wraps the sentinel with the
// evidence; it is nil only for a valid snapshot. It reads meta pages in
// little- and big-endian order, so it does not depend on the writer's
// architecture. It is CheckSnapshotAt of data, for callers that hold a
// small snapshot in memory.
func CheckSnapshot(data []byte) (Integrity, error) {
	return CheckSnapshotAt(bytes.NewReader(data), int64(len(data)))
}

// CheckSnapshotAt is CheckSnapshot of the size bytes r holds, for a file
// too large to hold in memory: it reads the meta pages, then the database
// once in order through a bounded buffer into SHA-256, so its memory does
// not grow with size. When r fails (an I/O error, or fewer than size
// bytes), nothing is classified: Kind is "" and the error wraps r's error
// and none of the sentinels.
func CheckSnapshotAt(r io.ReaderAt, size int64) (Integrity, error) {
	in, err := classifyAt(r, size)
	if err != nil || !in.HasHash || in.Kind != "" {
		return in, err
	}
	db := size - sha256.Size
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.NewSectionReader(r, 0, db), make([]byte, hashBufSize))
	if err == nil && n != db {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return Integrity{Size: size}, fmt.Errorf("reading the snapshot to hash it: %w", err)
	}
	stored := make([]byte, sha256.Size)
	if err := readFullAt(r, stored, db); err != nil {
		return Integrity{Size: size}, fmt.Errorf("reading the appended sha256: %w", err)
	}
	sum := h.Sum(nil)
	in.Stored, in.Computed = hex.EncodeToString(stored), hex.EncodeToString(sum)
	if !bytes.Equal(sum, stored) {
		in.Kind = HashMismatch
		return in, fmt.Errorf("%w: appended %s, database hashes to %s", ErrHashMismatch, in.Stored[:16], in.Computed[:16])
	}
	in.Kind = Valid
	return in, nil
}

// hashBufSize is the buffer CheckSnapshotAt hashes through: large enough
// that the reads cost little next to SHA-256, small next to any snapshot.
const hashBufSize = 1 << 20

// classifyAt is CheckSnapshotAt up to the hash: everything the meta pages
// and the size tell. Kind is set when that decides (all but a file with a
// hash, whose kind the hash decides, Kind ""); the error is the sentinel's
// as CheckSnapshot returns it, or a read error with Kind "". Readers of
// the database call it alone: the hash does not change what they read.
func classifyAt(r io.ReaderAt, size int64) (Integrity, error) {
	in := Integrity{Size: size, HasHash: size%hashSector == sha256.Size}
	if size == 0 {
		in.Kind = Empty
		return in, ErrEmpty
	}
	m, ok, err := newestMeta(r, size)
	if err != nil {
		return Integrity{Size: size}, fmt.Errorf("reading the meta pages: %w", err)
	}
	if !ok {
		if size < pageHeaderSize+metaSize {
			head := make([]byte, size)
			if err := readFullAt(r, head, 0); err != nil {
				return Integrity{Size: size}, fmt.Errorf("reading the meta page: %w", err)
			}
			if hasMagic(head) {
				in.Kind = Truncated
				return in, fmt.Errorf("%w: %d bytes, shorter than one bbolt meta page", ErrTruncated, size)
			}
		}
		in.Kind = NotSnapshot
		return in, fmt.Errorf("%w: no valid bbolt meta page in %d bytes", ErrNotSnapshot, size)
	}
	in.PageSize, in.Pages, in.TxID = int(m.pageSize), int64(m.pgid), m.txid
	db := in.dbSize()
	if db < in.Need() {
		in.Kind = Truncated
		return in, fmt.Errorf("%w: database is %d bytes, its meta page (txid %d) needs %d (%d pages of %d)",
			ErrTruncated, db, in.TxID, in.Need(), in.Pages, in.PageSize)
	}
	if !in.HasHash {
		if db%int64(in.PageSize) != 0 {
			in.Kind = Truncated
			return in, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages and has no hash",
				ErrTruncated, db, in.PageSize)
		}
		in.Kind = NoHash
		return in, fmt.Errorf("%w: %d whole pages of %d bytes and no trailer, as copied from member/snap/db; restore needs --skip-hash-check",
			ErrNoHash, db/int64(in.PageSize), in.PageSize)
	}
	return in, nil
}

// dbSize is the length of the database in the file: all of it, or all
// but the appended hash.
func (i Integrity) dbSize() int64 {
	if i.HasHash {
		return i.Size - sha256.Size
	}
	return i.Size
}

// readFullAt fills p from r at off. Unlike a bare ReadAt it treats a
// short read as an error even when r says io.EOF: the file is shorter
// than its size said, so it changed under the reader.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// meta is the part of a bbolt meta page CheckSnapshot and the walker use.
type meta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
	root     uint64           // the root bucket's page, for the walker
	bo       binary.ByteOrder // the order the meta was written in
}

// newestMeta returns the valid meta page with the highest txid of the
// size bytes r holds, as bbolt opens a database. Meta 0 is at offset 0;
// meta 1 one page later. When meta 0 is damaged its page size is unknown,
// so meta 1 is tried at every page size bbolt allows. The error is r's.
func newestMeta(r io.ReaderAt, size int64) (meta, bool, error) {
	var best meta
	found := false
	consider := func(m meta, ok bool) {
		if ok && (!found || m.txid > best.txid) {
			best, found = m, true
		}
	}
	m0, ok0, err := metaAt(r, size, 0)
	if err != nil {
		return meta{}, false, err
	}
	consider(m0, ok0)
	if ok0 {
		m1, ok1, err := metaAt(r, size, int64(m0.pageSize))
		consider(m1, ok1)
		return best, found, err
	}
	for ps := int64(512); ps <= 64<<10; ps *= 2 {
		m1, ok, err := metaAt(r, size, ps)
		if err != nil {
			return meta{}, false, err
		}
		if ok && int64(m1.pageSize) == ps {
			consider(m1, ok)
		}
	}
	return best, found, nil
}

// metaAt reads the meta page at off of the size bytes r holds and parses
// it (readMeta); a page that would end past size is no meta page.
func metaAt(r io.ReaderAt, size, off int64) (meta, bool, error) {
	var b [pageHeaderSize + metaSize]byte
	if off < 0 || off+int64(len(b)) > size {
		return meta{}, false, nil
	}
	if err := readFullAt(r, b[:], off); err != nil {
		return meta{}, false, err
	}
	m, ok := readMeta(b[:], 0)
	return m, ok, nil
}

// readMeta parses the meta page at off and validates it as bbolt does:
// magic, version and checksum, plus a page size that is a power of two.
func readMeta(data []byte, off int) (meta, bool) {
	if off < 0 || off+pageHeaderSize+metaSize > len(data) {
		return meta{}, false
	}
	b := data[off+pageHeaderSize : off+pageHeaderSize+metaSize]
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if bo.Uint32(b[0:]) != boltMagic || bo.Uint32(b[4:]) != boltVersion {
			continue
		}
		h := fnv.New64a()
		h.Write(b[:metaSumLen])
		if h.Sum64() != bo.Uint64(b[metaSumLen:]) {
			return meta{}, false
		}
		m := meta{pageSize: bo.Uint32(b[8:]), pgid: bo.Uint64(b[40:]), txid: bo.Uint64(b[48:]), root: bo.Uint64(b[metaRootOffset:]), bo: bo}
		if m.pageSize < 512 || m.pageSize&(m.pageSize-1) != 0 || m.pgid < 2 {
			return meta{}, false
		}
		return m, true
	}
	return meta{}, false
}

// hasMagic reports whether data starts like a bbolt file, whatever the
// byte order.
func hasMagic(data []byte) bool {
	if len(data) < pageHeaderSize+4 {
		return false
	}
	b := data[pageHeaderSize:]
	return binary.LittleEndian.Uint32(b) == boltMagic || binary.BigEndian.Uint32(b) == boltMagic
}

// String is a one-line account of the check, for reports.
func (i Integrity) String() string {
	switch i.Kind {
	case Valid:
		return fmt.Sprintf("valid: %d bytes, appended sha256 %s… matches the %d-byte database (txid %d)", i.Size, i.Stored[:16], i.Size-sha256.Size, i.TxID)
	case HashMismatch:
		return fmt.Sprintf("hash mismatch: appended sha256 %s…, the database hashes to %s…", i.Stored[:16], i.Computed[:16])
	case Truncated:
		if i.Pages > 0 {
			return fmt.Sprintf("truncated: %d bytes, the meta page (txid %d) needs %d", i.Size, i.TxID, i.Need())
		}
		return fmt.Sprintf("truncated: %d bytes", i.Size)
	case NoHash:
		return fmt.Sprintf("no hash: %d bytes of whole %d-byte pages, a copy of member/snap/db", i.Size, i.PageSize)
	case Empty:
		return "empty: 0 bytes"
	case "":
		return fmt.Sprintf("unread: %d bytes that could not be read", i.Size)
	default:
		return fmt.Sprintf("not a snapshot: %d bytes without a valid bbolt meta page", i.Size)
	}
}
