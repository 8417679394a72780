package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Outcome
	}{
		{"nil", nil, Acknowledged},
		// etcd applies the put that crosses the quota and still answers
		// NOSPACE, so NOSPACE proves nothing either way.
		{"no space, client form", rpctypes.ErrNoSpace, Indeterminate},
		{"no space, grpc form", rpctypes.ErrGRPCNoSpace, Indeterminate},
		{"permission denied, wrapped", fmt.Errorf("put: %w", rpctypes.ErrPermissionDenied), Failed},
		{"permission denied", rpctypes.ErrPermissionDenied, Failed},
		{"too many requests", rpctypes.ErrTooManyRequests, Failed},
		{"unauthenticated", status.Error(codes.Unauthenticated, "no token"), Failed},
		{"too many requests, wrapped grpc form", fmt.Errorf("put: %w", rpctypes.ErrGRPCRequestTooManyRequests), Failed},
		{"deadline", context.DeadlineExceeded, Indeterminate},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), Indeterminate},
		{"no leader", rpctypes.ErrNoLeader, Indeterminate},
		{"timeout", rpctypes.ErrTimeout, Indeterminate},
		{"unknown", errors.New("boom"), Indeterminate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestValuesAreDeterministic(t *testing.T) {
	a := Config{Seed: 7, ValueSize: 32}.withDefaults()
	b := Config{Seed: 7, ValueSize: 32}.withDefaults()
	c := Config{Seed: 8, ValueSize: 32}.withDefaults()
	if !bytes.Equal(a.Value(1, 2), b.Value(1, 2)) {
		t.Fatal("same seed wrote different values")
	}
	if bytes.Equal(a.Value(1, 2), c.Value(1, 2)) {
		t.Fatal("different seeds wrote the same value")
	}
	if bytes.Equal(a.Value(1, 2), a.Value(2, 1)) {
		t.Fatal("different keys got the same value")
	}
	if n := len(a.Value(0, 0)); n != 32 {
		t.Fatalf("value size %d, want 32", n)
	}
	if a.Key(3, 42) == a.Key(4, 42) || a.Key(3, 42) == a.Key(3, 43) {
		t.Fatal("keys collide")
	}
}

func TestLedgerAckedAbove(t *testing.T) {
	var l Ledger
	t0 := time.Unix(1000, 0)
	// A write that started before the snapshot but was acknowledged after
	// it counts; one the snapshot holds does not, nor does an unanswered one.
	l.Record(Write{Key: "a", Outcome: Acknowledged, Revision: 10, Start: t0.Add(time.Second)})
	l.Record(Write{Key: "b", Outcome: Acknowledged, Revision: 11, Start: t0})
	l.Record(Write{Key: "c", Outcome: Indeterminate, Start: t0.Add(2 * time.Second)})
	l.Record(Write{Key: "d", Outcome: Acknowledged, Revision: 12, Start: t0.Add(3 * time.Second)})
	for rev, want := range map[int64]int{9: 3, 10: 2, 11: 1, 12: 0} {
		if got := l.AckedAbove(rev); got != want {
			t.Errorf("AckedAbove(%d) = %d, want %d", rev, got, want)
		}
	}
}

func TestLedgerAckedSince(t *testing.T) {
	var l Ledger
	t0 := time.Unix(1000, 0)
	// Counted by start: one started at the instant counts, an unanswered
	// one never does.
	l.Record(Write{Key: "a", Outcome: Acknowledged, Revision: 12, Start: t0})
	l.Record(Write{Key: "b", Outcome: Acknowledged, Revision: 10, Start: t0.Add(time.Second)})
	l.Record(Write{Key: "c", Outcome: Failed, Start: t0.Add(2 * time.Second)})
	for since, want := range map[time.Duration]int{-time.Second: 2, 0: 2, time.Millisecond: 1, 2 * time.Second: 0} {
		if got := l.AckedSince(t0.Add(since)); got != want {
			t.Errorf("AckedSince(t0%+v) = %d, want %d", since, got, want)
		}
	}
}

func TestLedgerFirstAckAfterAndCounts(t *testing.T) {
	var l Ledger
	t0 := time.Unix(1000, 0)
	l.Record(Write{Key: "a", Outcome: Acknowledged, Start: t0, End: t0.Add(time.Millisecond)})
	l.Record(Write{Key: "b", Outcome: Indeterminate, Start: t0.Add(2 * time.Second), End: t0.Add(5 * time.Second)})
	l.Record(Write{Key: "d", Outcome: Acknowledged, Start: t0.Add(4 * time.Second), End: t0.Add(4500 * time.Millisecond)})
	l.Record(Write{Key: "c", Outcome: Acknowledged, Start: t0.Add(3 * time.Second), End: t0.Add(6 * time.Second)})
	got, ok := l.FirstAckAfter(t0.Add(time.Second))
	if !ok || !got.Equal(t0.Add(4500*time.Millisecond)) {
		t.Fatalf("FirstAckAfter = %v %v, want the earliest acknowledged end after the fault", got, ok)
	}
	if _, ok := l.FirstAckAfter(t0.Add(10 * time.Second)); ok {
		t.Fatal("FirstAckAfter found an ack where there is none")
	}
	c := l.Counts()
	if c[Acknowledged] != 3 || c[Indeterminate] != 1 || c[Failed] != 0 {
		t.Fatalf("Counts = %v", c)
	}
	var order string
	for _, w := range l.Writes() {
		order += w.Key
	}
	if order != "abcd" {
		t.Fatalf("Writes ordered %s, want by start time: abcd", order)
	}
}
