package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

func TestStaleReads(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	put := func(v string, rev int64, call, ret int) Access {
		return Access{Write: true, Key: "k", Value: v, Revision: rev, Member: "m1", Call: at(call), Return: at(ret)}
	}
	get := func(v string, rev int64, call, ret int) Access {
		return Access{Key: "k", Value: v, Revision: rev, Member: "m3", Call: at(call), Return: at(ret)}
	}
	failed := func(a Access) Access { a.Err = "context deadline exceeded"; return a }
	for _, tc := range []struct {
		name  string
		ops   []Access
		stale int
	}{
		{"latest value", []Access{put("a", 5, 0, 10), get("a", 5, 20, 30)}, 0},
		{"newer than the write", []Access{put("a", 5, 0, 10), get("b", 9, 20, 30)}, 0},
		// The planted defect: the isolated member serves the value from
		// before the majority's write.
		{"planted stale read", []Access{put("a", 5, 0, 10), put("b", 7, 20, 30), get("a", 5, 40, 50)}, 1},
		{"key absent after an acknowledged write", []Access{put("a", 5, 0, 10), get("", 0, 20, 30)}, 1},
		{"same revision, other value", []Access{put("a", 5, 0, 10), get("x", 5, 20, 30)}, 1},
		{"concurrent with the write", []Access{put("b", 7, 0, 30), get("a", 5, 20, 40)}, 0},
		{"read failed", []Access{put("b", 7, 0, 10), failed(get("", 0, 20, 30))}, 0},
		{"write not acknowledged", []Access{failed(put("b", 7, 0, 10)), get("a", 5, 20, 30)}, 0},
		{"other key", []Access{{Write: true, Key: "j", Value: "z", Revision: 9, Return: at(10)}, get("a", 5, 20, 30)}, 0},
		{"no writes", []Access{get("a", 5, 20, 30)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := StaleReads(tc.ops)
			if len(r.Stale) != tc.stale {
				t.Fatalf("stale reads = %v, want %d", r.Stale, tc.stale)
			}
			c := r.Check("stale-read")
			if want := tc.stale == 0; c.Passed() != want {
				t.Fatalf("check passed = %v, want %v: %+v", c.Passed(), want, c)
			}
			if tc.stale > 0 && (len(c.Details) == 0 || !strings.Contains(c.Details[0], "stale: get k on m3")) {
				t.Errorf("details do not name the stale read: %v", c.Details)
			}
		})
	}
}

func TestHistoryOrdersByCall(t *testing.T) {
	var h History
	t0 := time.Now()
	h.Add(Access{Key: "b", Call: t0.Add(time.Second)})
	h.Add(Access{Key: "a", Call: t0})
	if got := h.Accesses(); got[0].Key != "a" || got[1].Key != "b" {
		t.Fatalf("accesses not in call order: %v", got)
	}
}

func TestStaleCheckCapsDetails(t *testing.T) {
	t0 := time.Now()
	ops := []Access{{Write: true, Key: "k", Value: "new", Revision: 10, Return: t0}}
	for i := 0; i < maxDetails+3; i++ {
		ops = append(ops, Access{Key: "k", Value: "old", Revision: 3, Call: t0.Add(time.Second)})
	}
	c := StaleReads(ops).Check("stale-read")
	if c.Verdict != record.Fail || len(c.Details) != maxDetails+1 {
		t.Fatalf("verdict %s with %d details, want fail with %d", c.Verdict, len(c.Details), maxDetails+1)
	}
}
