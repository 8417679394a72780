package drill

import (
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
)

func TestPlantedCheck(t *testing.T) {
	t0 := time.Now()
	p := &ProbeKey{}
	p.History.Add(verify.Access{Write: true, Key: "k", Value: "before", Revision: 5, Return: t0})
	p.History.Add(verify.Access{Write: true, Key: "k", Value: "after", Revision: 9, Return: t0.Add(time.Second)})
	read := func(v string, rev int64, err string) verify.Access {
		return verify.Access{Key: "k", Value: v, Revision: rev, Member: "m3", Serializable: true, Call: t0.Add(2 * time.Second), Err: err}
	}
	for _, tc := range []struct {
		name    string
		planted verify.Access
		want    record.Verdict
	}{
		{"stale serializable read is caught", read("before", 5, ""), record.Pass},
		// The member got the majority's write: it was not cut off, or the
		// check is blind; either way the drill must not pass.
		{"fresh serializable read", read("after", 9, ""), record.Fail},
		{"no answer", read("", 0, "context deadline exceeded"), record.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := plantedCheck(p, tc.planted); c.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s: %s", c.Verdict, tc.want, c.Summary)
			}
		})
	}
}

func TestResumedWriteCheck(t *testing.T) {
	acked := verify.Access{Write: true, Key: "k/w", Value: "v", Revision: 40}
	for _, tc := range []struct {
		name     string
		w, after verify.Access
		want     record.Verdict
	}{
		{"kept at its revision", acked, verify.Access{Key: "k/w", Value: "v", Revision: 40}, record.Pass},
		{"not acknowledged", verify.Access{Write: true, Key: "k/w", Err: "context deadline exceeded"}, verify.Access{}, record.Pass},
		// The planted defect: an acknowledgement from the old term, lost.
		{"acknowledged then lost", acked, verify.Access{Key: "k/w"}, record.Fail},
		{"acknowledged, other revision", acked, verify.Access{Key: "k/w", Value: "v", Revision: 41}, record.Fail},
		{"never sent", verify.Access{}, verify.Access{}, record.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := resumedWriteCheck(tc.w, tc.after); c.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s: %s", c.Verdict, tc.want, c.Summary)
			}
		})
	}
}
