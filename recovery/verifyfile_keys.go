package recovery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// keyIndex is what the offline reader keeps of a snapshot's "key" bucket,
// whose keys are revisions and whose values are mvccpb.KeyValue: for each
// user key whose newest revision is a put, where that revision's value
// lies in the file. It is built in revision order (pass 1, add), then
// sorted and read back in key order (pass 2, each, as often as needed;
// it is read-only then). It holds keys and file offsets, never
// values: its memory is the keys' bytes plus about 30 bytes a key,
// whatever the size of the values or the file.
//
// It is a hash table of its own rather than a Go map: a map of strings
// costs an allocation, a string header and the map's slack per key, more
// than twice as much, and a snapshot may hold millions of keys. Keys are
// packed in an arena of large chunks, entries in fixed chunks, and the
// table (open addressing, linear probing) holds entry numbers, with a
// byte of each key's hash beside it so that a probe rarely has to look
// at another key to pass it.
type keyIndex struct {
	arena   [][]byte       // each key after its uvarint length; chunks never move
	entries [][]indexEntry // in chunks of entryChunk, never moved
	n       uint32         // entries used
	free    []uint32       // entries a tombstone left unused
	table   []uint32       // slotEmpty, slotDeleted, or an entry number+1
	tags    []uint8        // the top byte of the hash of each slot's key
	order   []uint32       // once sorted: the live entries in key order
	used    int            // table slots not empty (live or deleted)
	live    int            // live keys
	seed    maphash.Seed
	kv      mvccpb.KeyValue // pass 1 decodes in place, its buffers reused
}

// indexEntry is a live key, in 16 bytes: where its bytes are in the
// arena, and where its newest value (an encoded mvccpb.KeyValue) lies in
// the file and how long it is. Positions take 48 bits (256 TiB), the
// length 32, split across the two words.
type indexEntry struct {
	key uint64 // arena chunk<<32 | offset in it; the length's high 16 bits on top
	val uint64 // file offset; the length's low 16 bits on top
}

const (
	posBits     = 48
	posMask     = 1<<posBits - 1
	arenaChunk  = 1 << 20 // bytes of keys per arena chunk, once there are many
	maxChunks   = 1 << (posBits - 32)
	entryChunk  = 1 << 12 // entries per chunk (the first grows to it)
	slotEmpty   = 0
	slotDeleted = math.MaxUint32
	minTable    = 1 << 6
)

func makeEntry(keyPos uint64, voff int64, vlen uint32) indexEntry {
	return indexEntry{key: keyPos | uint64(vlen>>16)<<posBits, val: uint64(voff) | uint64(vlen&0xffff)<<posBits}
}

func (en indexEntry) keyPos() uint64 { return en.key & posMask }
func (en indexEntry) voff() int64    { return int64(en.val & posMask) }
func (en indexEntry) vlen() uint32   { return uint32(en.key>>posBits)<<16 | uint32(en.val>>posBits) }

func newKeyIndex() *keyIndex {
	return &keyIndex{table: make([]uint32, minTable), tags: make([]uint8, minTable), seed: maphash.MakeSeed()}
}

// len is the number of live keys.
func (ix *keyIndex) len() int { return ix.live }

// entry returns entry e.
func (ix *keyIndex) entry(e uint32) *indexEntry { return &ix.entries[e/entryChunk][e%entryChunk] }

// key returns the bytes of entry e's key, in the arena.
func (ix *keyIndex) key(e uint32) []byte {
	pos := ix.entry(e).keyPos()
	b := ix.arena[pos>>32][pos&math.MaxUint32:]
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)]
}

// find returns the slot of key in the table and its entry, or, when key
// is absent, the slot where to insert it; and the key's hash.
func (ix *keyIndex) find(key []byte) (slot int, e uint32, found bool, h uint64) {
	h = maphash.Bytes(ix.seed, key)
	tag, mask, reuse := uint8(h>>56), len(ix.table)-1, -1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch s := ix.table[i]; {
		case s == slotEmpty:
			if reuse >= 0 {
				return reuse, 0, false, h
			}
			return i, 0, false, h
		case s == slotDeleted:
			if reuse < 0 {
				reuse = i
			}
		case ix.tags[i] == tag && bytes.Equal(ix.key(s-1), key):
			return i, s - 1, true, h
		}
	}
}

// put makes key live with its value at voff, vlen bytes long.
func (ix *keyIndex) put(key []byte, voff int64, vlen uint32) error {
	if voff < 0 || voff > posMask {
		return fmt.Errorf("value at byte %d: beyond the %d bytes the offline reader can read", voff, int64(posMask))
	}
	slot, e, found, h := ix.find(key)
	if found {
		*ix.entry(e) = makeEntry(ix.entry(e).keyPos(), voff, vlen)
		return nil
	}
	pos, err := ix.store(key)
	if err != nil {
		return err
	}
	if len(ix.free) > 0 {
		e, ix.free = ix.free[len(ix.free)-1], ix.free[:len(ix.free)-1]
	} else {
		if ix.n == slotDeleted-1 {
			return fmt.Errorf("more than %d keys: beyond what the offline reader can index", ix.n)
		}
		e = ix.n
		ix.n++
		if int(e/entryChunk) == len(ix.entries) {
			n := entryChunk
			if len(ix.entries) == 0 {
				n = 16 // and append grows it: small files have few keys
			}
			ix.entries = append(ix.entries, make([]indexEntry, 0, n))
		}
		c := &ix.entries[e/entryChunk]
		*c = append(*c, indexEntry{})
	}
	*ix.entry(e) = makeEntry(pos, voff, vlen)
	if ix.table[slot] == slotEmpty {
		ix.used++
	}
	ix.table[slot], ix.tags[slot] = e+1, uint8(h>>56)
	ix.live++
	if ix.used*4 >= len(ix.table)*3 {
		ix.rehash()
	}
	return nil
}

// store copies key, after its length, into the arena and returns where.
func (ix *keyIndex) store(key []byte) (uint64, error) {
	need := binary.MaxVarintLen64 + len(key)
	c := len(ix.arena) - 1
	if c < 0 || len(ix.arena[c])+need > cap(ix.arena[c]) {
		if len(ix.arena) == maxChunks {
			return 0, fmt.Errorf("more than %d chunks of keys: beyond what the offline reader can index", maxChunks)
		}
		n := arenaChunk
		if c < 0 || cap(ix.arena[c]) < arenaChunk/2 { // small files have few keys
			n = 4 << 10
			if c >= 0 {
				n = 2 * cap(ix.arena[c])
			}
		}
		ix.arena = append(ix.arena, make([]byte, 0, max(n, need)))
		c++
	}
	off := len(ix.arena[c])
	ix.arena[c] = append(binary.AppendUvarint(ix.arena[c], uint64(len(key))), key...)
	return uint64(c)<<32 | uint64(off), nil
}

// remove makes key not live. Its bytes stay in the arena until the index
// is dropped; its entry is reused.
func (ix *keyIndex) remove(key []byte) {
	slot, e, found, _ := ix.find(key)
	if !found {
		return
	}
	ix.table[slot] = slotDeleted
	ix.free = append(ix.free, e)
	ix.live--
}

// rehash moves the live keys to a table sized for them, dropping the
// slots of removed keys.
func (ix *keyIndex) rehash() {
	size := minTable
	for ix.live*2 >= size { // at most half full after
		size *= 2
	}
	old := ix.table
	ix.table, ix.tags, ix.used = make([]uint32, size), make([]uint8, size), ix.live
	mask := size - 1
	for _, s := range old {
		if s == slotEmpty || s == slotDeleted {
			continue
		}
		h := maphash.Bytes(ix.seed, ix.key(s-1))
		i := int(h) & mask
		for ix.table[i] != slotEmpty {
			i = (i + 1) & mask
		}
		ix.table[i], ix.tags[i] = s, uint8(h>>56)
	}
}

// add folds one entry of the "key" bucket, whose value v lies at voff,
// into st and ix, as etcdutl does: keys are revisions in ascending order,
// so the last sets the revision; a put makes its key live at that value
// (a later put of the key replaces it), a tombstone removes it. Every
// value is decoded, so that a damaged one is found, as etcd would find it.
func (ix *keyIndex) add(st *SnapshotStatus, k, v []byte, voff int64) error {
	if len(k) != revBytesLen && len(k) != tombstoneLen {
		return fmt.Errorf("%w: revision key %x is %d bytes", ErrCorrupt, k, len(k))
	}
	st.Revision = int64(binary.BigEndian.Uint64(k[:8]))
	if err := decode(&ix.kv, v); err != nil {
		return fmt.Errorf("%w: value at revision %d: %v", ErrCorrupt, st.Revision, err)
	}
	if len(k) == tombstoneLen && k[revBytesLen] == 't' {
		ix.remove(ix.kv.Key)
		return nil
	}
	return ix.put(ix.kv.Key, voff, uint32(len(v)))
}

// decode decodes v into kv, reusing its buffers: Unmarshal sets only the
// fields v holds, so the rest is cleared first.
func decode(kv *mvccpb.KeyValue, v []byte) (err error) {
	defer func() { // generated code; a damaged value must not crash
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	*kv = mvccpb.KeyValue{Key: kv.Key[:0], Value: kv.Value[:0]}
	if cap(kv.Value) > bigBuffer {
		kv.Value = nil
	}
	return kv.Unmarshal(v)
}

// sort puts the live keys in ascending bytewise order, once. It sorts in
// the table's memory, then drops the table: no key can be added after.
func (ix *keyIndex) sort() {
	if ix.table == nil {
		return
	}
	order := ix.table[:0] // each slot is read before it is overwritten
	for _, s := range ix.table {
		if s != slotEmpty && s != slotDeleted {
			order = append(order, s-1)
		}
	}
	ix.table, ix.tags, ix.free, ix.kv = nil, nil, nil, mvccpb.KeyValue{}
	slices.SortFunc(order, func(a, b uint32) int { return bytes.Compare(ix.key(a), ix.key(b)) })
	ix.order = order // a copy would free the rest of the table, but raise the peak
}

// each calls fn for every live key and its value in ascending bytewise
// key order (pass 2): it sorts the keys (sort), then reads each value
// back from r where pass 1 found it. fn must not keep the slices: they
// are reused. A value that no longer decodes to its key means r changed
// since pass 1. Once the index is sorted, calls may run concurrently.
func (ix *keyIndex) each(r io.ReaderAt, fn func(k, v []byte) error) error {
	ix.sort()
	var buf []byte
	var kv mvccpb.KeyValue
	for _, e := range ix.order {
		k, voff, vlen := ix.key(e), ix.entry(e).voff(), ix.entry(e).vlen()
		if cap(buf) < int(vlen) || cap(buf) > bigBuffer {
			buf = make([]byte, vlen)
		}
		b := buf[:vlen]
		if err := readFullAt(r, b, voff); err != nil {
			return fmt.Errorf("reading the value of %q at byte %d: %w", k, voff, err)
		}
		if err := decode(&kv, b); err != nil {
			return fmt.Errorf("%w: the value of %q at byte %d no longer decodes (%v): the file changed while it was read", ErrCorrupt, k, voff, err)
		}
		if !bytes.Equal(kv.Key, k) {
			return fmt.Errorf("%w: the value of %q at byte %d is now of %q: the file changed while it was read", ErrCorrupt, k, voff, kv.Key)
		}
		if err := fn(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// digest is the keyspace digest of the live keys (keyspaceDigest) read
// from r, and their number.
func (ix *keyIndex) digest(r io.ReaderAt) (string, int, error) {
	d := newKeyspaceDigest()
	if err := ix.each(r, func(k, v []byte) error { d.add(k, v); return nil }); err != nil {
		return "", 0, err
	}
	sum, n := d.sum()
	return sum, n, nil
}

// errStop ends a walk early; it never leaves this package.
var errStop = errors.New("stop")
