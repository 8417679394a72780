package recovery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// A read-only walker of the bbolt file format, enough to compute what
// `etcdutl snapshot status` prints (etcdutl/snapshot v3Manager.Status,
// 3.6 and 3.7) and the keyspace digest without starting etcd and without
// bbolt itself: bbolt is not a dependency of this module, it mmaps the
// file, and it panics on some damaged pages. Here every offset is checked
// against the file, each page may be reached once, and damage is an error
// wrapping ErrCorrupt.
//
// Layout, as bbolt 1.3 and 1.4 write it (internal/common): a page starts
// with a 16-byte header (id u64, flags u16, count u16, overflow u32) and
// spans 1+overflow pages. Branch and leaf pages hold count 16-byte
// elements: branch (pos u32, ksize u32, child pgid u64), leaf (flags u32,
// pos u32, ksize u32, vsize u32); pos is relative to the element. A leaf
// element flagged as a bucket has a 16-byte header (root pgid u64,
// sequence u64) as its value; root 0 means the bucket's only page
// follows the header inline. The meta page's root bucket names etcd's
// buckets ("key", "meta", "members", …).
const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	bucketLeafFlag   = 0x01
	pageElementSize  = 16
	bucketHeaderSize = 16
	metaRootOffset   = 16 // the root bucket's pgid within the meta
	maxTreeDepth     = 64 // a B+tree of 2^64 pages is shallower
	revBytesLen      = 17 // etcd revision key: main u64, '_', sub u64
	tombstoneLen     = 18 // …plus 't'
)

// ErrCorrupt: the database's pages do not form a readable bbolt tree, or
// an etcd key in it cannot be decoded.
var ErrCorrupt = errors.New("snapshot database corrupt")

// boltFile is a database being walked.
type boltFile struct {
	db       []byte
	bo       binary.ByteOrder
	pageSize uint64
	pages    uint64          // the high-water mark from the meta page
	seen     map[uint64]bool // pages already walked
}

// ReadStatus reads what `etcdutl snapshot status` reports from a snapshot
// or a copied db file, in process: the revision (of the newest entry in
// the "key" bucket), the number of keys live at that revision, the size
// in use (pages × page size), the storage version from the "meta" bucket
// ("" before 3.6), and etcdutl's hash (CRC-32C over every bucket name,
// key and value). It reads the database whether or not an appended
// SHA-256 matches; call CheckSnapshot for that.
func ReadStatus(data []byte) (SnapshotStatus, error) {
	st, _, err := readDB(data)
	return st, err
}

// readDB walks the database in data once, for its status and its
// keyspace (every live key with its newest value). On error the status
// holds what was read before it, and the keyspace is nil.
func readDB(data []byte) (st SnapshotStatus, ks keyspace, err error) {
	in, ierr := CheckSnapshot(data)
	switch in.Kind {
	case Empty, NotSnapshot, Truncated:
		return st, nil, ierr
	}
	db := data
	if in.HasHash {
		db = data[:len(data)-sha256.Size]
	}
	f, root, err := openBolt(db, in)
	if err != nil {
		return st, nil, err
	}
	defer func() { // a last guard: damage must be an error, never a crash
		if r := recover(); r != nil {
			ks, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	st.TotalSize = in.Need()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	ks = keyspace{}
	err = f.walkPage(root, 0, func(flags uint32, name, hdr []byte) error {
		if flags&bucketLeafFlag == 0 {
			return fmt.Errorf("%w: %q in the root is not a bucket", ErrCorrupt, name)
		}
		h.Write(name)
		return f.walkBucket(hdr, func(k, v []byte) error {
			h.Write(k)
			h.Write(v)
			switch string(name) {
			case "key":
				return keyEntry(&st, ks, k, v)
			case "meta":
				if string(k) == "storageVersion" {
					st.Version = strings.TrimSpace(string(v))
				}
			}
			return nil
		})
	})
	st.TotalKey, st.Hash = len(ks), h.Sum32()
	if err != nil {
		ks = nil
	}
	return st, ks, err
}

// keyEntry folds one entry of the "key" bucket into st and ks, as etcdutl
// does: keys are revisions in ascending order, so the last sets the
// revision; a put makes its key live with its value (a later put of the
// key replaces it), a tombstone removes it.
func keyEntry(st *SnapshotStatus, ks keyspace, k, v []byte) error {
	if len(k) != revBytesLen && len(k) != tombstoneLen {
		return fmt.Errorf("%w: revision key %x is %d bytes", ErrCorrupt, k, len(k))
	}
	st.Revision = int64(binary.BigEndian.Uint64(k[:8]))
	var kv mvccpb.KeyValue
	if err := kv.Unmarshal(v); err != nil {
		return fmt.Errorf("%w: value at revision %d: %v", ErrCorrupt, st.Revision, err)
	}
	if len(k) == tombstoneLen && k[revBytesLen] == 't' {
		delete(ks, string(kv.Key))
	} else {
		ks[string(kv.Key)] = kv.Value // Unmarshal copied it out of the file
	}
	return nil
}

// openBolt finds the meta page CheckSnapshot chose (in.TxID) and returns
// the page of its root bucket.
func openBolt(db []byte, in Integrity) (*boltFile, []byte, error) {
	for _, off := range []int{0, in.PageSize} {
		m, ok := readMeta(db, off)
		if !ok || m.txid != in.TxID || int(m.pageSize) != in.PageSize {
			continue
		}
		bo := binary.ByteOrder(binary.LittleEndian)
		if bo.Uint32(db[off+pageHeaderSize:]) != boltMagic {
			bo = binary.BigEndian
		}
		f := &boltFile{db: db, bo: bo, pageSize: uint64(m.pageSize), pages: m.pgid, seen: map[uint64]bool{}}
		root := bo.Uint64(db[off+pageHeaderSize+metaRootOffset:])
		p, err := f.page(root)
		return f, p, err
	}
	return nil, nil, fmt.Errorf("%w: meta page of txid %d not found", ErrCorrupt, in.TxID)
}

// page returns page id with its overflow pages; each page once.
func (f *boltFile) page(id uint64) ([]byte, error) {
	if id < 2 || id >= f.pages {
		return nil, fmt.Errorf("%w: page %d outside pages 2..%d", ErrCorrupt, id, f.pages-1)
	}
	if f.seen[id] {
		return nil, fmt.Errorf("%w: page %d reached twice", ErrCorrupt, id)
	}
	f.seen[id] = true
	off := id * f.pageSize
	if off+pageHeaderSize > uint64(len(f.db)) {
		return nil, fmt.Errorf("%w: page %d beyond the end of the file", ErrCorrupt, id)
	}
	p := f.db[off:]
	if got := f.bo.Uint64(p); got != id {
		return nil, fmt.Errorf("%w: page %d has the header of page %d", ErrCorrupt, id, got)
	}
	n := uint64(f.bo.Uint32(p[12:])) + 1
	if id+n > f.pages || off+n*f.pageSize > uint64(len(f.db)) {
		return nil, fmt.Errorf("%w: page %d with %d overflow pages runs past the database", ErrCorrupt, id, n-1)
	}
	return p[:n*f.pageSize], nil
}

// walkBucket calls fn for every key and value of the bucket whose header
// is hdr, in key order; a nested bucket's value is nil, as in bbolt.
func (f *boltFile) walkBucket(hdr []byte, fn func(k, v []byte) error) error {
	if len(hdr) < bucketHeaderSize {
		return fmt.Errorf("%w: bucket header of %d bytes", ErrCorrupt, len(hdr))
	}
	visit := func(flags uint32, k, v []byte) error {
		if flags&bucketLeafFlag != 0 {
			v = nil
		}
		return fn(k, v)
	}
	root := f.bo.Uint64(hdr)
	if root == 0 { // inline: the page follows the header
		return f.walkPage(hdr[bucketHeaderSize:], 0, visit)
	}
	p, err := f.page(root)
	if err != nil {
		return err
	}
	return f.walkPage(p, 0, visit)
}

// walkPage calls fn for every leaf element under page p, in key order.
func (f *boltFile) walkPage(p []byte, depth int, fn func(flags uint32, k, v []byte) error) error {
	if len(p) < pageHeaderSize {
		return fmt.Errorf("%w: page of %d bytes", ErrCorrupt, len(p))
	}
	if depth > maxTreeDepth {
		return fmt.Errorf("%w: tree deeper than %d", ErrCorrupt, maxTreeDepth)
	}
	flags, count := f.bo.Uint16(p[8:]), int(f.bo.Uint16(p[10:]))
	if pageHeaderSize+count*pageElementSize > len(p) {
		return fmt.Errorf("%w: page %d: %d elements do not fit", ErrCorrupt, f.bo.Uint64(p), count)
	}
	var prev []byte
	for i := range count {
		e := pageHeaderSize + i*pageElementSize
		el := p[e : e+pageElementSize]
		switch flags {
		case branchPageFlag:
			child, err := f.page(f.bo.Uint64(el[8:]))
			if err == nil {
				err = f.walkPage(child, depth+1, fn)
			}
			if err != nil {
				return err
			}
		case leafPageFlag:
			pos, ks, vs := uint64(f.bo.Uint32(el[4:])), uint64(f.bo.Uint32(el[8:])), uint64(f.bo.Uint32(el[12:]))
			start := uint64(e) + pos
			if start+ks+vs > uint64(len(p)) {
				return fmt.Errorf("%w: page %d: element %d runs past the page", ErrCorrupt, f.bo.Uint64(p), i)
			}
			k, v := p[start:start+ks], p[start+ks:start+ks+vs]
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("%w: page %d: keys out of order at element %d", ErrCorrupt, f.bo.Uint64(p), i)
			}
			prev = k
			if err := fn(f.bo.Uint32(el), k, v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: page %d: neither branch nor leaf (flags %#x)", ErrCorrupt, f.bo.Uint64(p), flags)
		}
	}
	return nil
}
