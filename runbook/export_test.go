package runbook

import (
	"errors"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/record"
)

// TestExportParses: every export reads back as a runbook that passes
// Check, for every size, with and without TLS and auth.
func TestExportParses(t *testing.T) {
	for _, d := range Exportable {
		for _, n := range []int{3, 5} {
			for _, tls := range []bool{true, false} {
				o := ExportOptions{Drill: d, Version: "3.6.16", Members: n, TLS: tls, Auth: tls}
				out, err := Export(o)
				if err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
				r, err := Parse("runbook.md", []byte(out))
				if err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
				if err := r.Check(n); err != nil {
					t.Errorf("%+v: %v", o, err)
				}
				if tls != strings.Contains(out, `--cacert="${CACERT}"`) {
					t.Errorf("%+v: TLS flags %v", o, !tls)
				}
				checkWaitsAndRetries(t, o, out)
			}
		}
	}
	if _, err := Export(ExportOptions{Drill: "leader-kill", Members: 3}); !errors.Is(err, ErrNoExport) {
		t.Errorf("leader-kill: got %v, want ErrNoExport", err)
	}
}

func TestExportQuorumLoss(t *testing.T) {
	out, err := Export(ExportOptions{Drill: "quorum-loss", Version: "3.6.16", Members: 3, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse("runbook.md", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 4 {
		t.Fatalf("got %d steps", len(r.Steps))
	}
	restore := r.Steps[1]
	if len(restore.Actions) != 3 || restore.Actions[2].Host != "m3" {
		t.Fatalf("restore: %+v", restore.Actions)
	}
	want := `etcdutl snapshot restore "${SNAPSHOT}" --name=m3 --initial-cluster=m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380 --initial-cluster-token="${TOKEN}" --initial-advertise-peer-urls=https://m3:2380 --data-dir=/var/lib/etcd`
	if restore.Actions[2].Text != want {
		t.Errorf("restore on m3:\n got %s\nwant %s", restore.Actions[2].Text, want)
	}
}

// TestExplain plants the three mistakes the runbook check exists to
// point at, and a runbook that broke nothing.
func TestExplain(t *testing.T) {
	out, _ := Export(ExportOptions{Drill: "quorum-loss", Version: "3.6.16", Members: 3, TLS: true})
	env := Env{Members: []string{"m1", "m2", "m3"}, ClusterToken: "quorum-loss-1234"}
	ranAll := func(r *Runbook, skip func(Action) bool) []ran {
		var out []ran
		for _, st := range r.Steps {
			for _, a := range st.Actions {
				if skip == nil || !skip(a) {
					out = append(out, ran{Action: a, member: a.Host})
				}
			}
		}
		return out
	}
	t.Run("old token", func(t *testing.T) {
		bad := strings.ReplaceAll(out, `--initial-cluster-token="${TOKEN}" --initial-advertise`, `--initial-cluster-token="${CLUSTER_TOKEN}" --initial-advertise`)
		r, _ := Parse("runbook.md", []byte(bad))
		c := explain(r, env, ranAll(r, nil), []record.Check{{Name: "new-cluster-id", Verdict: record.Fail, Summary: "cluster ID 1a unchanged"}})
		line := r.Steps[1].Actions[0].Line
		if c.Verdict != record.Fail || !strings.Contains(c.Summary, r.At(line)) || !strings.Contains(c.Summary, "old --initial-cluster-token") {
			t.Errorf("got %+v, want a pointer at %s", c, r.At(line))
		}
	})
	t.Run("forgotten restore", func(t *testing.T) {
		r, _ := Parse("runbook.md", []byte(out))
		isM2Restore := func(a Action) bool { return a.Host == "m2" && strings.Contains(a.Text, "snapshot restore") }
		c := explain(r, env, ranAll(r, isM2Restore), []record.Check{{Name: "hashkv", Verdict: record.Fail, Summary: "m2 hash 1 differs from m1 hash 2"}})
		if c.Verdict != record.Fail || !strings.Contains(c.Summary, "m2") || !strings.Contains(c.Summary, "never ran `etcdutl snapshot restore`") {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("alarm left", func(t *testing.T) {
		q, _ := Export(ExportOptions{Drill: "quota-exhaustion", Version: "3.6.16", Members: 3, TLS: true})
		i := strings.Index(q, "### 4. Disarm the alarm")
		r, _ := Parse("runbook.md", []byte(q[:i]))
		c := explain(r, env, ranAll(r, nil), []record.Check{{Name: "alarms", Verdict: record.Fail, Summary: "m1: NOSPACE"}})
		if c.Verdict != record.Fail || !strings.Contains(c.Summary, "no line of runbook.md runs `etcdctl alarm disarm`") || !strings.Contains(c.Summary, r.At(lastLine(r))) {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("failed step", func(t *testing.T) {
		r, _ := Parse("runbook.md", []byte(out))
		rs := ranAll(r, nil)[:2]
		rs[1].err = errors.New("rm: exit 1")
		c := explain(r, env, rs, nil)
		if c.Verdict != record.Fail || !strings.HasPrefix(c.Summary, r.Span(rs[1].Action)) {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("nothing broken", func(t *testing.T) {
		r, _ := Parse("runbook.md", []byte(out))
		if c := explain(r, env, ranAll(r, nil), []record.Check{{Name: "health", Verdict: record.Pass}}); c.Verdict != record.Pass {
			t.Errorf("got %+v", c)
		}
	})
}

// checkWaitsAndRetries: every `endpoint health` line of an export carries the
// short command timeout (so a loop retries a member that is still
// starting within seconds), and no `member add` does (it is not
// idempotent, so its tries keep etcdctl's default deadline); every
// `member add` and `member remove` is retried.
func checkWaitsAndRetries(t *testing.T, o ExportOptions, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "etcdctl ") {
			continue
		}
		has := strings.Contains(l, healthTimeout)
		switch {
		case strings.Contains(l, " endpoint health") && !has:
			t.Errorf("%+v: a health wait without %s: %s", o, healthTimeout, l)
		case strings.Contains(l, " member add ") && has:
			t.Errorf("%+v: member add with %s: %s", o, healthTimeout, l)
		}
		if strings.Contains(l, " member add ") || strings.Contains(l, " member remove ") {
			if !strings.HasPrefix(l, "until ") {
				t.Errorf("%+v: a membership change that is not retried (etcd refuses one for 5 s after its peers connect): %s", o, l)
			}
			if !strings.Contains(l, " member list") {
				t.Errorf("%+v: a membership change retried without checking member list (a try that timed out may have been applied): %s", o, l)
			}
		}
	}
}
