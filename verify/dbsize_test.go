package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestDBShrank(t *testing.T) {
	const mib = 1 << 20
	shrunk := []DBSize{{"m1", 4 * mib, 700 << 10}, {"m2", 4 * mib, 690 << 10}, {"m3", 4*mib + 4096, 700 << 10}}
	for _, tc := range []struct {
		name    string
		sizes   []DBSize
		want    record.Verdict
		mention string // a word the summary must hold
	}{
		{"every member shrank", shrunk, record.Pass, "3 members shrank"},
		{"one member did not shrink", []DBSize{shrunk[0], {"m2", 4 * mib, 4 * mib}, shrunk[2]}, record.Fail, "m2"},
		{"one member grew", []DBSize{shrunk[0], shrunk[1], {"m3", 4 * mib, 5 * mib}}, record.Fail, "m3"},
		{"a size is missing after", []DBSize{shrunk[0], {"m2", 4 * mib, 0}}, record.Fail, "m2"},
		{"a size is missing before", []DBSize{{"m1", 0, 700 << 10}}, record.Fail, "m1"},
		{"nothing observed", nil, record.Fail, "no database sizes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DBShrank(tc.sizes)
			if c.Name != "db-size" || c.Verdict != tc.want {
				t.Fatalf("DBShrank = %s %s (%s), want %s", c.Name, c.Verdict, c.Summary, tc.want)
			}
			if !strings.Contains(c.Summary, tc.mention) {
				t.Errorf("summary %q does not mention %q", c.Summary, tc.mention)
			}
			if len(c.Details) != len(tc.sizes) {
				t.Errorf("%d detail lines for %d members", len(c.Details), len(tc.sizes))
			}
		})
	}
}
