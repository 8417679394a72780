package recovery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// A read-only walker of the bbolt file format, enough to compute what
// `etcdutl snapshot status` prints (etcdutl/snapshot v3Manager.Status,
// 3.6 and 3.7) and the keyspace digest without starting etcd and without
// bbolt itself: bbolt is not a dependency of this module, it mmaps the
// file, and it panics on some damaged pages. Here every offset is checked
// against the file, each page may be reached once, and damage is an error
// wrapping ErrCorrupt.
//
// It reads the file page by page (io.ReaderAt), never whole: a snapshot
// may be larger than the memory of the machine that verifies it. It holds
// the pages of one path from the root to a leaf at a time, each read only
// as far as its elements reach.
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

	// bigBuffer is the largest read buffer kept for reuse; one for a
	// larger page or value (a value of several MiB) is dropped after use,
	// so that one large value does not stay in memory for the rest of
	// the walk.
	bigBuffer = 4 << 20
)

// ErrCorrupt: the database's pages do not form a readable bbolt tree, or
// an etcd key in it cannot be decoded.
var ErrCorrupt = errors.New("snapshot database corrupt")

// boltFile is a database being walked, read from r page by page.
type boltFile struct {
	r        io.ReaderAt
	size     int64 // the database's bytes in r, an appended hash excluded
	bo       binary.ByteOrder
	pageSize uint64
	pages    uint64   // the high-water mark from the meta page
	seen     []uint64 // a bit per page: walked already
	// bufs holds the pages being walked, one per level of the walk (the
	// root bucket's page, a bucket's branch pages, its leaf), reused from
	// one page to the next at the same level.
	bufs  [][]byte
	level int // bufs in use
}

// page is a page of the file, or an inline bucket's page.
type page struct {
	// b is what was read: the header, the element table and every
	// element that lies within full. It may stop short of full, not of
	// such an element.
	b    []byte
	full uint64 // the page's length: (1+overflow)×pageSize, or an inline page's
	off  int64  // the file offset of b[0], to locate values
}

// ReadStatus reads what `etcdutl snapshot status` reports from a snapshot
// or a copied db file, in process: the revision (of the newest entry in
// the "key" bucket), the number of keys live at that revision, the size
// in use (pages × page size), the storage version from the "meta" bucket
// ("" before 3.6), and etcdutl's hash (CRC-32C over every bucket name,
// key and value). It reads the database whether or not an appended
// SHA-256 matches; call CheckSnapshot for that. It is for a snapshot in
// memory; ReadSnapshotFile reads a file.
func ReadStatus(data []byte) (SnapshotStatus, error) {
	st, _, err := readDB(bytes.NewReader(data), int64(len(data)))
	return st, err
}

// readDB classifies the size bytes r holds, without hashing them (the
// hash does not change what is read), and walks the database (walkDB).
// The error is classifyAt's for a file it cannot read.
func readDB(r io.ReaderAt, size int64) (SnapshotStatus, *keyIndex, error) {
	in, err := classifyAt(r, size)
	if err != nil && !errors.Is(err, ErrNoHash) {
		return SnapshotStatus{}, nil, err
	}
	return walkDB(r, in)
}

// walkDB walks the database in r, which classifyAt found to be in, once:
// for its status, and for the index of its live keys (pass 1 of
// keyIndex). On error the status holds what was read before it, and the
// index is nil.
func walkDB(r io.ReaderAt, in Integrity) (st SnapshotStatus, ix *keyIndex, err error) {
	f, root, err := openBolt(r, in)
	if err != nil {
		return st, nil, err
	}
	defer func() { // a last guard: damage must be an error, never a crash
		if r := recover(); r != nil {
			ix, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	st.TotalSize = in.Need()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	ix = newKeyIndex()
	err = f.walkTree(root, 0, func(flags uint32, name, hdr []byte, hdrOff int64) error {
		if flags&bucketLeafFlag == 0 {
			return fmt.Errorf("%w: %q in the root is not a bucket", ErrCorrupt, name)
		}
		h.Write(name)
		return f.walkBucket(hdr, hdrOff, func(k, v []byte, voff int64) error {
			h.Write(k)
			h.Write(v)
			switch string(name) {
			case "key":
				return ix.add(&st, k, v, voff)
			case "meta":
				if string(k) == "storageVersion" {
					st.Version = strings.TrimSpace(string(v))
				}
			}
			return nil
		})
	})
	st.TotalKey, st.Hash = ix.len(), h.Sum32()
	if err != nil {
		ix = nil
	}
	return st, ix, err
}

// openBolt finds the meta page classifyAt chose (in.TxID) and returns the
// database to walk and the page of its root bucket.
func openBolt(r io.ReaderAt, in Integrity) (*boltFile, uint64, error) {
	size := in.dbSize()
	for _, off := range []int64{0, int64(in.PageSize)} {
		m, ok, err := metaAt(r, size, off)
		if err != nil {
			return nil, 0, fmt.Errorf("reading the meta page at byte %d: %w", off, err)
		}
		if !ok || m.txid != in.TxID || int(m.pageSize) != in.PageSize || int64(m.pgid) != in.Pages {
			continue
		}
		f := &boltFile{r: r, size: size, bo: m.bo, pageSize: uint64(m.pageSize), pages: m.pgid, seen: make([]uint64, (m.pgid+63)/64)}
		return f, m.root, nil
	}
	return nil, 0, fmt.Errorf("%w: meta page of txid %d not found", ErrCorrupt, in.TxID)
}

// withPage reads page id with as much of its overflow pages as its
// elements need, and calls fn with it; each page once. The page is valid
// only during fn.
func (f *boltFile) withPage(id uint64, fn func(page) error) error {
	if id < 2 || id >= f.pages {
		return fmt.Errorf("%w: page %d outside pages 2..%d", ErrCorrupt, id, f.pages-1)
	}
	if f.seen[id/64]&(1<<(id%64)) != 0 {
		return fmt.Errorf("%w: page %d reached twice", ErrCorrupt, id)
	}
	f.seen[id/64] |= 1 << (id % 64)
	off := id * f.pageSize
	if off+f.pageSize > uint64(f.size) {
		return fmt.Errorf("%w: page %d beyond the end of the file", ErrCorrupt, id)
	}
	lvl := f.level
	f.level++
	defer f.release(lvl)
	p := page{b: f.buf(lvl, nil, int(f.pageSize)), off: int64(off)}
	if err := readFullAt(f.r, p.b, p.off); err != nil {
		return fmt.Errorf("reading page %d: %w", id, err)
	}
	if got := f.bo.Uint64(p.b); got != id {
		return fmt.Errorf("%w: page %d has the header of page %d", ErrCorrupt, id, got)
	}
	n := uint64(f.bo.Uint32(p.b[12:])) + 1
	if id+n > f.pages || off+n*f.pageSize > uint64(f.size) {
		return fmt.Errorf("%w: page %d with %d overflow pages runs past the database", ErrCorrupt, id, n-1)
	}
	p.full = n * f.pageSize
	if err := f.readElements(&p, lvl); err != nil {
		return fmt.Errorf("reading page %d: %w", id, err)
	}
	return fn(p)
}

// readElements extends p, of which the first page is read, to its
// element table and to every leaf element that lies within the page.
// What lies outside is left for walkPage to report; the rest of the
// overflow pages (free space, or a damaged overflow count) is not read,
// so that a damaged count costs no memory.
func (f *boltFile) readElements(p *page, lvl int) error {
	flags, count := f.bo.Uint16(p.b[8:]), uint64(f.bo.Uint16(p.b[10:]))
	end := uint64(pageHeaderSize) + count*pageElementSize
	if end > p.full {
		return nil
	}
	if err := f.extend(p, lvl, end); err != nil || flags != leafPageFlag {
		return err
	}
	for i := range count {
		el := p.b[pageHeaderSize+i*pageElementSize:]
		x := pageHeaderSize + i*pageElementSize + uint64(f.bo.Uint32(el[4:])) + uint64(f.bo.Uint32(el[8:])) + uint64(f.bo.Uint32(el[12:]))
		if x <= p.full {
			end = max(end, x)
		}
	}
	return f.extend(p, lvl, end)
}

// extend reads p on to its first n bytes.
func (f *boltFile) extend(p *page, lvl int, n uint64) error {
	have := uint64(len(p.b))
	if n <= have {
		return nil
	}
	p.b = f.buf(lvl, p.b, int(n))
	return readFullAt(f.r, p.b[have:], p.off+int64(have))
}

// buf returns level lvl's buffer with length n, keeping the bytes of
// keep, which is the level's buffer or nil.
func (f *boltFile) buf(lvl int, keep []byte, n int) []byte {
	for len(f.bufs) <= lvl {
		f.bufs = append(f.bufs, nil)
	}
	b := f.bufs[lvl]
	if cap(b) < n {
		b = make([]byte, n)
		copy(b, keep)
		f.bufs[lvl] = b
	}
	return b[:n]
}

// release gives back the buffers from level lvl on, dropping one too
// large to keep.
func (f *boltFile) release(lvl int) {
	f.level = lvl
	if cap(f.bufs[lvl]) > bigBuffer {
		f.bufs[lvl] = nil
	}
}

// leafFunc is called for each leaf element: its flags, key and value,
// and the value's offset in the file.
type leafFunc func(flags uint32, k, v []byte, voff int64) error

// walkTree calls fn for every leaf element under page id, in key order.
func (f *boltFile) walkTree(id uint64, depth int, fn leafFunc) error {
	return f.withPage(id, func(p page) error { return f.walkPage(p, depth, fn) })
}

// walkBucket calls fn for every key and value of the bucket whose header
// is hdr, at hdrOff in the file, in key order; a nested bucket's value
// is nil, as in bbolt.
func (f *boltFile) walkBucket(hdr []byte, hdrOff int64, fn func(k, v []byte, voff int64) error) error {
	if len(hdr) < bucketHeaderSize {
		return fmt.Errorf("%w: bucket header of %d bytes", ErrCorrupt, len(hdr))
	}
	visit := func(flags uint32, k, v []byte, voff int64) error {
		if flags&bucketLeafFlag != 0 {
			v = nil
		}
		return fn(k, v, voff)
	}
	root := f.bo.Uint64(hdr)
	if root == 0 { // inline: the page follows the header
		inline := hdr[bucketHeaderSize:]
		return f.walkPage(page{b: inline, full: uint64(len(inline)), off: hdrOff + bucketHeaderSize}, 0, visit)
	}
	return f.walkTree(root, 0, visit)
}

// walkPage calls fn for every leaf element under page p, in key order.
func (f *boltFile) walkPage(p page, depth int, fn leafFunc) error {
	if p.full < pageHeaderSize || len(p.b) < pageHeaderSize {
		return fmt.Errorf("%w: page of %d bytes", ErrCorrupt, p.full)
	}
	if depth > maxTreeDepth {
		return fmt.Errorf("%w: tree deeper than %d", ErrCorrupt, maxTreeDepth)
	}
	id := f.bo.Uint64(p.b)
	flags, count := f.bo.Uint16(p.b[8:]), uint64(f.bo.Uint16(p.b[10:]))
	if end := pageHeaderSize + count*pageElementSize; end > p.full || end > uint64(len(p.b)) {
		return fmt.Errorf("%w: page %d: %d elements do not fit", ErrCorrupt, id, count)
	}
	var prev []byte
	for i := range count {
		e := pageHeaderSize + i*pageElementSize
		el := p.b[e : e+pageElementSize]
		switch flags {
		case branchPageFlag:
			if err := f.walkTree(f.bo.Uint64(el[8:]), depth+1, fn); err != nil {
				return err
			}
		case leafPageFlag:
			pos, ks, vs := uint64(f.bo.Uint32(el[4:])), uint64(f.bo.Uint32(el[8:])), uint64(f.bo.Uint32(el[12:]))
			start := e + pos
			if end := start + ks + vs; end > p.full || end > uint64(len(p.b)) {
				return fmt.Errorf("%w: page %d: element %d runs past the page", ErrCorrupt, id, i)
			}
			k, v := p.b[start:start+ks], p.b[start+ks:start+ks+vs]
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("%w: page %d: keys out of order at element %d", ErrCorrupt, id, i)
			}
			prev = k
			if err := fn(f.bo.Uint32(el), k, v, p.off+int64(start+ks)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: page %d: neither branch nor leaf (flags %#x)", ErrCorrupt, id, flags)
		}
	}
	return nil
}
