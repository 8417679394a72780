package workload

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadOptionsDefaults(t *testing.T) {
	o := LoadOptions{}.withDefaults()
	if o.Workers != 8 || o.TxnOps != 128 || o.TxnBytes != 1<<20 || o.TxnTimeout <= 0 || o.Attempts < 2 {
		t.Errorf("defaults %+v", o)
	}
	o = LoadOptions{Workers: 3, TxnOps: 10}.withDefaults()
	if o.Workers != 3 || o.TxnOps != 10 {
		t.Errorf("set options overridden: %+v", o)
	}
}

// TestLoaded: a dataset Load never ran expects every key (the
// pure tests of DatasetCheck plant keyspaces that way), and a load's
// batch states map to outcomes.
func TestLoaded(t *testing.T) {
	d := NewDataset(DataSpec{Profile: "uniform", Keys: 1000, ValueSize: 10})
	if o, rev := d.Loaded(5); o != "" || rev != 0 {
		t.Fatalf("before Load: Loaded = %s, %d", o, rev)
	}
	d.load.starts = d.batches(128, 1<<20)
	d.load.revs = make([]atomic.Int64, len(d.load.starts))
	d.load.revs[0].Store(42)
	d.load.revs[1].Store(batchUnknown)
	d.load.ran.Store(true)
	for _, tc := range []struct {
		i    int
		want Outcome
		rev  int64
	}{{0, Acknowledged, 42}, {127, Acknowledged, 42}, {128, Indeterminate, 0}, {255, Indeterminate, 0}, {256, Failed, 0}, {999, Failed, 0}, {1000, "", 0}} {
		if o, rev := d.Loaded(tc.i); o != tc.want || rev != tc.rev {
			t.Errorf("Loaded(%d) = %s, %d; want %s, %d", tc.i, o, rev, tc.want, tc.rev)
		}
	}
}

func TestMBPerSecond(t *testing.T) {
	now := time.Now()
	s := LoadStats{Bytes: 50e6, Start: now, End: now.Add(2 * time.Second)}
	if got := s.MBPerSecond(); got != 25 {
		t.Errorf("MBPerSecond = %v, want 25", got)
	}
	if got := (LoadStats{}).MBPerSecond(); got != 0 {
		t.Errorf("empty MBPerSecond = %v", got)
	}
}
