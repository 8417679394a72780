package fault

import (
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

// A member's log as etcd prints it when an armed failpoint panics.
const panicLog = `{"level":"info","ts":"2026-12-01T13:20:01Z","caller":"etcdserver/server.go:1000","msg":"applied"}
panic: failpoint panic: etcdrill crash at raftBeforeSave

goroutine 190 [running]:
go.etcd.io/gofail/runtime.actPanic(0xc000a1e0c0)
	/root/go/pkg/mod/go.etcd.io/gofail@v0.2.0/runtime/terms.go:324 +0x9f
go.etcd.io/gofail/runtime.(*Failpoint).Acquire(0x1?)
	go.etcd.io/gofail@v0.2.0/runtime/failpoint.go:60 +0x2e
go.etcd.io/etcd/server/v3/etcdserver.(*raftNode).start.func1()
	/server/etcdserver/raft.go:256 +0x6a5

goroutine 1 [select]:
`

// A panic that etcd's scheduler recovered and raised again: the
// failpoint's caller is below the last gofail frame, not the first frame.
const recovered = `{"level":"panic","caller":"schedule/schedule.go:202","msg":"execute job failed","panic":"failpoint panic: etcdrill crash at compactBeforeCommitBatch"}
panic: failpoint panic: etcdrill crash at compactBeforeCommitBatch [recovered]
	panic: execute job failed

goroutine 95 [running]:
go.uber.org/zap/zapcore.CheckWriteAction.OnWrite(0x0?, 0x0?, {0x0?, 0x0?, 0x0?})
	go.uber.org/zap@v1.27.0/zapcore/entry.go:196 +0x54
go.etcd.io/etcd/pkg/v3/schedule.(*fifo).executeJob.func1()
	go.etcd.io/etcd/pkg/v3@v3.6.16/schedule/schedule.go:202 +0x2a5
panic({0x1234, 0x5678})
	runtime/panic.go:792 +0x132
go.etcd.io/gofail/runtime.actPanic(0x2?)
	go.etcd.io/gofail@v0.2.0/runtime/terms.go:324 +0xc5
go.etcd.io/gofail/runtime.(*Failpoint).Acquire(0x1?)
	go.etcd.io/gofail@v0.2.0/runtime/failpoint.go:60 +0x2e
go.etcd.io/etcd/server/v3/storage/mvcc.(*store).scheduleCompaction(0xc000, 0x7f, 0x0)
	go.etcd.io/etcd/server/v3/storage/mvcc/kvstore_compaction.go:89 +0x7aa

goroutine 1 [select]:
`

var evidence = map[string]string{
	"defragBeforeRename": "fatal at backend/backend.go:537: unexpected panic during defrag: failpoint panic: etcdrill crash at defragBeforeRename",
	"compactBeforeCommitBatch": "panic: failpoint panic: etcdrill crash at compactBeforeCommitBatch [recovered]\n" +
		"go.etcd.io/etcd/server/v3/storage/mvcc.(*store).scheduleCompaction(0xc000, 0x7f, 0x0)\n" +
		"\tgo.etcd.io/etcd/server/v3/storage/mvcc/kvstore_compaction.go:89 +0x7aa",
}

// TestCrashEvidence: the crash is proven only by the failpoint's own
// panic; the negative cases plant what the check exists to catch: a
// member that died another way, or at another failpoint.
func TestCrashEvidence(t *testing.T) {
	for _, tc := range []struct {
		name string
		logs string
		p    Crashpoint
		ok   bool
	}{
		{"the panic of the armed point", panicLog, RaftBeforeSave, true},
		{"killed, no panic", `{"level":"info","msg":"received signal; shutting down"}` + "\n", RaftBeforeSave, false},
		{"panic at another failpoint", panicLog, RaftAfterSave, false},
		{"a panic that is not a failpoint's", "panic: runtime error: index out of range\n", BeforeCommit, false},
		{"the message only quoted in a log line", `{"msg":"put","value":"etcdrill crash at beforeCommit"}` + "\n", BeforeCommit, false},
		{"empty log", "", DefragBeforeRename, false},
		{"a failpoint whose name extends the armed one's", "panic: failpoint panic: etcdrill crash at raftAfterSaveSnap\n", RaftAfterSave, false},
		{"a recovered panic logged as fatal", `{"level":"fatal","ts":"2026-12-01T13:11:56Z","caller":"backend/backend.go:537","msg":"unexpected panic during defrag","panic":"failpoint panic: etcdrill crash at defragBeforeRename","stacktrace":"go.etcd.io/etcd/server/v3/storage/backend.(*backend).defrag"}` + "\n", DefragBeforeRename, true},
		{"a fatal log entry of another failpoint", `{"level":"fatal","msg":"unexpected panic during defrag","panic":"failpoint panic: etcdrill crash at defragBeforeCopy"}` + "\n", DefragBeforeRename, false},
		{"a re-panicked, recovered panic", recovered, CompactBeforeCommitBatch, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := CrashEvidence(tc.logs, tc.p)
			if ok != tc.ok {
				t.Fatalf("CrashEvidence = %q, %v; want ok=%v", ev, ok, tc.ok)
			}
			if ok && tc.p != RaftBeforeSave {
				if want := evidence[tc.p.Failpoint]; ev != want {
					t.Errorf("evidence:\n%s\nwant:\n%s", ev, want)
				}
				return
			}
			if ok && (!strings.HasPrefix(ev, "panic: failpoint panic: etcdrill crash at raftBeforeSave") || !strings.Contains(ev, "(*raftNode).start.func1()\n\t/server/etcdserver/raft.go:256") || strings.Contains(ev, "gofail/runtime") || strings.Contains(ev, "goroutine")) {
				t.Errorf("evidence %q: want the panic line and the first frame outside gofail, with its file and line", ev)
			}
		})
	}
}

// TestFailpointTerm reads gofail's list: listed and unarmed, armed, and
// absent (a binary built without that failpoint).
func TestFailpointTerm(t *testing.T) {
	list := "HTTP 200\nbeforeCommit=\nraftBeforeSave=panic(\"etcdrill crash at raftBeforeSave\")\nraftAfterSave=\n"
	for _, tc := range []struct {
		name, term string
		ok         bool
	}{
		{"beforeCommit", "", true},
		{"raftBeforeSave", `panic("etcdrill crash at raftBeforeSave")`, true},
		{"raftAfterSave", "", true},
		{"defragBeforeRename", "", false},
		{"Commit", "", false},
	} {
		term, ok := FailpointTerm(list, tc.name)
		if term != tc.term || ok != tc.ok {
			t.Errorf("FailpointTerm(%s) = %q, %v; want %q, %v", tc.name, term, ok, tc.term, tc.ok)
		}
	}
}

// TestCrashpoints: names, terms gofail parses (a quoted string) and the
// message the log check looks for, for every point.
func TestCrashpoints(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Crashpoints() {
		if seen[p.Failpoint] || p.Where == "" {
			t.Errorf("crash point %q: duplicate or undocumented", p.Failpoint)
		}
		seen[p.Failpoint] = true
		if want := `panic("etcdrill crash at ` + p.Failpoint + `")`; p.Term() != want {
			t.Errorf("%s: term %s, want %s", p.Failpoint, p.Term(), want)
		}
	}
	for _, name := range harness.Failpoints {
		if !seen[name] {
			t.Errorf("the failpoints image enables %s, but no crash point uses it", name)
		}
	}
	if len(seen) != len(harness.Failpoints) {
		t.Errorf("%d crash points, but the image enables %d failpoints", len(seen), len(harness.Failpoints))
	}
	if got := CrashAt(Leader(), RaftBeforeSave).Name(); got != "crash-leader-at-raftBeforeSave" {
		t.Errorf("name %q", got)
	}
}

// TestCrashAtAvailable: a follower needs a second member; etcd before
// 3.5 is refused in one line.
func TestCrashAtAvailable(t *testing.T) {
	v := harness.MustVersion(harness.DefaultVersion)
	if err := CrashAt(Follower(), DefragBeforeRename).Available(Env{Members: 1, Version: v}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("follower of 1 member: %v, want one line", err)
	}
	if err := CrashAt(Leader(), BeforeCommit).Available(Env{Members: 3, Version: v}); err != nil {
		t.Errorf("leader of 3 members: %v", err)
	}
	old := harness.Version{Major: 3, Minor: 4, Patch: 30}
	if err := CrashAt(Leader(), BeforeCommit).Available(Env{Members: 3, Version: old}); err == nil || !strings.Contains(err.Error(), "3.5 and later") {
		t.Errorf("etcd 3.4: %v, want refused", err)
	}
}

func TestCrashEvidenceUnwound(t *testing.T) {
	const started = `{"level":"info","ts":"2026-12-01T18:49:00Z","caller":"backend/backend.go:518","msg":"defragmenting","path":"/var/lib/etcd/member/snap/db"}` + "\n"
	const finished = `{"level":"info","ts":"2026-12-01T18:49:01Z","caller":"backend/backend.go:580","msg":"finished defragmenting directory","path":"/var/lib/etcd/member/snap/db"}` + "\n"
	const second = "panic: assertion failed: tx closed\n\ngoroutine 212 [running]:\ngo.etcd.io/etcd/pkg/v3/schedule.(*fifo).run(0x273cf32be060)\n"
	for _, tc := range []struct {
		name string
		logs string
		p    Crashpoint
		ok   bool
	}{
		{"defrag started, a panic, never finished", started + second, DefragBeforeRename, true},
		{"defrag finished before the panic", started + finished + second, DefragBeforeRename, false},
		{"defrag started, no panic", started, DefragBeforeRename, false},
		{"a panic before defrag started", second + started, DefragBeforeRename, false},
		{"another crash point with defrag's log", started + second, BeforeCommit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := CrashEvidence(tc.logs, tc.p)
			if ok != tc.ok {
				t.Fatalf("CrashEvidence = %q, %v; want ok=%v", ev, ok, tc.ok)
			}
			if ok && !strings.Contains(ev, "panic: assertion failed: tx closed") {
				t.Errorf("evidence %q lacks the panic line", ev)
			}
		})
	}
}
