package verify

import (
	"slices"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

func TestMemberDigests(t *testing.T) {
	good, _ := Digest([]KV{{[]byte("/k1"), []byte("v1")}, {[]byte("/k2"), []byte("v2")}})
	// The defect the check exists to catch: one member serves a value
	// with one byte flipped.
	flipped, _ := Digest([]KV{{[]byte("/k1"), []byte("v1")}, {[]byte("/k2"), []byte("w2")}})
	ok := func(name string) MemberDigest { return MemberDigest{Name: name, Revision: 40, Digest: good, Keys: 2} }
	for _, tc := range []struct {
		name     string
		ds       []MemberDigest
		pass     bool
		says     string
		diverged []string
	}{
		{"all agree", []MemberDigest{ok("m1"), ok("m2"), ok("m3")}, true, "3 members serve the same 2 keys at revision 40", nil},
		{"a diverged member", []MemberDigest{ok("m1"), ok("m2"), {Name: "m3", Revision: 40, Digest: flipped, Keys: 2}}, false,
			"m3 serves a different keyspace at revision 40 than m1, m2", []string{"m3"}},
		{"a diverged db file among unreadable members", []MemberDigest{ok("m1"), {Name: "m2", Err: "connection refused"}, ok("m3"), {Name: "m3 (db file)", Revision: 40, Digest: flipped, Keys: 2}}, false,
			"m3 (db file) serves a different keyspace", []string{"m3"}},
		{"an unreadable member", []MemberDigest{ok("m1"), ok("m2"), {Name: "m3", Err: "connection refused"}}, false, "keyspace not read from m3", nil},
		{"another revision", []MemberDigest{ok("m1"), ok("m2"), {Name: "m3", Revision: 39, Digest: flipped, Keys: 2}}, false, "m3 not at 40", nil},
		{"nothing read", nil, false, "no member's keyspace read", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := MemberDigests(tc.ds)
			if c.Name != "member-digest" || c.Passed() != tc.pass || (c.Verdict == record.Pass) != tc.pass {
				t.Fatalf("check = %+v, want passed %v", c, tc.pass)
			}
			if !strings.Contains(c.Summary, tc.says) {
				t.Errorf("summary %q does not say %q", c.Summary, tc.says)
			}
			if got := Diverged(c); !slices.Equal(got, tc.diverged) {
				t.Errorf("Diverged = %q, want %q", got, tc.diverged)
			}
		})
	}
}

func TestDivergedHashKV(t *testing.T) {
	c := HashKV([]Hash{{Name: "m1", Revision: 9, Hash: 1}, {Name: "m2", Revision: 9, Hash: 1}, {Name: "m3", Revision: 9, Hash: 2}})
	if c.Passed() || !slices.Equal(Diverged(c), []string{"m3"}) {
		t.Errorf("HashKV with m3 diverged: %+v, Diverged %q", c, Diverged(c))
	}
}
