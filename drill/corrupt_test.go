package drill

import (
	"slices"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

func TestRefusalLine(t *testing.T) {
	for _, tc := range []struct {
		name, logs, want string
	}{
		{"initial corruption check",
			`{"level":"info","msg":"starting initial corruption check"}
{"level":"warn","msg":"found different hash values from remote peer"}
{"level":"fatal","msg":"discovery failed","error":"b1eeb2b5a1e3c8a4 found data inconsistency with peers"}`,
			`fatal: discovery failed: b1eeb2b5a1e3c8a4 found data inconsistency with peers`},
		{"unreadable WAL",
			`{"level":"info","msg":"opened backend db"}
{"level":"fatal","msg":"failed to read WAL, cannot be repaired","error":"walpb: crc mismatch","stacktrace":"main.main\n\tmain.go:31"}`,
			`fatal: failed to read WAL, cannot be repaired: walpb: crc mismatch`},
		{"the check passed, then another fatal", `{"level":"info","msg":"initial corruption checking passed; no corruption"}
{"level":"fatal","msg":"listener failed","error":"address in use"}`, "listener failed: address in use"},
		{"anything else: the server's reason",
			`{"level":"fatal","msg":"listener failed","error":"address in use"}`, "listener failed: address in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RefusalLine(tc.logs); got != tc.want {
				t.Errorf("RefusalLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	logs := `{"level":"info","msg":"starting initial corruption check"}
{"level":"warn","msg":"found different hash values from remote peer","local-member-id":"b1","local-member-hash":11,"remote-peer-hash":12,"remote-peer-endpoints":["https://m1:2380"]}
{"level":"fatal","msg":"discovery failed","error":"b1 found data inconsistency with peers","stacktrace":"x"}`
	want := []string{
		"info: starting initial corruption check",
		"warn: found different hash values from remote peer (local-member-hash=11 local-member-id=b1 remote-peer-hash=12)",
		"fatal: discovery failed: b1 found data inconsistency with peers",
	}
	if got := Evidence(logs); !slices.Equal(got, want) {
		t.Errorf("Evidence =\n%q\nwant\n%q", got, want)
	}
}

func TestCaughtCheck(t *testing.T) {
	v := harness.MustVersion("3.6.16")
	diverged := []record.Check{{Name: "member-digest-before-recovery", Verdict: record.Expected, Summary: "m3 (db file) serves a different keyspace"}}
	for _, tc := range []struct {
		name         string
		st           Corrupt
		requireCatch bool
		verdict      record.Verdict
		says         string
	}{
		{"etcd missed, etcdrill caught", Corrupt{Detection: Missed, Caught: true, How: "etcdrill's hashkv-before-recovery check did: hashes diverge"}, true, record.Pass,
			"etcd 3.6.16 did not detect the damage to m3; etcdrill's hashkv-before-recovery check did"},
		{"both caught", Corrupt{Detection: Refused, Caught: true, How: "etcdrill's member-digest-before-recovery check did: m3 differs"}, true, record.Pass,
			"etcd 3.6.16 refused to start m3; etcdrill's member-digest-before-recovery check caught it too"},
		{"an alarm, db intact", Corrupt{Detection: Alarmed}, false, record.Pass, "raised a CORRUPT alarm; etcdrill's checks found the keyspace of m3 intact"},
		// The defect the check exists to catch: damage nobody saw.
		{"neither, a db flip", Corrupt{Detection: Missed}, true, record.Fail, "did not detect the damage to m3, and neither did etcdrill's checks"},
		{"neither, the WAL", Corrupt{Detection: Missed}, false, record.Pass, "neither did etcdrill's checks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := caughtCheck(v, "m3", tc.st, tc.requireCatch, diverged)
			if c.Verdict != tc.verdict || !strings.Contains(c.Summary, tc.says) {
				t.Errorf("caughtCheck = %s %q, want %s saying %q", c.Verdict, c.Summary, tc.verdict, tc.says)
			}
			if len(c.Details) != 1 {
				t.Errorf("details %q, want the checks' summaries", c.Details)
			}
		})
	}
}
