package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

func TestLatest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(w workload.Write, s int) workload.Write {
		w.Start = t0.Add(time.Duration(s) * time.Second)
		return w
	}
	// /fill/a: v1, v2 acknowledged, v3 refused. /fill/b: v1 acknowledged,
	// v2 indeterminate after it. /fill/c: only refused.
	writes := []workload.Write{
		at(ack("/fill/a", "a1", 10), 1), at(ack("/fill/b", "b1", 11), 2), at(ack("/fill/a", "a2", 12), 3),
		at(write("/fill/b", "b2", workload.Indeterminate, 0), 4),
		at(write("/fill/a", "a3", workload.Failed, 0), 5), at(write("/fill/c", "c1", workload.Failed, 0), 6),
	}
	kv := func(k, v string) KV { return KV{Key: []byte(k), Value: []byte(v)} }
	for _, tc := range []struct {
		name     string
		writes   []workload.Write
		observed []KV
		want     record.Verdict
		detail   string // a detail line must contain it
	}{
		{"last acknowledged values", writes, []KV{kv("/fill/a", "a2"), kv("/fill/b", "b1")}, record.Pass, ""},
		{"indeterminate write after the last ack landed", writes, []KV{kv("/fill/a", "a2"), kv("/fill/b", "b2")}, record.Pass, ""},
		{"older acknowledged value", writes, []KV{kv("/fill/a", "a1"), kv("/fill/b", "b1")}, record.Fail, "stale: /fill/a: holds"},
		{"refused value present", writes, []KV{kv("/fill/a", "a3"), kv("/fill/b", "b1")}, record.Fail, "refused write"},
		{"value never written", writes, []KV{kv("/fill/a", "zz"), kv("/fill/b", "b1")}, record.Fail, "never written"},
		{"key lost", writes, []KV{kv("/fill/b", "b1")}, record.Fail, "missing: /fill/a"},
		{"refused-only key present", writes, []KV{kv("/fill/a", "a2"), kv("/fill/b", "b1"), kv("/fill/c", "c1")}, record.Fail, "/fill/c"},
		{"key never written", writes, []KV{kv("/fill/a", "a2"), kv("/fill/b", "b1"), kv("/fill/x", "x")}, record.Fail, "unexpected: /fill/x"},
		{"empty ledger", nil, nil, record.Fail, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Latest(tc.writes, tc.observed)
			if c.Name != "overwritten-keys" || c.Verdict != tc.want {
				t.Fatalf("Latest = %s %s: %s %v, want %s", c.Name, c.Verdict, c.Summary, c.Details, tc.want)
			}
			if tc.detail != "" && !strings.Contains(strings.Join(c.Details, "\n"), tc.detail) {
				t.Errorf("details %q lack %q", c.Details, tc.detail)
			}
		})
	}
}
