package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// numbered returns n lines "line 1" … "line n".
func numbered(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i+1)
	}
	return lines
}

func TestTrimOutput(t *testing.T) {
	long := numbered(100)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"trailing whitespace", "a  \r\nb\t\n\n  \n", []string{"a", "b"}},
		{"leading indent kept", "  a\n    b", []string{"  a", "    b"}},
		{"60 lines kept", strings.Join(numbered(60), "\n") + "\n", numbered(60)},
		{"61 lines cut", strings.Join(numbered(61), "\n"),
			append(append(numbered(40), "… 11 lines omitted …"), numbered(61)[51:]...)},
		{"100 lines cut", strings.Join(long, "\n"),
			append(append(numbered(40), "… 50 lines omitted …"), long[90:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trimOutput(tt.in)
			if want := strings.Join(tt.want, "\n"); got != want {
				t.Errorf("trimOutput:\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

func TestMarkdownTruncatesLongOutput(t *testing.T) {
	r := minimal()
	r.Steps = []record.Step{{Phase: record.PhaseVerify, Name: "list keys", Command: "etcdctl get --prefix /", Output: strings.Join(numbered(75), "\n")}}
	md := render(t, r)
	for _, want := range []string{"   line 40\n   … 25 lines omitted …\n   line 66\n", "   line 75\n   ```\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "line 41\n") || strings.Contains(md, "line 65\n") {
		t.Errorf("report keeps omitted lines:\n%s", md)
	}
}

func TestFence(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 3},
		{"no backticks", 3},
		{"`inline` and ``double``", 3},
		{"```sh\nls\n```", 4},
		{"a ```` b ``````", 7},
	}
	for _, tt := range tests {
		if got := fence(tt.in); got != strings.Repeat("`", tt.want) {
			t.Errorf("fence(%q) = %q, want %d backticks", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownBacktickOutputKeepsFence(t *testing.T) {
	r := minimal()
	out := "note:\n```sh\nrm -rf /var/lib/etcd\n```\nend"
	r.Steps = []record.Step{{Phase: record.PhaseObserve, Name: "read note", Command: "echo '```'", Output: out}}
	md := render(t, r)
	want := "   ````text\n   note:\n   ```sh\n   rm -rf /var/lib/etcd\n   ```\n   end\n   ````\n"
	if !strings.Contains(md, want) {
		t.Errorf("output block not fenced by four backticks:\n%s", md)
	}
	if !strings.Contains(md, "   ````sh\n   echo '```'\n   ````\n") {
		t.Errorf("command block not fenced by four backticks:\n%s", md)
	}
}

func TestMarkdownParts(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *record.Record)
		want []string
		not  []string
	}{
		{"pass has no reason", func(r *record.Record) { r.Reason = "stale" },
			[]string{"# Drill: single-node — PASS\n"}, []string{"Reason"}},
		{"fail shows reason", func(r *record.Record) { r.Verdict, r.Reason = record.Fail, "check hashkv: members differ" },
			[]string{"# Drill: single-node — FAIL\n\n**Reason:** check hashkv: members differ\n"}, nil},
		{"fail falls back to first failure", func(r *record.Record) {
			r.Verdict = record.Fail
			r.Checks = []record.Check{{Name: "alarms", Verdict: record.Fail, Summary: "NOSPACE raised"}}
		}, []string{"**Reason:** check alarms: NOSPACE raised\n"}, nil},
		{"not applicable", func(r *record.Record) { r.Verdict, r.Reason = record.NotApplicable, "v2 data needs etcd 3.5" },
			[]string{"— NOT APPLICABLE\n", "**Reason:** v2 data needs etcd 3.5"}, nil},
		{"rto in seconds", func(r *record.Record) { r.Metrics.RTOMillis = record.Millis(14371 * time.Millisecond) },
			[]string{"| 14.37 s |"}, nil},
		{"optional numbers omitted", func(*record.Record) {}, nil, []string{"snapshot revision", "cluster ID", "digest"}},
		{"cluster IDs", func(r *record.Record) { r.Metrics.ClusterIDBefore, r.Metrics.ClusterIDAfter = "a1", "b2" },
			[]string{"| `a1` → `b2` |"}, nil},
		{"short image ID", func(r *record.Record) { r.Config.ImageID = "sha256:0123456789abcdef0123" },
			[]string{"(ID `0123456789ab`)"}, nil},
		{"verdict marks", func(r *record.Record) {
			r.Checks = []record.Check{
				{Name: "a", Verdict: record.Pass}, {Name: "b", Verdict: record.Fail},
				{Name: "c", Verdict: record.NotApplicable}, {Name: "d", Verdict: record.Expected},
			}
		}, []string{"| a | ✅ pass |", "| b | ❌ fail |", "| c | ⚪ not applicable |", "| d | ☑️ expected failure |"}, nil},
		{"failed check details", func(r *record.Record) {
			r.Checks = []record.Check{{Name: "key-integrity", Verdict: record.Fail, Summary: "1 key missing",
				Details: []string{"missing /k|1 `x`"}}}
		}, []string{"**key-integrity** failed: 1 key missing\n\n- `` missing /k|1 `x` ``\n"}, nil},
		{"passed check details hidden", func(r *record.Record) {
			r.Checks = []record.Check{{Name: "hashkv", Verdict: record.Pass, Summary: "equal", Details: []string{"rev 9"}}}
		}, nil, []string{"rev 9"}},
		{"table cells escaped", func(r *record.Record) {
			r.Checks = []record.Check{{Name: "odd", Verdict: record.Pass, Summary: "a|b *c*\nd"}}
		}, []string{`| odd | ✅ pass | a\|b \*c\* d |`}, nil},
		{"step without command", func(r *record.Record) {
			r.Steps = []record.Step{{Phase: record.PhaseSetup, Name: "start cluster", Output: "m1 up\n", Exit: 3,
				Start: r.Start, End: r.Start.Add(6280 * time.Millisecond), Verdict: record.Pass}}
		}, []string{"1. setup · **start cluster** · 6.28 s · ✅ pass\n\n   ```text\n   m1 up\n   ```\n"}, []string{"Exit code", "```sh"}},
		{"step with error", func(r *record.Record) {
			r.Steps = []record.Step{{Phase: record.PhaseRecovery, Name: "restore", Member: "m2", Command: "etcdutl snapshot restore x",
				Exit: 1, Verdict: record.Fail, Error: "data-dir exists"}}
		}, []string{"1. recovery · **restore** · on m2 · ❌ fail\n", "   Exit code 1, no output.\n\n   **Error:** data-dir exists\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := minimal()
			tt.edit(r)
			md := render(t, r)
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("report lacks %q:\n%s", w, md)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(md, n) {
					t.Errorf("report has %q:\n%s", n, md)
				}
			}
		})
	}
}

func TestRunbookIndentsToWidestMarker(t *testing.T) {
	r := minimal()
	for i := 0; i < 10; i++ {
		r.Steps = append(r.Steps, record.Step{Phase: record.PhaseVerify, Name: "probe", Command: "true"})
	}
	md := render(t, r)
	for _, want := range []string{"1.  verify · **probe**", "10. verify · **probe**", "\n    ```sh\n    true\n    ```\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0.00 s"},
		{455 * time.Millisecond, "0.46 s"},
		{14371 * time.Millisecond, "14.37 s"},
		{72540 * time.Millisecond, "1 min 12.54 s"},
		{3*time.Minute + 5*time.Second, "3 min 05.00 s"},
	}
	for _, tt := range tests {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// minimal is a passing one-member record with no steps or checks.
func minimal() *record.Record {
	start := time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)
	return &record.Record{
		Schema: record.Schema, RunID: "r1", Scenario: "single-node",
		Config: record.Config{EtcdVersion: "3.6.16", Image: "etcdrill/etcd:v3.6.16", Members: 1},
		Start:  start, End: start.Add(time.Minute), Verdict: record.Pass,
	}
}

func render(t *testing.T, r *record.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestClientsSection(t *testing.T) {
	r := &record.Record{Scenario: "x", Verdict: record.Fail, Start: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	r.Clients = &record.Clients{Keys: 8, Watchers: 2, WatchSessions: 3, WatchEvents: 120, WatchRefused: 1, Visualization: "linearizability.html",
		Ops:    []record.OpCount{{Kind: "get", Acknowledged: 10, Indeterminate: 1}},
		Epochs: []record.ClientEpoch{{Cluster: "c1", From: r.Start}, {Cluster: "c2", From: r.Start.Add(5 * time.Second), Ops: 8}}}
	r.Checks = []record.Check{{Name: "linearizable", Verdict: record.Fail, Summary: "1 of 16 key histories are not linearizable"}}
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## What clients saw", "| get | 10 | 0 | 1 |", "| 2 | c2 | 5.00 s | 8 |", "[linearizability.html](linearizability.html)", "3 streams", "1 resumes refused"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var h bytes.Buffer
	if err := HTML(&h, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="clients"`, `href="linearizability.html"`, "not linearizable"} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	r.Clients = nil
	md.Reset()
	Markdown(&md, r)
	if strings.Contains(md.String(), "What clients saw") {
		t.Error("a record without clients must render no section")
	}
}
