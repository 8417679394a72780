package verify

import (
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

// TestSettled: only an alarm read as raised, and hashes that differ at one
// revision and one compact revision on every member, end the catch-up
// wait early; anything that may still be converging, or an alarm list
// that could not be read, is waited for.
func TestSettled(t *testing.T) {
	pass := func(name string) record.Check { return record.Check{Name: name, Verdict: record.Pass} }
	fail := func(name string) record.Check { return record.Check{Name: name, Verdict: record.Fail} }
	raised := []Alarm{{MemberID: 1, Alarm: "NOSPACE"}}
	same := []Hash{{Name: "m1", Revision: 9, CompactRevision: 4, Hash: 1}, {Name: "m2", Revision: 9, CompactRevision: 4, Hash: 2}}
	for _, tc := range []struct {
		name   string
		checks []record.Check
		alarms []Alarm
		hashes []Hash
		want   bool
	}{
		{"all passed", []record.Check{pass("health"), pass("alarms"), pass("hashkv")}, nil, same, false},
		{"an alarm is raised", []record.Check{pass("health"), fail("alarms"), pass("hashkv")}, raised, same, true},
		{"the alarm list could not be read", []record.Check{pass("health"), fail("alarms"), pass("hashkv")}, nil, same, false},
		{"hashes differ at one revision", []record.Check{pass("health"), pass("alarms"), fail("hashkv")}, nil, same, true},
		{"an alarm and diverged hashes", []record.Check{pass("health"), fail("alarms"), fail("hashkv")}, raised, same, true},
		{"hashes at different revisions", []record.Check{pass("alarms"), fail("hashkv")}, nil,
			[]Hash{{Name: "m1", Revision: 9, CompactRevision: 4}, {Name: "m2", Revision: 8, CompactRevision: 4}}, false},
		{"compaction not applied everywhere yet", []record.Check{pass("alarms"), fail("hashkv")}, nil,
			[]Hash{{Name: "m1", Revision: 9, CompactRevision: 4}, {Name: "m2", Revision: 9, CompactRevision: 2}}, false},
		{"a member did not answer its hash", []record.Check{pass("alarms"), fail("hashkv")}, nil,
			[]Hash{{Name: "m1", Revision: 9}, {Name: "m2", Err: "deadline exceeded"}}, false},
		{"no hashes", []record.Check{fail("hashkv")}, nil, nil, false},
		{"an alarm while a member is unhealthy", []record.Check{fail("health"), fail("alarms"), pass("hashkv")}, raised, same, false},
		{"no leader yet", []record.Check{fail("leader"), pass("alarms")}, nil, same, false},
	} {
		if got := (observation{checks: tc.checks, alarms: tc.alarms, hashes: tc.hashes}).settled(); got != tc.want {
			t.Errorf("%s: settled = %v, want %v", tc.name, got, tc.want)
		}
	}
}
