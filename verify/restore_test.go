package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestNewCluster(t *testing.T) {
	after := func(ids ...uint64) []Status {
		var st []Status
		for i, id := range ids {
			st = append(st, Status{Name: "m" + string(rune('1'+i)), ClusterID: id})
		}
		return st
	}
	for _, tc := range []struct {
		name   string
		before uint64
		after  []Status
		want   record.Verdict
		says   string
	}{
		{"new identity", 0xaa, after(0xbb, 0xbb, 0xbb), record.Pass, "aa → bb"},
		{"old identity kept", 0xaa, after(0xaa, 0xaa, 0xaa), record.Fail, "same as before"},
		{"members disagree", 0xaa, after(0xbb, 0xcc, 0xbb), record.Fail, "disagree"},
		{"nothing recorded before", 0, after(0xbb), record.Fail, "no cluster ID"},
		{"nothing observed after", 0xaa, nil, record.Fail, "disagree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCluster(tc.before, tc.after)
			if c.Verdict != tc.want || !strings.Contains(c.Summary, tc.says) {
				t.Fatalf("NewCluster = %s %q, want %s containing %q", c.Verdict, c.Summary, tc.want, tc.says)
			}
		})
	}
}
