package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestV2Dropped(t *testing.T) {
	if c := V2Dropped(10, nil); c.Verdict != record.Pass {
		t.Fatalf("all v2 keys gone: %s %q", c.Verdict, c.Summary)
	}
	c := V2Dropped(10, []KV{{Key: []byte("/v2/k7"), Value: []byte("x")}})
	if c.Verdict != record.Fail || !strings.Contains(strings.Join(c.Details, "\n"), "/v2/k7") {
		t.Fatalf("a surviving v2 key must fail and be named: %s %v", c.Verdict, c.Details)
	}
	if c := V2Dropped(0, nil); c.Verdict != record.Fail {
		t.Fatalf("nothing written proves nothing: %s", c.Verdict)
	}
}
