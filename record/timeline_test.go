package record

import (
	"testing"
	"time"
)

func TestTimelineBucketsAndGaps(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ops := []Op{
		{at(0), at(10), "acknowledged"},
		{at(100), at(130), "acknowledged"},
		{at(200), at(2500), "indeterminate"}, // the outage: nothing ends in second 1
		{at(2600), at(2700), "failed"},
		{at(2800), at(2900), "acknowledged"},
	}
	s := Timeline(ops)
	if len(s) != 3 {
		t.Fatalf("%d samples, want 3 (seconds 0, 1 and 2)", len(s))
	}
	if s[0].Acknowledged != 2 || s[1].Acknowledged+s[1].Failed+s[1].Indeterminate != 0 {
		t.Fatalf("buckets: %+v", s)
	}
	if s[2].Acknowledged != 1 || s[2].Failed != 1 || s[2].Indeterminate != 1 {
		t.Fatalf("second 2: %+v", s[2])
	}
	if s[0].P50Millis != 10 || s[0].P99Millis != 30 {
		t.Fatalf("latency p50=%v p99=%v, want 10 and 30", s[0].P50Millis, s[0].P99Millis)
	}
	if Timeline(nil) != nil {
		t.Fatal("no ops, no timeline")
	}
}
