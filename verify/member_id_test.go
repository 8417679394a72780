package verify

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestNewMemberID(t *testing.T) {
	list := func(m3 ...Member) []Member {
		return append([]Member{{Name: "m1", ID: 0x11}, {Name: "m2", ID: 0x22}}, m3...)
	}
	for _, tc := range []struct {
		name  string
		old   uint64
		after []Member
		want  record.Verdict
		says  string
	}{
		{"new id", 0x33, list(Member{Name: "m3", ID: 0x44}), record.Pass, "m3 id 33 → 44"},
		{"id did not change", 0x33, list(Member{Name: "m3", ID: 0x33}), record.Fail, "kept its old id 33"},
		{"member missing", 0x33, list(), record.Fail, "not in the member list"},
		{"added but never started", 0x33, list(Member{ID: 0x44}), record.Fail, "not in the member list"},
		{"old id still listed", 0x33, list(Member{Name: "m3", ID: 0x44}, Member{ID: 0x33}), record.Fail, "old id 33 of m3 is still a member"},
		{"listed twice", 0x33, list(Member{Name: "m3", ID: 0x44}, Member{Name: "m3", ID: 0x55}), record.Fail, "listed 2 times"},
		{"old id not recorded", 0, list(Member{Name: "m3", ID: 0x44}), record.Fail, "no member ID was recorded"},
		{"empty list", 0x33, nil, record.Fail, "not in the member list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewMemberID("m3", tc.old, tc.after)
			if c.Name != "new-member-id" || c.Verdict != tc.want || !strings.Contains(c.Summary, tc.says) {
				t.Fatalf("NewMemberID = %s %s %q, want %s containing %q", c.Name, c.Verdict, c.Summary, tc.want, tc.says)
			}
		})
	}
}
