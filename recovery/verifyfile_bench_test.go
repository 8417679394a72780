package recovery

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// genSpec shapes a generated snapshot (writeGenSnapshot): keys user keys,
// values of value bytes on average.
type genSpec struct {
	keys  int
	value int
}

// The history writeGenSnapshot writes, in revision order: every key put;
// every 4th put again; every 10th (from key 1) deleted; every 20th (from
// key 1) put again after its delete. One key in 64 has a value 8 times
// the average, over several pages. Key names are not in revision order,
// so the reader must sort them.
func (s genSpec) history(fn func(i int, del bool)) {
	for i := range s.keys {
		fn(i, false)
	}
	for i := 0; i < s.keys; i += 4 {
		fn(i, false)
	}
	for i := 1; i < s.keys; i += 10 {
		fn(i, true)
	}
	for i := 1; i < s.keys; i += 20 {
		fn(i, false)
	}
}

func genKey(i int) string { return fmt.Sprintf("/registry/pods/ns-%03d/pod-%08d", i%997, i) }

// writeGenSnapshot writes at path a snapshot as `etcdctl snapshot save`
// does, of a database laid out as etcd's (revision keys in the "key"
// bucket, mvccpb.KeyValue values, tombstones marked 't', the storage
// version in an inline "meta" bucket) and as bbolt lays out pages (1.3
// to 1.5, 4096-byte pages, full leaves, branch levels up to one root),
// with the history of s. It returns the keyspace left when keep is set
// (else nil), and the number of live keys. bbolt is no dependency of
// this module, hence a writer here; its files open in bbolt 1.5, whose
// Tx.Check finds nothing wrong with them.
func writeGenSnapshot(path string, s genSpec, keep bool) (map[string]string, int, error) {
	const ps = 4096
	out, err := os.Create(path)
	if err != nil {
		return nil, 0, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	next := uint64(0)
	var page []byte
	// writePage writes page p, whose length is whole pages, giving it the
	// next page id.
	writePage := func(flags uint16, count int) (uint64, error) {
		id := next
		next += uint64(len(page) / ps)
		binary.LittleEndian.PutUint64(page[0:], id)
		binary.LittleEndian.PutUint16(page[8:], flags)
		binary.LittleEndian.PutUint16(page[10:], uint16(count))
		binary.LittleEndian.PutUint32(page[12:], uint32(len(page)/ps-1))
		_, err := w.Write(page)
		return id, err
	}
	// layout lays out a leaf (or, with branch, a branch page of child
	// ids) of elements in page, grown to whole pages, or to just the
	// bytes when inline.
	type elem struct {
		flags uint32
		k, v  []byte
		child uint64
	}
	layout := func(els []elem, branch, inline bool) {
		n := pageHeaderSize + len(els)*pageElementSize
		for _, e := range els {
			n += len(e.k) + len(e.v)
		}
		if !inline {
			n = (n + ps - 1) / ps * ps
		}
		page = append(page[:0], make([]byte, n)...)
		data := pageHeaderSize + len(els)*pageElementSize
		for i, e := range els {
			el := page[pageHeaderSize+i*pageElementSize:]
			if branch {
				binary.LittleEndian.PutUint32(el[0:], uint32(data-(pageHeaderSize+i*pageElementSize)))
				binary.LittleEndian.PutUint32(el[4:], uint32(len(e.k)))
				binary.LittleEndian.PutUint64(el[8:], e.child)
			} else {
				binary.LittleEndian.PutUint32(el[0:], e.flags)
				binary.LittleEndian.PutUint32(el[4:], uint32(data-(pageHeaderSize+i*pageElementSize)))
				binary.LittleEndian.PutUint32(el[8:], uint32(len(e.k)))
				binary.LittleEndian.PutUint32(el[12:], uint32(len(e.v)))
			}
			data += copy(page[data:], e.k)
			data += copy(page[data:], e.v)
		}
	}
	size := func(els []elem) int {
		n := pageHeaderSize
		for _, e := range els {
			n += pageElementSize + len(e.k) + len(e.v)
		}
		return n
	}

	// Pages 0 and 1 are the meta pages, written last; 2 the freelist.
	page = make([]byte, 3*ps)
	binary.LittleEndian.PutUint64(page[2*ps:], 2)
	binary.LittleEndian.PutUint16(page[2*ps+8:], 0x10)
	if _, err := w.Write(page); err != nil {
		return nil, 0, err
	}
	next = 3

	// The "key" bucket's leaves, in revision order.
	var children []elem // first key and id of each page of the level below
	var leaf []elem
	flush := func() error {
		if len(leaf) == 0 {
			return nil
		}
		layout(leaf, false, false)
		id, err := writePage(leafPageFlag, len(leaf))
		children = append(children, elem{k: leaf[0].k, child: id})
		leaf = leaf[:0]
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(s.keys), uint64(s.value)))
	src := rand.NewChaCha8([32]byte{1})
	live := make([]bool, s.keys)
	versions := make([]int64, s.keys)
	var want map[string]string
	if keep {
		want = map[string]string{}
	}
	rev := int64(1)
	var werr error
	s.history(func(i int, del bool) {
		if werr != nil {
			return
		}
		rev++
		k := genKey(i)
		rk := binary.BigEndian.AppendUint64(make([]byte, 0, tombstoneLen), uint64(rev))
		rk = binary.BigEndian.AppendUint64(append(rk, '_'), 0)
		kv := mvccpb.KeyValue{Key: []byte(k), ModRevision: rev}
		if del {
			rk = append(rk, 't')
			live[i], versions[i] = false, 0
			delete(want, k)
		} else {
			n := s.value/2 + rng.IntN(s.value+1)
			if i%64 == 5 {
				n *= 8
			}
			kv.Value = make([]byte, n)
			src.Read(kv.Value)
			versions[i]++
			kv.Version, kv.CreateRevision = versions[i], rev
			live[i] = true
			if keep {
				want[k] = string(kv.Value)
			}
		}
		v, err := kv.Marshal()
		if err != nil {
			werr = err
			return
		}
		e := elem{k: rk, v: v}
		if len(leaf) > 0 && size(leaf)+size([]elem{e})-pageHeaderSize > ps {
			werr = flush()
		}
		leaf = append(leaf, e)
	})
	if werr == nil {
		werr = flush()
	}
	if werr != nil {
		return nil, 0, werr
	}
	// Branch levels up to the root of the "key" bucket.
	for len(children) > 1 {
		var level []elem
		var branch []elem
		for _, c := range children {
			if len(branch) > 0 && size(branch)+size([]elem{c})-pageHeaderSize > ps {
				layout(branch, true, false)
				id, err := writePage(branchPageFlag, len(branch))
				if err != nil {
					return nil, 0, err
				}
				level, branch = append(level, elem{k: branch[0].k, child: id}), nil
			}
			branch = append(branch, c)
		}
		layout(branch, true, false)
		id, err := writePage(branchPageFlag, len(branch))
		if err != nil {
			return nil, 0, err
		}
		children = append(level, elem{k: branch[0].k, child: id})
	}

	// The root bucket: "key", and "meta" inline.
	layout([]elem{
		{k: []byte("consistent_index"), v: binary.BigEndian.AppendUint64(nil, uint64(rev+10))},
		{k: []byte("storageVersion"), v: []byte("3.6.0")},
		{k: []byte("term"), v: binary.BigEndian.AppendUint64(nil, 2)},
	}, false, true)
	binary.LittleEndian.PutUint16(page[8:], leafPageFlag)
	binary.LittleEndian.PutUint16(page[10:], 3)
	inline := append(make([]byte, bucketHeaderSize), page...)
	layout([]elem{
		{flags: bucketLeafFlag, k: []byte("key"), v: binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, children[0].child), 0)},
		{flags: bucketLeafFlag, k: []byte("meta"), v: inline},
	}, false, false)
	root, err := writePage(leafPageFlag, 2)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return nil, 0, err
	}

	// The meta pages, as Tx.WriteTo writes them (txid t and t-1), then
	// the sha256 of it all.
	for id := range uint64(2) {
		m := make([]byte, ps)
		binary.LittleEndian.PutUint64(m[0:], id)
		binary.LittleEndian.PutUint16(m[8:], 0x04)
		b := m[pageHeaderSize:]
		binary.LittleEndian.PutUint32(b[0:], boltMagic)
		binary.LittleEndian.PutUint32(b[4:], boltVersion)
		binary.LittleEndian.PutUint32(b[8:], ps)
		binary.LittleEndian.PutUint64(b[16:], root)
		binary.LittleEndian.PutUint64(b[32:], 2)
		binary.LittleEndian.PutUint64(b[40:], next)
		binary.LittleEndian.PutUint64(b[48:], 9-id)
		h := fnv.New64a()
		h.Write(b[:metaSumLen])
		binary.LittleEndian.PutUint64(b[metaSumLen:], h.Sum64())
		if _, err := out.WriteAt(m, int64(id*ps)); err != nil {
			return nil, 0, err
		}
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, out); err != nil {
		return nil, 0, err
	}
	if _, err := out.Write(h.Sum(nil)); err != nil {
		return nil, 0, err
	}
	n := 0
	for _, l := range live {
		if l {
			n++
		}
	}
	return want, n, out.Close()
}

// benchSpecDefault makes a file of about 64 MiB: quick to write once and
// to read in each iteration, large enough that holding it would show.
var benchSpecDefault = genSpec{keys: 24000, value: 1536}

// benchSnapshot is the file BenchmarkReadSnapshotFile reads: the one
// ETCDRILL_BENCH_SNAPSHOT names; else one generated with
// ETCDRILL_BENCH_KEYS keys of ETCDRILL_BENCH_VALUE bytes on average
// (default benchSpecDefault; 726000 keys make 2 GiB), cached under
// os.TempDir() by its shape so that later runs reuse it.
func benchSnapshot(b *testing.B) string {
	if p := os.Getenv("ETCDRILL_BENCH_SNAPSHOT"); p != "" {
		return p
	}
	s := benchSpecDefault
	for env, p := range map[string]*int{"ETCDRILL_BENCH_KEYS": &s.keys, "ETCDRILL_BENCH_VALUE": &s.value} {
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				b.Fatalf("%s=%q: want a positive number", env, v)
			}
			*p = n
		}
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("etcdrill-bench-v1-%d-%d.db", s.keys, s.value))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp, err := os.CreateTemp(os.TempDir(), "etcdrill-bench-*.db")
	if err != nil {
		b.Skipf("no snapshot to read: ETCDRILL_BENCH_SNAPSHOT is unset and none can be generated: %v", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	start := time.Now()
	if _, _, err := writeGenSnapshot(tmp.Name(), s, false); err != nil {
		b.Skipf("no snapshot to read: ETCDRILL_BENCH_SNAPSHOT is unset and generating one failed: %v", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		b.Skipf("no snapshot to read: ETCDRILL_BENCH_SNAPSHOT is unset and the generated one cannot be kept: %v", err)
	}
	b.Logf("generated %s in %s", path, time.Since(start).Round(time.Millisecond))
	return path
}

// heapSampler records the peak of the heap in use (runtime/metrics, the
// same as MemStats.HeapInuse, without stopping the world) while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan uint64)}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		peak := read()
		for {
			select {
			case <-t.C:
				peak = max(peak, read())
			case <-s.stop:
				s.done <- max(peak, read())
				return
			}
		}
	}()
	return s
}

// Peak stops the sampler and returns the peak in bytes.
func (s *heapSampler) Peak() uint64 {
	close(s.stop)
	return <-s.done
}

// BenchmarkReadSnapshotFile reads a snapshot file as `etcdrill snapshot
// verify` does before it starts anything: integrity, status and keyspace
// digest. Besides time it reports the file's throughput (MB/s) and the
// peak heap in use (peak-heap-MiB), which must stay bounded by the live
// keys, not grow with the file (ETCDRILL_BENCH_SNAPSHOT, or a generated
// file: see benchSnapshot).
func BenchmarkReadSnapshotFile(b *testing.B) {
	path := benchSnapshot(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	f, err := ReadSnapshotFile(path) // warms the page cache
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d MiB, %s, %d live keys", path, fi.Size()>>20, f.Integrity.Kind, f.KeyCount)
	runtime.GC()
	heap := sampleHeap()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC() // the peak is one read's, not one's and the last's garbage
		b.StartTimer()
		if _, err := ReadSnapshotFile(path); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(heap.Peak())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(fi.Size())*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// BenchmarkSnapshotFileKeys iterates a snapshot file's live keys in order
// (SnapshotFile.Keys), as a comparison with a restored cluster does. Its
// MB/s is of the whole file, of which it reads only the live values.
func BenchmarkSnapshotFileKeys(b *testing.B) {
	path := benchSnapshot(b)
	f, err := ReadSnapshotFile(path)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	heap := sampleHeap()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		n := 0
		if err := f.Keys(func(k, v []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != f.KeyCount {
			b.Fatalf("%d keys, want %d", n, f.KeyCount)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(heap.Peak())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(f.Size)*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
}
