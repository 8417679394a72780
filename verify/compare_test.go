package verify

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

// kvSource is a KeySource over sorted pairs.
type kvSource []KV

func (s kvSource) Keys(fn func(k, v []byte) error) error {
	for _, kv := range s {
		if err := fn(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

func sourceOf(n int) kvSource {
	var s kvSource
	for i := range n {
		s = append(s, KV{Key: fmt.Appendf(nil, "/k/%04d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	return s
}

func compare(src kvSource, served []KV) record.Check {
	fc := NewSourceCompare(context.Background(), src)
	defer fc.Stop()
	for _, kv := range served {
		fc.Observe(kv.Key, kv.Value)
	}
	return fc.Check("operator-keys")
}

func TestSourceCompareAllServed(t *testing.T) {
	src := sourceOf(100)
	// The drill's own keys, served but not in the file, are passed over.
	served := append([]KV{{Key: []byte("/etcdrill/x"), Value: []byte("1")}}, src...)
	c := compare(src, served)
	if c.Verdict != record.Pass || !strings.Contains(c.Summary, "100 of the snapshot's 100 keys") {
		t.Fatalf("got %s: %s", c.Verdict, c.Summary)
	}
}

func TestSourceCompareNamesMissingAndChanged(t *testing.T) {
	src := sourceOf(100)
	served := append([]KV(nil), src...)
	served = append(served[:10], served[11:]...) // /k/0010 dropped
	served[50] = KV{Key: served[50].Key, Value: []byte("other")}
	served = served[:len(served)-1] // the last key dropped too
	c := compare(src, served)
	if c.Verdict != record.Fail {
		t.Fatalf("planted defects not caught: %s", c.Summary)
	}
	want := []string{"missing: /k/0010", "missing: /k/0099", "changed: " + string(served[50].Key)}
	got := strings.Join(c.Details, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("details lack %q:\n%s", w, got)
		}
	}
	if !strings.Contains(c.Summary, "2 missing, 1 changed") {
		t.Errorf("summary %q", c.Summary)
	}
}

func TestSourceCompareBoundsDetails(t *testing.T) {
	c := compare(sourceOf(1000), nil)
	if c.Verdict != record.Fail || !strings.Contains(c.Summary, "1000 missing") {
		t.Fatalf("got %s", c.Summary)
	}
	if len(c.Details) != maxDetails+1 || !strings.Contains(c.Details[maxDetails], "980 more") {
		t.Fatalf("details not capped: %d lines, last %q", len(c.Details), c.Details[len(c.Details)-1])
	}
}
