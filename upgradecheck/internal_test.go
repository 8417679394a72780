package upgradecheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/workload"
)

func TestLedgerCut(t *testing.T) {
	t0 := time.Unix(100, 0)
	t1 := t0.Add(time.Second)
	at := func(s, e float64) (time.Time, time.Time) {
		return t0.Add(time.Duration(s * float64(time.Second))), t0.Add(time.Duration(e * float64(time.Second)))
	}
	w := func(key string, o workload.Outcome, s, e float64) workload.Write {
		st, en := at(s, e)
		return workload.Write{Key: key, Outcome: o, Start: st, End: en}
	}
	in := []workload.Write{
		w("before-ack", workload.Acknowledged, -2, -1),
		w("before-failed", workload.Failed, -2, -1),
		w("before-timeout", workload.Indeterminate, -4, -0.5),
		w("overlap-start", workload.Acknowledged, -0.5, 0.5),
		w("inside", workload.Acknowledged, 0.2, 0.4),
		w("overlap-end", workload.Acknowledged, 0.9, 1.5),
		w("after", workload.Acknowledged, 1.1, 1.2),
	}
	got := map[string]workload.Outcome{}
	for _, x := range ledgerCut(in, t0, t1) {
		got[x.Key] = x.Outcome
	}
	want := map[string]workload.Outcome{
		"before-ack": workload.Acknowledged, "before-failed": workload.Failed, "before-timeout": workload.Indeterminate,
		"overlap-start": workload.Indeterminate, "inside": workload.Indeterminate, "overlap-end": workload.Indeterminate,
	}
	if len(got) != len(want) {
		t.Errorf("ledgerCut kept %v, want %v", got, want)
	}
	for k, o := range want {
		if got[k] != o {
			t.Errorf("%s: outcome %q, want %q", k, got[k], o)
		}
	}
}

func TestWritersSince(t *testing.T) {
	cfg := workload.Config{Prefix: "/etcdrill/upgrade-check/"}
	t0 := time.Unix(100, 0)
	var ws []workload.Write
	add := func(writer, seq int, start time.Time) {
		ws = append(ws, workload.Write{Key: cfg.Key(writer, seq), Start: start})
	}
	add(0, 0, t0.Add(-time.Second))
	add(0, 1, t0.Add(time.Second))
	add(1, 0, t0.Add(time.Second))
	add(1, 1, t0.Add(2*time.Second))
	add(2, 0, t0) // not after t0
	ws = append(ws, workload.Write{Key: "/other/w03/00000000", Start: t0.Add(time.Second)})
	if n := writersSince(ws, cfg.Prefix, t0); n != 2 {
		t.Errorf("writersSince = %d, want 2 (w00 and w01)", n)
	}
}

// writeTar writes files (name → body) as a tar, gzipped when gz.
func writeTar(t *testing.T, files map[string]string, extra []*tar.Header, gz bool) string {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	var zw *gzip.Writer
	tw := tar.NewWriter(w)
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, h := range extra {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	p := filepath.Join(t.TempDir(), "data.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDataDir(t *testing.T) {
	member := map[string]string{
		"member/snap/db": "db",
		"member/snap/0000000000000002-0000000000000001.snap": "snap",
		"member/wal/0000000000000000-0000000000000000.wal":   "wal",
	}
	for _, tc := range []struct {
		name   string
		prefix string
		gz     bool
	}{
		{"at the root", "", false},
		{"under etcd/ as docker cp makes it", "etcd/", false},
		{"under var/lib/etcd, gzipped", "./var/lib/etcd/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{tc.prefix + "README": "not part of member/"}
			for k, v := range member {
				files[tc.prefix+k] = v
			}
			link := &tar.Header{Name: tc.prefix + "member/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}
			got, err := readDataDir(writeTar(t, files, []*tar.Header{link}, tc.gz), "/prod")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(member) {
				t.Errorf("readDataDir returned %d files, want %d: %v", len(got), len(member), keys(got))
			}
			for k, v := range member {
				if string(got["/prod/"+k]) != v {
					t.Errorf("/prod/%s = %q, want %q", k, got["/prod/"+k], v)
				}
			}
		})
	}
}

func TestReadDataDirRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no db", map[string]string{"member/wal/0.wal": "x"}, "no member/snap/db"},
		{"escapes", map[string]string{"../member/snap/db": "x"}, "leaves the archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readDataDir(writeTar(t, tc.files, nil, false), "/prod")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("readDataDir err = %v, want %q", err, tc.want)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "not.tar")
	os.WriteFile(p, []byte("plain text, not an archive"), 0o600)
	if _, err := readDataDir(p, "/prod"); err == nil {
		t.Error("readDataDir accepted a file that is not an archive")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
