package fault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// DBFlip is one byte flipped inside a stored value of a bbolt file.
type DBFlip struct {
	Key      string // the etcd key whose newest value was changed
	Revision int64  // the revision that value was written at
	// FileRevision is the newest revision in the file.
	FileRevision int64
	// ValueOffset is the file offset of the value's first byte, Offset
	// that of the flipped byte.
	ValueOffset, Offset int64
	ValueLen            int
	Before, After       byte
}

func (f DBFlip) String() string {
	return fmt.Sprintf("byte %d of the file (byte %d of %d of the value of %q, written at revision %d; the file's revision is %d): 0x%02x → 0x%02x",
		f.Offset, f.Offset-f.ValueOffset, f.ValueLen, f.Key, f.Revision, f.FileRevision, f.Before, f.After)
}

// FlipDBValue flips (XOR 0x01) the middle byte of the newest value of one
// live key in the "key" bucket of the bbolt database db, in place: the
// live key with the median revision, so the damage sits in user data the
// member serves, away from the file's edges. Only the value's bytes
// change, so the page layout and the protobuf framing stay valid.
func FlipDBValue(db []byte) (DBFlip, error) {
	vals, fileRev, err := liveValues(db)
	if err != nil {
		return DBFlip{}, err
	}
	if len(vals) == 0 {
		return DBFlip{}, errors.New("flip a value: no live key with a non-empty value in the key bucket")
	}
	slices.SortFunc(vals, func(a, b liveValue) int { return int(a.rev - b.rev) })
	v := vals[len(vals)/2]
	at := v.off + int64(v.len/2)
	f := DBFlip{Key: v.key, Revision: v.rev, FileRevision: fileRev, ValueOffset: v.off, Offset: at, ValueLen: v.len, Before: db[at]}
	db[at] ^= 0x01
	f.After = db[at]
	return f, nil
}

// liveValue is where the newest value of a live key lies in the file.
type liveValue struct {
	key      string
	rev      int64
	off      int64 // of the value's bytes (mvccpb.KeyValue.Value)
	len      int
	deleted  bool
	hasValue bool
}

// liveValues walks the "key" bucket of db (keys are revisions in
// ascending order, values mvccpb.KeyValue) and returns the newest value
// of every live key that has one, and the newest revision. It reads the
// layout bbolt writes (a 16-byte page header: id, flags, count,
// overflow; leaf elements: flags, pos, ksize, vsize; branch elements:
// pos, ksize, pgid; a bucket's value is its root pgid and sequence,
// root 0 meaning an inline page follows), checking every offset against
// the file.
func liveValues(db []byte) ([]liveValue, int64, error) {
	w := &boltWalk{db: db}
	if err := w.meta(); err != nil {
		return nil, 0, err
	}
	latest := map[string]*liveValue{}
	var fileRev int64
	var kv mvccpb.KeyValue
	found := false
	err := w.page(w.root, 0, func(k, v []byte, flags uint32, voff int64) error {
		if string(k) != "key" || flags&0x01 == 0 {
			return nil
		}
		found = true
		return w.bucket(v, voff, func(k, v []byte, _ uint32, voff int64) error {
			if len(k) < 17 {
				return fmt.Errorf("revision key %x is %d bytes", k, len(k))
			}
			rev := int64(binary.BigEndian.Uint64(k))
			fileRev = rev
			kv.Reset()
			if err := kv.Unmarshal(v); err != nil {
				return fmt.Errorf("value at revision %d: %w", rev, err)
			}
			lv := &liveValue{key: string(kv.Key), rev: rev, deleted: len(k) == 18 && k[17] == 't'}
			if off, n, ok := protoBytesField(v, 5); ok && n > 0 {
				lv.off, lv.len, lv.hasValue = voff+int64(off), n, true
			}
			latest[lv.key] = lv
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read the key bucket: %w", err)
	}
	if !found {
		return nil, 0, errors.New("read the key bucket: no bucket called key")
	}
	var out []liveValue
	for _, lv := range latest {
		if !lv.deleted && lv.hasValue {
			out = append(out, *lv)
		}
	}
	return out, fileRev, nil
}

// protoBytesField finds field num, of wire type 2 (bytes), in the
// protobuf message b: the offset and length of its bytes.
func protoBytesField(b []byte, num uint64) (off, n int, ok bool) {
	for i := 0; i < len(b); {
		tag, l := binary.Uvarint(b[i:])
		if l <= 0 {
			return 0, 0, false
		}
		i += l
		switch tag & 7 {
		case 0: // varint
			_, l := binary.Uvarint(b[i:])
			if l <= 0 {
				return 0, 0, false
			}
			i += l
		case 2: // length-delimited
			size, l := binary.Uvarint(b[i:])
			if l <= 0 || size > uint64(len(b)-i-l) {
				return 0, 0, false
			}
			i += l
			if tag>>3 == num {
				return i, int(size), true
			}
			i += int(size)
		default: // KeyValue has no other wire types
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// boltWalk reads a bbolt file held in memory.
type boltWalk struct {
	db       []byte
	pageSize int64
	root     uint64
	pages    uint64
}

const (
	boltMagic     = 0xED0CDAED
	boltHeader    = 16
	boltElement   = 16
	boltMaxDepth  = 64
	boltBranch    = 0x01
	boltLeaf      = 0x02
	boltBucketHdr = 16
)

// meta reads both meta pages and keeps the one with the higher
// transaction ID: bbolt writes them in turn.
func (w *boltWalk) meta() error {
	if len(w.db) < boltHeader+64 {
		return fmt.Errorf("not a bbolt file: %d bytes", len(w.db))
	}
	le := binary.LittleEndian
	w.pageSize = int64(le.Uint32(w.db[boltHeader+8:]))
	if w.pageSize < 512 || w.pageSize > 1<<20 {
		return fmt.Errorf("not a bbolt file: page size %d", w.pageSize)
	}
	var best uint64
	ok := false
	for _, at := range []int64{0, w.pageSize} {
		if at+boltHeader+64 > int64(len(w.db)) {
			continue
		}
		m := w.db[at+boltHeader:]
		if le.Uint32(m) != boltMagic {
			continue
		}
		// magic, version, pageSize, flags (4 each); root bucket (root,
		// sequence); freelist; pgid; txid.
		if txid := le.Uint64(m[48:]); !ok || txid > best {
			best, ok = txid, true
			w.root, w.pages = le.Uint64(m[16:]), le.Uint64(m[40:])
		}
	}
	if !ok {
		return errors.New("not a bbolt file: no meta page with bbolt's magic")
	}
	return nil
}

type elementFunc func(k, v []byte, flags uint32, voff int64) error

// page calls fn for each leaf element under page id, in key order.
func (w *boltWalk) page(id uint64, depth int, fn elementFunc) error {
	if id < 2 || id >= w.pages || int64(id+1)*w.pageSize > int64(len(w.db)) {
		return fmt.Errorf("page %d outside the file", id)
	}
	start := int64(id) * w.pageSize
	overflow := int64(binary.LittleEndian.Uint32(w.db[start+12:]))
	end := start + (overflow+1)*w.pageSize
	if end > int64(len(w.db)) {
		return fmt.Errorf("page %d with %d overflow pages runs past the file", id, overflow)
	}
	return w.elements(w.db[start:end], start, depth, fn)
}

// elements walks the page p, which lies at file offset base.
func (w *boltWalk) elements(p []byte, base int64, depth int, fn elementFunc) error {
	if depth > boltMaxDepth || len(p) < boltHeader {
		return fmt.Errorf("page at byte %d: too deep or too short", base)
	}
	le := binary.LittleEndian
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if boltHeader+count*boltElement > len(p) {
		return fmt.Errorf("page at byte %d: %d elements do not fit", base, count)
	}
	for i := range count {
		e := boltHeader + i*boltElement
		el := p[e:]
		switch flags {
		case boltBranch:
			if err := w.page(le.Uint64(el[8:]), depth+1, fn); err != nil {
				return err
			}
		case boltLeaf:
			pos, ks, vs := int(le.Uint32(el[4:])), int(le.Uint32(el[8:])), int(le.Uint32(el[12:]))
			k0 := e + pos
			if k0 < 0 || k0+ks+vs > len(p) {
				return fmt.Errorf("page at byte %d: element %d runs past the page", base, i)
			}
			if err := fn(p[k0:k0+ks], p[k0+ks:k0+ks+vs], le.Uint32(el), base+int64(k0+ks)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("page at byte %d: neither branch nor leaf (flags %#x)", base, flags)
		}
	}
	return nil
}

// bucket calls fn for every key of the bucket whose header hdr lies at
// file offset off.
func (w *boltWalk) bucket(hdr []byte, off int64, fn elementFunc) error {
	if len(hdr) < boltBucketHdr {
		return fmt.Errorf("bucket header of %d bytes", len(hdr))
	}
	if root := binary.LittleEndian.Uint64(hdr); root != 0 {
		return w.page(root, 0, fn)
	}
	return w.elements(hdr[boltBucketHdr:], off+boltBucketHdr, 0, fn)
}

// WALGarble is the damage done to the last record of a WAL segment.
type WALGarble struct {
	// Record is the file offset of the last record's length field,
	// RecordLen the length of the record.
	Record    int64
	RecordLen int
	// Payload is the file offset of the record's data field, PayloadLen
	// its length; 0 and 0 for a record without data.
	Payload    int64
	PayloadLen int
	// Offset is where the garbled bytes start; Before and After are
	// those bytes before and after.
	Offset        int64
	Before, After []byte
}

func (g WALGarble) String() string {
	where := "the record"
	if g.PayloadLen > 0 {
		where = fmt.Sprintf("its %d-byte payload at byte %d", g.PayloadLen, g.Payload)
	}
	return fmt.Sprintf("the last record (its frame at byte %d, %d bytes) garbled in %s: %d bytes from byte %d inverted, %x → %x",
		g.Record, g.RecordLen, where, len(g.After), g.Offset, g.Before, g.After)
}

// GarbleWALTail inverts up to 8 bytes in the middle of the payload of the
// last record of the WAL segment wal, in place. A segment is a run of
// frames, each an 8-byte little-endian length (the low 56 bits; the top
// bit says the data is padded, bits 56-58 by how much) and a walpb.Record
// (type, crc, data), followed by zeros where the file was preallocated.
// Only the record's data field changes, never its framing, so etcd reads
// a well-formed record whose CRC does not match: damage, not a torn
// write. (Garbling a length inside the record instead makes it look cut
// short, io.ErrUnexpectedEOF, which etcd repairs by dropping the record.)
// The inverted bytes are not all zero afterwards, so etcd cannot take the
// record for a torn write either. A record without data (a CRC record)
// is garbled in its middle.
func GarbleWALTail(wal []byte) (WALGarble, error) {
	last, lastLen := int64(-1), 0
	for off := int64(0); off+8 <= int64(len(wal)); {
		lf := binary.LittleEndian.Uint64(wal[off:])
		if lf == 0 {
			break // preallocated space
		}
		n := int64(lf & (1<<56 - 1))
		if lf>>63 != 0 {
			n += int64((lf >> 56) & 0x7)
		}
		if n <= 0 || off+8+n > int64(len(wal)) {
			return WALGarble{}, fmt.Errorf("garble the WAL tail: frame at byte %d of %d bytes runs past the file (%d bytes)", off, n, len(wal))
		}
		last, lastLen = off, int(lf&(1<<56-1))
		off += 8 + n
	}
	if last < 0 || lastLen == 0 {
		return WALGarble{}, errors.New("garble the WAL tail: no record in the segment")
	}
	rec := wal[last+8 : last+8+int64(lastLen)]
	start, size := 0, lastLen
	if off, dn, ok := protoBytesField(rec, 3); ok && dn > 0 {
		start, size = off, dn
	}
	n := min(walGarb, size)
	at := last + 8 + int64(start) + int64(size-n)/2
	g := WALGarble{Record: last, RecordLen: lastLen, Offset: at, Before: slices.Clone(wal[at : at+int64(n)])}
	if size != lastLen {
		g.Payload, g.PayloadLen = last+8+int64(start), size
	}
	for i := range n {
		wal[at+int64(i)] ^= 0xff
	}
	g.After = slices.Clone(wal[at : at+int64(n)])
	return g, nil
}
