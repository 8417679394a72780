package verify

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// fixture is a ledger and the keyspace that matches it exactly: three
// acknowledged writes at revisions 10, 20, 30, one failed and one
// indeterminate write that did not land, and a key outside the prefix.
func fixture() ([]workload.Write, []KV) {
	var writes []workload.Write
	var observed []KV
	for i, rev := range []int64{10, 20, 30} {
		k, v := fmt.Sprintf("/drill/ack%d", i), fmt.Sprintf("value-%d", i)
		writes = append(writes, ack(k, v, rev))
		observed = append(observed, KV{Key: []byte(k), Value: []byte(v)})
	}
	writes = append(writes,
		write("/drill/failed", "nope", workload.Failed, 0),
		write("/drill/maybe", "perhaps", workload.Indeterminate, 0),
	)
	observed = append(observed, KV{Key: []byte("/other/key"), Value: []byte("not ours")})
	return writes, observed
}

func ack(key, value string, rev int64) workload.Write {
	return write(key, value, workload.Acknowledged, rev)
}

func write(key, value string, o workload.Outcome, rev int64) workload.Write {
	return workload.Write{Key: key, Digest: workload.ValueDigest([]byte(value)), Outcome: o, Revision: rev}
}

func without(kvs []KV, key string) []KV {
	return slices.DeleteFunc(slices.Clone(kvs), func(kv KV) bool { return string(kv.Key) == key })
}

func with(kvs []KV, key, value string) []KV {
	return append(without(kvs, key), KV{Key: []byte(key), Value: []byte(value)})
}

func TestIntegrity(t *testing.T) {
	writes, observed := fixture()
	tests := []struct {
		name     string
		observed []KV
		opt      IntegrityOptions
		ok       bool
		planted  string // key that must appear in the details when !ok
		check    func(IntegrityReport) string
	}{
		{
			name: "all acknowledged present", observed: observed,
			opt: IntegrityOptions{Prefix: "/drill/"}, ok: true,
			check: func(r IntegrityReport) string {
				if r.Checked != 5 || r.Present != 3 || r.Indeterminate != 1 || r.IndeterminatePresent != 0 {
					return fmt.Sprintf("counts %+v", r)
				}
				return ""
			},
		},
		{
			name: "indeterminate present", observed: with(observed, "/drill/maybe", "perhaps"),
			opt: IntegrityOptions{Prefix: "/drill/"}, ok: true,
			check: func(r IntegrityReport) string {
				if r.IndeterminatePresent != 1 {
					return fmt.Sprintf("IndeterminatePresent = %d, want 1", r.IndeterminatePresent)
				}
				return ""
			},
		},
		{
			name: "dropped key is missing", observed: without(observed, "/drill/ack1"),
			opt: IntegrityOptions{Prefix: "/drill/"}, planted: "/drill/ack1",
			check: func(r IntegrityReport) string { return wantList(r.Missing, "/drill/ack1") },
		},
		{
			name: "changed value", observed: with(observed, "/drill/ack2", "tampered"),
			opt: IntegrityOptions{Prefix: "/drill/"}, planted: "/drill/ack2",
			check: func(r IntegrityReport) string {
				want := fmt.Sprintf("/drill/ack2: want %s got %s",
					workload.ValueDigest([]byte("value-2"))[:12], workload.ValueDigest([]byte("tampered"))[:12])
				return wantList(r.Changed, want)
			},
		},
		{
			name: "indeterminate with a third value", observed: with(observed, "/drill/maybe", "tampered"),
			opt: IntegrityOptions{Prefix: "/drill/"}, planted: "/drill/maybe",
			check: func(r IntegrityReport) string { return wantPrefix(r.Changed, "/drill/maybe: ") },
		},
		{
			name: "extra key under prefix", observed: with(observed, "/drill/stray", "x"),
			opt: IntegrityOptions{Prefix: "/drill/"}, planted: "/drill/stray",
			check: func(r IntegrityReport) string { return wantList(r.Unexpected, "/drill/stray: not in ledger") },
		},
		{
			name: "failed write present", observed: with(observed, "/drill/failed", "nope"),
			opt: IntegrityOptions{Prefix: "/drill/"}, planted: "/drill/failed",
			check: func(r IntegrityReport) string { return wantList(r.Unexpected, "/drill/failed: failed write present") },
		},
		{
			name: "no prefix makes every key a workload key", observed: observed,
			opt: IntegrityOptions{}, planted: "/other/key",
			check: func(r IntegrityReport) string { return wantPrefix(r.Unexpected, "/other/key: ") },
		},
		{
			name: "ack beyond snapshot absent is lost", observed: without(observed, "/drill/ack2"),
			opt: IntegrityOptions{Prefix: "/drill/", UpTo: 25}, ok: true,
			check: func(r IntegrityReport) string {
				if r.Lost != 1 || r.Present != 2 {
					return fmt.Sprintf("Lost = %d, Present = %d, want 1, 2", r.Lost, r.Present)
				}
				return ""
			},
		},
		{
			name: "ack beyond snapshot present", observed: observed,
			opt: IntegrityOptions{Prefix: "/drill/", UpTo: 25}, planted: "/drill/ack2",
			check: func(r IntegrityReport) string {
				return wantPrefix(r.Unexpected, "/drill/ack2: acknowledged at revision 30")
			},
		},
		{
			name: "ack within snapshot dropped", observed: without(without(observed, "/drill/ack2"), "/drill/ack1"),
			opt: IntegrityOptions{Prefix: "/drill/", UpTo: 25}, planted: "/drill/ack1",
			check: func(r IntegrityReport) string { return wantList(r.Missing, "/drill/ack1") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Integrity(writes, tt.observed, tt.opt)
			if r.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v; report %+v", r.OK(), tt.ok, r)
			}
			c := r.Check()
			if c.Name != "key-integrity" {
				t.Errorf("Name = %q", c.Name)
			}
			want := record.Pass
			if !tt.ok {
				want = record.Fail
			}
			if c.Verdict != want {
				t.Errorf("Verdict = %s, want %s; summary %q", c.Verdict, want, c.Summary)
			}
			if !tt.ok && !contains(c.Details, tt.planted) {
				t.Errorf("planted key %q not in details %q", tt.planted, c.Details)
			}
			if msg := tt.check(r); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestIntegritySummary(t *testing.T) {
	writes, observed := fixture()
	tests := []struct {
		name     string
		observed []KV
		opt      IntegrityOptions
		want     string
	}{
		{"no restore", observed, IntegrityOptions{Prefix: "/drill/"},
			"3 acknowledged keys present; 0 missing, 0 changed, 0 unexpected; 0 of 1 indeterminate writes present"},
		{"restore", without(observed, "/drill/ack2"), IntegrityOptions{Prefix: "/drill/", UpTo: 25},
			"2 acknowledged keys present; 0 missing, 0 changed, 0 unexpected; 1 lost after snapshot revision 25 (RPO); 0 of 1 indeterminate writes present"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Integrity(writes, tt.observed, tt.opt).Check().Summary; got != tt.want {
				t.Errorf("Summary = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIntegrityDetailsCapped(t *testing.T) {
	var writes []workload.Write
	for i := range 25 {
		writes = append(writes, ack(fmt.Sprintf("/k%02d", i), "v", int64(i+1)))
	}
	r := Integrity(writes, nil, IntegrityOptions{})
	if len(r.Missing) != 25 || r.Missing[0] != "/k00" || r.Missing[24] != "/k24" {
		t.Fatalf("Missing not complete and sorted: %q", r.Missing)
	}
	d := r.Check().Details
	if len(d) != maxDetails+1 || d[maxDetails] != "... and 5 more" {
		t.Errorf("details not capped at %d plus a count: %q", maxDetails, d)
	}
}

func wantList(got []string, want string) string {
	if !slices.Equal(got, []string{want}) {
		return fmt.Sprintf("got %q, want [%q]", got, want)
	}
	return ""
}

func wantPrefix(got []string, prefix string) string {
	if len(got) != 1 || !strings.HasPrefix(got[0], prefix) {
		return fmt.Sprintf("got %q, want one entry starting %q", got, prefix)
	}
	return ""
}

// contains reports whether any line mentions s.
func contains(lines []string, s string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, s) })
}

// The clients' hot keys live under the load's prefix but are not the
// ledger's: their history is checked for linearizability instead.
func TestIntegrityLeavesTheHotKeysToTheirHistory(t *testing.T) {
	kvs := []KV{{Key: []byte("/p/hot/00"), Value: []byte("x")}, {Key: []byte("/p/stray"), Value: []byte("y")}}
	r := Integrity(nil, kvs, IntegrityOptions{Prefix: "/p/"})
	if len(r.Unexpected) != 1 || !strings.Contains(r.Unexpected[0], "/p/stray") {
		t.Fatalf("unexpected %v: want only the stray key, not the hot key", r.Unexpected)
	}
}
