package recovery

import (
	"testing"
	"time"
)

// Lines as etcd 3.5.35 and 3.6.16 log them while a restored member boots.
const bootLog = `{"level":"info","ts":"2026-12-01T10:08:58.503881Z","caller":"etcdserver/backend.go:81","msg":"opened backend db","path":"/var/lib/etcd/member/snap/db","took":"3.1ms"}
{"level":"info","ts":"2026-12-01T10:08:58.512466Z","caller":"mvcc/kvstore.go:393","msg":"kvstore restored","current-rev":1}
{"level":"info","ts":"2026-12-01T10:08:58.518149Z","caller":"embed/etcd.go:870","msg":"now serving peer/client/metrics","local-member-id":"8e9e05c52164694d"}
not json at all
{"level":"info","ts":"2026-12-01T10:08:59.212471Z","logger":"raft","caller":"v3@v3.6.0/node.go:370","msg":"raft.node: 8e9e05c52164694d elected leader 8e9e05c52164694d at term 2"}
{"level":"info","ts":"2026-12-01T10:09:03.000000Z","logger":"raft","msg":"raft.node: 8e9e05c52164694d elected leader 1 at term 3"}`

func TestBootMarks(t *testing.T) {
	booted, elected := bootMarks(bootLog)
	want := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	if !booted.Equal(want("2026-12-01T10:08:58.518149Z")) {
		t.Errorf("booted at %s", booted)
	}
	if !elected.Equal(want("2026-12-01T10:08:59.212471Z")) {
		t.Errorf("first election at %s, want the first one", elected)
	}
	if b, e := bootMarks("{}\nplain text"); !b.IsZero() || !e.IsZero() {
		t.Errorf("a log without the marks gave %s, %s", b, e)
	}
}

func TestRateSaysThroughput(t *testing.T) {
	if got := rate(2_000_000_000, 10*time.Second); got != "2000.0 MB in 10s: 200.0 MB/s" {
		t.Errorf("rate = %q", got)
	}
	if got := rate(5, 0); got != "0.0 MB in 0s: 0.0 MB/s" {
		t.Errorf("rate without time = %q", got)
	}
}
