package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

func window(name string, acked int, p50, p99 time.Duration) LinkWindow {
	return LinkWindow{Name: name, Acked: acked, P50: p50, P99: p99, Leaders: []string{"m1"}, TermFrom: 2, TermTo: 2}
}

func TestLinkCheck(t *testing.T) {
	ms := time.Millisecond
	good := []LinkWindow{window("before", 500, 8*ms, 40*ms), window("during", 150, 430*ms, 550*ms), window("after", 400, 6*ms, 70*ms)}
	slow := LinkEffect{AddedP50: 100 * ms}
	for _, tc := range []struct {
		name string
		ws   []LinkWindow
		want LinkEffect
		pass bool
		says string
	}{
		{"slow links slowed writes", good, slow, true, "p50/p99 before 8ms/40ms, during 430ms/550ms"},
		{"a shaping that did nothing", []LinkWindow{good[0], window("during", 500, 9*ms, 45*ms), good[2]}, slow, false, "the fault did not act"},
		{"loss that never showed in the tail", []LinkWindow{good[0], window("during", 500, 9*ms, 45*ms), good[2]}, LinkEffect{AddedP99: 150 * ms}, false, "99th percentile"},
		{"the cluster stopped while degraded", []LinkWindow{good[0], window("during", 0, 0, 0), good[2]}, LinkEffect{}, false, "no write acknowledged while the links were degraded"},
		{"the cluster did not come back", []LinkWindow{good[0], good[1], window("after", 0, 0, 0)}, LinkEffect{}, false, "after the links were healed"},
		{"a window missing", good[:2], LinkEffect{}, false, "2 windows measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := LinkCheck(tc.ws, tc.want)
			if c.Passed() != tc.pass || !strings.Contains(c.Summary, tc.says) {
				t.Fatalf("verdict %s, summary %q; want pass=%v saying %q", c.Verdict, c.Summary, tc.pass, tc.says)
			}
		})
	}
}

func TestLeaderChangesCountTerms(t *testing.T) {
	w := LinkWindow{TermFrom: 2, TermTo: 5}
	if w.LeaderChanges() != 3 {
		t.Fatalf("%d elections, want 3", w.LeaderChanges())
	}
}

func TestFillWindowAndPercentile(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := LinkWindow{From: t0, To: t0.Add(10 * time.Second)}
	var writes []workload.Write
	for i := range 100 {
		s := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		writes = append(writes, workload.Write{Outcome: workload.Acknowledged, Start: s, End: s.Add(time.Duration(i+1) * time.Millisecond)})
	}
	writes = append(writes,
		workload.Write{Outcome: workload.Failed, Start: t0, End: t0.Add(time.Second)},
		workload.Write{Outcome: workload.Indeterminate, Start: t0, End: t0.Add(3 * time.Second)},
		workload.Write{Outcome: workload.Acknowledged, Start: t0.Add(-time.Second), End: t0.Add(-time.Millisecond)}, // before the window
		workload.Write{Outcome: workload.Acknowledged, Start: t0, End: t0.Add(11 * time.Second)},                    // after it
	)
	fillWindow(&w, writes)
	if w.Acked != 100 || w.Failed != 1 || w.Indeterminate != 1 {
		t.Fatalf("counts %d/%d/%d", w.Acked, w.Failed, w.Indeterminate)
	}
	if w.P50 != 50*time.Millisecond || w.P99 != 99*time.Millisecond {
		t.Fatalf("p50 %s p99 %s", w.P50, w.P99)
	}
	if Percentile(nil, 0.5) != 0 {
		t.Fatal("percentile of nothing")
	}
}

func TestDiskCheck(t *testing.T) {
	crashed := DiskBehaviour{Version: "3.6.16", Member: "m3", Crashed: true, ExitCode: 1, After: 20 * time.Millisecond,
		CrashLine: `fatal "failed to commit tx": write /var/lib/etcd/member/snap/db: no space left on device`, ClusterAcked: 300}
	c := DiskCheck(crashed)
	if !c.Passed() || !strings.Contains(c.Summary, "etcd 3.6.16 on m3 (follower)") || !strings.Contains(c.Summary, "crashed 20ms after the disk filled (exit code 1)") {
		t.Fatalf("crash: %s %q", c.Verdict, c.Summary)
	}
	refused := DiskBehaviour{Version: "3.5.35", Member: "m3", WasLeader: true, WriteRefused: "etcdserver: request timed out", Reads: "served", ClusterAcked: 10}
	if c := DiskCheck(refused); !c.Passed() || !strings.Contains(c.Summary, "refused a write") || !strings.Contains(c.Summary, "(leader)") || !strings.Contains(c.Summary, "reads on it: served") {
		t.Fatalf("refused: %q", c.Summary)
	}
	kept := DiskBehaviour{Version: "3.7.3", Member: "m3", Watched: time.Minute, ClusterAcked: 10}
	if c := DiskCheck(kept); !c.Passed() || !strings.Contains(c.Summary, "kept running and accepting writes for the 1m0s watched") {
		t.Fatalf("kept: %q", c.Summary)
	}
	// The defect the check exists for: one full disk cost the cluster
	// its availability.
	stalled := crashed
	stalled.ClusterAcked = 0
	if c := DiskCheck(stalled); c.Verdict != record.Fail || !strings.Contains(c.Summary, "acknowledged no write") {
		t.Fatalf("stalled: %s %q", c.Verdict, c.Summary)
	}
}

func TestCrashLine(t *testing.T) {
	logs := `{"level":"info","msg":"ready"}
{"level":"warn","msg":"slow fdatasync"}
{"level":"fatal","ts":"x","caller":"backend/batch_tx.go:282","msg":"failed to commit tx","error":"write /var/lib/etcd/member/snap/db: no space left on device","stacktrace":"..."}
goroutine 1 [running]:`
	want := `fatal "failed to commit tx": write /var/lib/etcd/member/snap/db: no space left on device (backend/batch_tx.go:282)`
	if got := crashLine(logs); got != want {
		t.Fatalf("crashLine = %q\nwant %q", got, want)
	}
	if got := crashLine("panic: boom\ngoroutine 1"); got != "panic: boom" {
		t.Fatalf("panic line = %q", got)
	}
}
