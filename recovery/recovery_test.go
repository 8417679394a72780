package recovery

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

const statusLine = `{"hash":3309957202,"revision":113,"totalKey":120,"totalSize":20480,"version":"3.6.0"}`

// zapInfo is a log line etcdutl's zap logger may print before the status.
const zapInfo = `{"level":"info","ts":"2025-06-01T10:00:00.123456Z","caller":"snapshot/v3_snapshot.go:65","msg":"opened snapshot","path":"/var/lib/etcd-backup/snapshot.db"}`

func TestParseSnapshotStatus(t *testing.T) {
	want := SnapshotStatus{Hash: 3309957202, Revision: 113, TotalKey: 120, TotalSize: 20480, Version: "3.6.0"}
	for _, tc := range []struct {
		name string
		out  string
	}{
		{"bare", statusLine},
		{"trailing newline", statusLine + "\n"},
		{"crlf and indent", "  " + statusLine + "\r\n"},
		{"after zap info", zapInfo + "\n" + statusLine + "\n"},
		{"after text warning", "Deprecated: Use `etcdutl snapshot status` instead.\n\n" + zapInfo + "\n" + statusLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSnapshotStatus(tc.out)
			if err != nil {
				t.Fatalf("ParseSnapshotStatus: %v", err)
			}
			if got != want {
				t.Errorf("ParseSnapshotStatus = %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseSnapshotStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		out      string
		noStatus bool // the error says "no status"
	}{
		{"empty", "", true},
		{"only logs", zapInfo + "\n", true},
		{"table output", "+----------+----------+------------+------------+\n|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n+----------+----------+------------+------------+\n| c54a8b52 |      113 |        120 |      20 kB |\n", true},
		{"error text", "Error: stat /var/lib/etcd-backup/snapshot.db: no such file or directory\n", true},
		{"truncated json", `{"hash":3309957202,"revision":11`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSnapshotStatus(tc.out)
			if err == nil {
				t.Fatalf("ParseSnapshotStatus = %+v, want an error", got)
			}
			if tc.noStatus && !strings.Contains(err.Error(), "no status") {
				t.Errorf("error %q does not say no status", err)
			}
		})
	}
}

func TestRestoreArgs(t *testing.T) {
	const snap = "/var/lib/etcd-backup/snapshot.db"
	names := []string{"m1", "m2", "m3"}
	for _, tc := range []struct {
		name    string
		tls     bool
		extra   []string
		members []string // the --initial-cluster entries, in any order
		peer    string
	}{
		{"tls", true, nil,
			[]string{"m1=https://m1:2380", "m2=https://m2:2380", "m3=https://m3:2380"}, "https://m2:2380"},
		{"tls extra", true, []string{"--skip-hash-check=true", "--wal-dir=/var/lib/etcd/wal"},
			[]string{"m1=https://m1:2380", "m2=https://m2:2380", "m3=https://m3:2380"}, "https://m2:2380"},
		{"plain", false, nil,
			[]string{"m1=http://m1:2380", "m2=http://m2:2380", "m3=http://m3:2380"}, "http://m2:2380"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := RestoreArgs(snap, "m2", names, "tok", tc.tls, tc.extra...)
			head := []string{"etcdutl", "snapshot", "restore", snap}
			if len(args) < len(head) || !slices.Equal(args[:len(head)], head) {
				t.Fatalf("RestoreArgs = %q, want it to start with %q", args, head)
			}
			for _, want := range []string{
				"--name=m2",
				"--initial-cluster-token=tok",
				"--initial-advertise-peer-urls=" + tc.peer,
				"--data-dir=/var/lib/etcd",
			} {
				if !slices.Contains(args, want) {
					t.Errorf("missing %s in %q", want, args)
				}
			}
			var cluster []string
			n := 0
			for _, a := range args {
				if v, ok := strings.CutPrefix(a, "--initial-cluster="); ok {
					cluster = strings.Split(v, ",")
					n++
				}
			}
			if n != 1 {
				t.Fatalf("--initial-cluster given %d times in %q, want once", n, args)
			}
			sort.Strings(cluster)
			if !slices.Equal(cluster, tc.members) {
				t.Errorf("--initial-cluster members = %q, want %q", cluster, tc.members)
			}
			if len(tc.extra) > 0 {
				if tail := args[len(args)-len(tc.extra):]; !slices.Equal(tail, tc.extra) {
					t.Errorf("last args = %q, want extra %q", tail, tc.extra)
				}
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	for _, old := range []string{"x", "etcdrill-abc123", "etcd-cluster-1"} {
		t.Run(old, func(t *testing.T) {
			once := NewToken(old)
			if once == old {
				t.Fatalf("NewToken(%q) = %q, want a different token", old, once)
			}
			if !strings.HasPrefix(once, old+"-restored-") {
				t.Errorf("NewToken(%q) = %q, want it to start with %q", old, once, old+"-restored-")
			}
			twice := NewToken(once)
			if twice == once {
				t.Errorf("NewToken(%q) returned its input", once)
			}
			if n := strings.Count(twice, "-restored-"); n != 1 {
				t.Errorf("NewToken(NewToken(%q)) = %q has %d -restored- suffixes, want 1", old, twice, n)
			}
			if !strings.HasPrefix(twice, old+"-restored-") {
				t.Errorf("NewToken(NewToken(%q)) = %q lost the original token", old, twice)
			}
		})
	}
}

func TestParseSnapshotStatusSkipsLogLinesWithRevision(t *testing.T) {
	out := `{"level":"info","msg":"read snapshot","revision":113}
{"hash":42,"revision":200,"totalKey":7,"totalSize":4096,"version":"3.6.0"}`
	st, err := ParseSnapshotStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision != 200 || st.Hash != 42 || st.TotalKey != 7 {
		t.Fatalf("took a log line for the status: %+v", st)
	}
}

func TestNewTokenKeepsUserSuffixes(t *testing.T) {
	got := NewToken("my-restored-cluster")
	if !strings.HasPrefix(got, "my-restored-cluster-restored-") {
		t.Fatalf("NewToken(my-restored-cluster) = %q, dropped part of the user's token", got)
	}
}
