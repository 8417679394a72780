package workload

import (
	"testing"
	"time"
)

// TestEventKeys: the keys traffic creates live under the dataset's
// prefix, never collide, and are never taken for dataset keys.
func TestEventKeys(t *testing.T) {
	for _, spec := range []DataSpec{{Bytes: 4 << 20}, {Profile: "uniform", Keys: 100, ValueSize: 8}} {
		d := NewDataset(spec)
		seen := map[string]bool{}
		for id := uint64(1); id <= 5000; id++ {
			k := d.eventKey(id, id*31)
			if seen[k] {
				t.Fatalf("%s: event key %q made twice", spec, k)
			}
			seen[k] = true
			if _, ok := d.Index([]byte(k)); ok {
				t.Fatalf("%s: event key %q taken for a dataset key", spec, k)
			}
			if k[:len(d.Prefix()+"events/")] != d.Prefix()+"events/" {
				t.Fatalf("%s: event key %q outside %sevents/", spec, k, d.Prefix())
			}
		}
	}
	v := eventValue(nil, 1, 9)
	if string(v[:4]) != "k8s\x00" || len(v) < 500 || len(v) > 1200 {
		t.Errorf("event value of %d bytes starting %q", len(v), v[:4])
	}
}

func TestClusters(t *testing.T) {
	d := NewDataset(DataSpec{Bytes: 1 << 20})
	if c := d.hist.cluster(0); c != 0 {
		t.Errorf("no cluster known: index %d, want 0", c)
	}
	for _, tc := range []struct {
		id   uint64
		want int
	}{{0xa, 0}, {0xa, 0}, {0, 0}, {0xb, 1}, {0, 1}, {0xa, 0}, {0xb, 1}} {
		if got := d.NoteCluster(tc.id); got != tc.want {
			t.Errorf("cluster(%x) = %d, want %d", tc.id, got, tc.want)
		}
	}
	if got := d.Clusters(); len(got) != 2 || got[0] != 0xa || got[1] != 0xb {
		t.Errorf("Clusters() = %x", got)
	}
}

func TestMutationsAreACopy(t *testing.T) {
	d := NewDataset(DataSpec{Bytes: 1 << 20})
	d.Record("k", Mutation{Op: OpUpdate, Outcome: Acknowledged, Revision: 5, Start: time.Now()})
	m := d.Mutations()
	m["k"][0].Revision = 99
	m["other"] = nil
	if got := d.Mutations(); len(got) != 1 || got["k"][0].Revision != 5 {
		t.Errorf("Mutations changed through a copy: %+v", got)
	}
}

func TestTrafficDefaults(t *testing.T) {
	k := NewDataset(DataSpec{Bytes: 1 << 20})
	c := TrafficConfig{}.withDefaults(k)
	if c.Rate != 50 || c.Workers <= 0 || c.Timeout <= 0 || c.CompactInterval != 30*time.Second || c.LeaseTTL < time.Hour {
		t.Errorf("defaults %+v", c)
	}
	if len(c.WatchPrefixes) != 3 || c.WatchPrefixes[0] != "/registry/pods/" {
		t.Errorf("k8s watch prefixes %q", c.WatchPrefixes)
	}
	u := NewDataset(DataSpec{Profile: "uniform", Keys: 10})
	if c := (TrafficConfig{CompactInterval: -1}).withDefaults(u); len(c.WatchPrefixes) != 1 || c.WatchPrefixes[0] != "/etcdrill-data/" || c.CompactInterval > 0 {
		t.Errorf("uniform defaults %+v", c)
	}
	total := 0
	for _, m := range trafficMix {
		total += m.weight
	}
	if total != 100 {
		t.Errorf("traffic mix sums to %d, want 100", total)
	}
}

// TestPickOwnsKeys: each worker picks only its own keys, so a key's
// mutations never overlap.
func TestPickOwnsKeys(t *testing.T) {
	d := NewDataset(DataSpec{Profile: "uniform", Keys: 1001, ValueSize: 8})
	tr := &Traffic{ds: d, cfg: TrafficConfig{Workers: 4}.withDefaults(d)}
	for id := range 4 {
		w := &worker{id: id, rng: newRand(1, id)}
		for range 2000 {
			i, ok := tr.pick(w)
			if !ok || i%4 != id || i >= d.Len() {
				t.Fatalf("worker %d picked %d (ok %v)", id, i, ok)
			}
		}
	}
	small := NewDataset(DataSpec{Profile: "uniform", Keys: 2, ValueSize: 8})
	tr = &Traffic{ds: small, cfg: TrafficConfig{Workers: 4}.withDefaults(small)}
	if _, ok := tr.pick(&worker{id: 3, rng: newRand(1, 3)}); ok {
		t.Error("a worker without keys picked one")
	}
}

func TestK8sResourceTable(t *testing.T) {
	total := 0
	for _, r := range k8sResources {
		total += r.weight
		if r.min <= 0 || r.max < r.min || (r.bigPermille > 0 && r.bigMax < r.bigMin) || len(r.stems) == 0 {
			t.Errorf("%s: bad sizes or names %+v", r.path, r)
		}
	}
	if total != len(k8sCumulative) {
		t.Errorf("weights sum to %d, want %d", total, len(k8sCumulative))
	}
	// Every size around the varint's length changes (128, 16384 bytes of
	// raw object), where a value may come out one byte short.
	var sizes []int
	for size := range 400 {
		sizes = append(sizes, size, 16300+size, 50000+size)
	}
	for _, size := range sizes {
		r := &k8sResources[size%len(k8sResources)]
		n := k8sValueLen(r, size)
		if v := appendK8sValue(nil, 1, uint64(size), 0, domainValue, r, n); len(v) != n || (n != size && size > len(r.header)+2 && n != size-1) {
			t.Fatalf("%s: size %d gives a value of %d bytes, layout says %d", r.path, size, len(v), n)
		}
	}
}
