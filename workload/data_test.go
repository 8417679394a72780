package workload

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseDataSpec(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   DataSpec
		String string
	}{
		{"", DataSpec{}, ""},
		{"1GiB", DataSpec{Profile: "k8s", Bytes: 1 << 30}, "k8s 1GiB"},
		{"512MiB", DataSpec{Profile: "k8s", Bytes: 512 << 20}, "k8s 512MiB"},
		{"64MB", DataSpec{Profile: "k8s", Bytes: 64e6}, "k8s 64MB"},
		{"2G", DataSpec{Profile: "k8s", Bytes: 2e9}, "k8s 2GB"},
		{"1.5Gi", DataSpec{Profile: "k8s", Bytes: 3 << 29}, "k8s 1536MiB"},
		{" k8s:1GiB ", DataSpec{Profile: "k8s", Bytes: 1 << 30}, "k8s 1GiB"},
		{"K8S:8GiB", DataSpec{Profile: "k8s", Bytes: 8 << 30}, "k8s 8GiB"},
		{"uniform:1GiB", DataSpec{Profile: "uniform", Bytes: 1 << 30, ValueSize: 1024}, "uniform 1GiB"},
		{"uniform:100000x10KiB", DataSpec{Profile: "uniform", Keys: 100000, ValueSize: 10 << 10}, "uniform 100000×10KiB"},
		{"uniform:1000000X100", DataSpec{Profile: "uniform", Keys: 1000000, ValueSize: 100}, "uniform 1000000×100B"},
		{"uniform:10×1MiB", DataSpec{Profile: "uniform", Keys: 10, ValueSize: 1 << 20}, "uniform 10×1MiB"},
		// The canonical forms parse back.
		{"k8s 1GiB", DataSpec{Profile: "k8s", Bytes: 1 << 30}, "k8s 1GiB"},
		{"uniform 100000×10KiB", DataSpec{Profile: "uniform", Keys: 100000, ValueSize: 10 << 10}, "uniform 100000×10KiB"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDataSpec(tc.in)
			if err != nil {
				t.Fatalf("ParseDataSpec(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseDataSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.String {
				t.Errorf("String() = %q, want %q", s, tc.String)
			}
			if got.IsZero() != (tc.in == "") {
				t.Errorf("IsZero() = %v", got.IsZero())
			}
		})
	}
}

func TestParseDataSpecRefuses(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"lots", "not a number"},
		{"1GiBs", "unknown unit"},
		{"1TB", "unknown unit"},
		{"0", "less than one byte"},
		{"-1GiB", "not a number"},
		{"9GiB", "largest quota"},
		{"k8s:", "not a number"},
		{"k8s:100x1KiB", "not a number"},
		{"zipf:1GiB", "unknown profile"},
		{"uniform:10x2MiB", "request limit"},
		{"uniform:x1KiB", "key count"},
		{"uniform:0x1KiB", "key count"},
		{"uniform:100000000x1KiB", "largest quota"},
		{"uniform:1.5x1KiB", "key count"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseDataSpec(tc.in)
			if err == nil {
				t.Fatalf("ParseDataSpec(%q) accepted", tc.in)
			}
			if !errors.Is(err, ErrDataSpec) {
				t.Errorf("error does not wrap ErrDataSpec: %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.why) || !strings.Contains(msg, "want a size such as") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line saying %q and the expected forms", msg, tc.why)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	if p := (DataSpec{Bytes: 1}).Prefix(); p != "/registry/" {
		t.Errorf("k8s prefix %q", p)
	}
	if p := (DataSpec{Profile: "uniform", Keys: 1}).Prefix(); p != "/etcdrill-data/" {
		t.Errorf("uniform prefix %q", p)
	}
}

func TestIndexRoundTrip(t *testing.T) {
	for _, spec := range []DataSpec{
		{Profile: "k8s", Bytes: 64 << 20},
		{Profile: "uniform", Keys: 12345, ValueSize: 10},
	} {
		t.Run(spec.String(), func(t *testing.T) {
			d := NewDataset(spec)
			check := func(i int) {
				k := d.Key(i)
				if !strings.HasPrefix(k, d.Prefix()) {
					t.Fatalf("key %d %q outside prefix %q", i, k, d.Prefix())
				}
				if got, ok := d.Index([]byte(k)); !ok || got != i {
					t.Fatalf("Index(Key(%d) = %q) = %d, %v", i, k, got, ok)
				}
			}
			check(0)
			check(d.Len() - 1)
			r := rand.New(rand.NewPCG(1, 2))
			for range 5000 {
				check(r.IntN(d.Len()))
			}
			k := d.Key(d.Len() / 2)
			for _, bad := range []string{
				"", d.Prefix(), "/other/" + k, k + "0", k[:len(k)-1] + "x", strings.Replace(k, d.Prefix(), "/", 1),
				d.Prefix() + "events/default/web.12345", d.Key(d.Len()-1) + "1",
				d.Prefix() + "9999999999",
			} {
				if i, ok := d.Index([]byte(bad)); ok {
					t.Errorf("Index(%q) = %d, want not a dataset key", bad, i)
				}
			}
		})
	}
}

func TestIndexAllocatesNothing(t *testing.T) {
	d := NewDataset(DataSpec{Bytes: 16 << 20})
	k := []byte(d.Key(77))
	if n := testing.AllocsPerRun(100, func() { d.Index(k) }); n != 0 {
		t.Errorf("Index allocates %v times per call", n)
	}
}

// TestK8sShape checks the k8s profile hits its byte target and looks like
// a Kubernetes etcd: every resource present, values in protobuf storage
// form, sizes from hundreds of bytes to tens of KiB.
func TestK8sShape(t *testing.T) {
	const target = 256 << 20
	d := NewDataset(DataSpec{Bytes: target})
	if d.Bytes() < target || d.Bytes() > target+64<<10 {
		t.Fatalf("Bytes() = %d, want about %d", d.Bytes(), target)
	}
	var sum int64
	type agg struct {
		n, bytes, min, max int
	}
	per := map[string]*agg{}
	for i := range d.Len() {
		k, v := d.Key(i), d.Value(i)
		sum += int64(len(k) + len(v))
		if !bytes.HasPrefix(v, []byte("k8s\x00")) {
			t.Fatalf("value %d does not start with k8s\\x00: %q", i, v[:8])
		}
		if i%7 == 0 && len(v) != d.valueLen(i) {
			t.Fatalf("value %d is %d bytes, layout says %d", i, len(v), d.valueLen(i))
		}
		res := strings.SplitN(strings.TrimPrefix(k, "/registry/"), "/", 2)[0]
		a := per[res]
		if a == nil {
			a = &agg{min: len(v)}
			per[res] = a
		}
		a.n++
		a.bytes += len(v)
		a.min, a.max = min(a.min, len(v)), max(a.max, len(v))
	}
	if sum != d.Bytes() {
		t.Errorf("keys and values sum to %d, Bytes() says %d", sum, d.Bytes())
	}
	for _, r := range k8sResources {
		res := strings.SplitN(r.path, "/", 2)[0]
		a := per[res]
		if a == nil {
			t.Errorf("no %s", r.path)
			continue
		}
		t.Logf("%-26s %6d keys %5.1f%% of bytes, values %d..%d B, mean %d B", r.path, a.n, 100*float64(a.bytes)/float64(sum), a.min, a.max, a.bytes/a.n)
	}
	pods := per["pods"]
	if mean := pods.bytes / pods.n; mean < 3<<10 || mean > 7<<10 {
		t.Errorf("pods mean %d B, want 3..7 KiB", mean)
	}
	if per["configmaps"].max < 20<<10 || per["leases"].max > 512 {
		t.Errorf("configmaps up to %d B (want some above 20 KiB), leases up to %d B (want about 300 B)", per["configmaps"].max, per["leases"].max)
	}
}

func TestValuesDeterministic(t *testing.T) {
	a := NewDataset(DataSpec{Bytes: 8 << 20, Seed: 3})
	b := NewDataset(DataSpec{Bytes: 8 << 20, Seed: 3})
	c := NewDataset(DataSpec{Bytes: 8 << 20, Seed: 4})
	if a.Key(5) != b.Key(5) || !bytes.Equal(a.Value(5), b.Value(5)) {
		t.Fatal("same seed gave different data")
	}
	if bytes.Equal(a.Value(5), c.Value(5)) {
		t.Fatal("different seeds gave the same value")
	}
	if bytes.Equal(a.AppendValue(nil, 5, 0), a.AppendValue(nil, 5, 1)) {
		t.Fatal("generations 0 and 1 gave the same value")
	}
	if a.Hash(5) != HashValue(a.Value(5)) {
		t.Fatal("Hash differs from HashValue of Value")
	}
	u := NewDataset(DataSpec{Profile: "uniform", Keys: 10, ValueSize: 100})
	if n := len(u.Value(3)); n != 100 {
		t.Fatalf("uniform value of %d bytes, want 100", n)
	}
}

func TestUniformSize(t *testing.T) {
	d := NewDataset(DataSpec{Profile: "uniform", Bytes: 1 << 20, ValueSize: 1 << 10})
	if want := (1 << 20) / (1024 + uniformKeyLen); d.Len() != want {
		t.Errorf("Len() = %d, want %d", d.Len(), want)
	}
	if len(d.Key(0)) != uniformKeyLen {
		t.Errorf("key %q is not %d bytes", d.Key(0), uniformKeyLen)
	}
	if d.Key(1) <= d.Key(0) || d.Key(10) <= d.Key(9) {
		t.Errorf("uniform keys do not sort in index order")
	}
}

func TestBatches(t *testing.T) {
	for _, spec := range []DataSpec{{Bytes: 32 << 20}, {Profile: "uniform", Keys: 1000, ValueSize: 600 << 10}} {
		d := NewDataset(spec)
		starts := d.batches(128, 1<<20)
		d.load.starts = starts
		seen := 0
		for b := range starts {
			lo, hi := d.batchRange(b)
			if lo != seen || hi <= lo || hi-lo > 128 {
				t.Fatalf("%s: batch %d is [%d, %d) after %d", spec, b, lo, hi, seen)
			}
			size := 0
			for i := lo; i < hi; i++ {
				size += len(d.Key(i)) + len(d.Value(i))
			}
			if size > 1<<20 && hi-lo > 1 {
				t.Fatalf("%s: batch %d holds %d bytes", spec, b, size)
			}
			seen = hi
		}
		if seen != d.Len() {
			t.Fatalf("%s: batches cover %d of %d keys", spec, seen, d.Len())
		}
	}
}

func TestNewDatasetClamps(t *testing.T) {
	for _, spec := range []DataSpec{
		{}, {Profile: "nonsense", Bytes: 1 << 20}, {Profile: "uniform", Keys: 3, ValueSize: 10 << 20},
		{Bytes: -5}, {Profile: "uniform", Bytes: 1},
	} {
		d := NewDataset(spec)
		for i := range min(d.Len(), 3) {
			if len(d.Value(i)) > MaxValueSize {
				t.Errorf("%+v: value of %d bytes", spec, len(d.Value(i)))
			}
		}
		t.Logf("%+v: %d keys", spec, d.Len())
	}
}

func BenchmarkValues(b *testing.B) {
	for _, spec := range []DataSpec{{Bytes: 64 << 20}, {Profile: "uniform", Keys: 100000, ValueSize: 100}} {
		b.Run(spec.String(), func(b *testing.B) {
			d := NewDataset(spec)
			var buf []byte
			var n int64
			i := 0
			for b.Loop() {
				buf = d.AppendValue(buf[:0], i%d.Len(), 0)
				HashValue(buf)
				n += int64(len(buf))
				i++
			}
			b.ReportMetric(float64(n)/1e6/b.Elapsed().Seconds(), "MB/s")
		})
	}
}

func ExampleParseDataSpec() {
	s, _ := ParseDataSpec("uniform:100000x10KiB")
	fmt.Println(s, s.Prefix())
	// Output: uniform 100000×10KiB /etcdrill-data/
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"", 0}, {"1GiB", 1 << 30}, {"uniform:1GiB", 1 << 30}, {"uniform:1000x100", int64(1000 * (100 + uniformKeyLen))}} {
		s, err := ParseDataSpec(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Size(); got != tc.want {
			t.Errorf("%q: Size() = %d, want %d", tc.in, got, tc.want)
		}
		if d := NewDataset(s); s.Profile == ProfileUniform && s.Keys > 0 && d.Bytes() != tc.want {
			t.Errorf("%q: dataset of %d bytes, Size() says %d", tc.in, d.Bytes(), tc.want)
		}
	}
}
