package record

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestRefusedChecksItsReason is defect 3: a refusal used to be accepted
// with any error, so an exec, TLS or auth failure counted as "writes
// refused". Only the named reason passes now.
func TestRefusedChecksItsReason(t *testing.T) {
	noQuorum := Refusal{Reason: "no quorum", Says: []string{"context deadline exceeded", "etcdserver: request timed out"}}
	for _, tc := range []struct {
		name    string
		out     string
		err     error
		want    error
		verdict Verdict
	}{
		{"refused for want of quorum", "Error: context deadline exceeded\n", errors.New("etcdctl: exit 1"), nil, Expected},
		{"a TLS error", "Error: x509: certificate signed by unknown authority\n", errors.New("etcdctl: exit 1"), ErrOtherReason, Fail},
		{"an auth error after a retried deadline", `{"level":"warn","error":"context deadline exceeded"}` + "\nError: etcdserver: permission denied\n", errors.New("etcdctl: exit 1"), ErrOtherReason, Fail},
		{"docker exec failed", "", errors.New("exec: container not running"), ErrOtherReason, Fail},
		{"not refused at all", "OK\n", nil, ErrNotRefused, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Log
			line, err := l.Refused(PhaseObserve, "a write is refused", "m1", noQuorum, func() (Action, error) {
				return Action{Output: tc.out}, tc.err
			})
			if tc.want == nil && (err != nil || line == "") || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Refused = %q, %v; want %v", line, err, tc.want)
			}
			if s := l.Steps()[0]; s.Verdict != tc.verdict {
				t.Fatalf("step verdict %s, want %s", s.Verdict, tc.verdict)
			}
		})
	}
}

func TestMayBeRefusedPassesSuccessAndItsRefusalOnly(t *testing.T) {
	corrupt := Refusal{Reason: "corrupt cluster", Says: []string{"etcdserver: corrupt cluster"}}
	for _, tc := range []struct {
		name        string
		out         string
		err         error
		wantRefused bool
		wantErr     bool
		verdict     Verdict
	}{
		{"compacted", "compacted revision 186\n", nil, false, false, Pass},
		{"refused as corrupt", "Error: etcdserver: corrupt cluster\n", errors.New("etcdctl: exit 1"), true, false, Expected},
		{"failed otherwise", "Error: etcdserver: request timed out\n", errors.New("etcdctl: exit 1"), false, true, Fail},
		{"panicked with the words", "etcdserver: corrupt cluster\n", fmt.Errorf("boom: %w", ErrPanic), false, true, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Log
			refused, err := l.MayBeRefused(PhaseRecovery, "compact", "m1", corrupt, func() (Action, error) {
				return Action{Output: tc.out}, tc.err
			})
			if refused != tc.wantRefused || (err != nil) != tc.wantErr {
				t.Fatalf("MayBeRefused = %v, %v; want refused=%v, error=%v", refused, err, tc.wantRefused, tc.wantErr)
			}
			s := l.Steps()[0]
			if s.Verdict != tc.verdict {
				t.Fatalf("step verdict %s, want %s", s.Verdict, tc.verdict)
			}
			if tc.wantRefused && !strings.Contains(s.Output, "# refused: corrupt cluster") {
				t.Errorf("output %q does not say why it was refused", s.Output)
			}
		})
	}
}
