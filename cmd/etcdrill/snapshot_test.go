package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every case here is decided before a container starts: bad flags, bad
// input (exit 2) and files refused offline (exit 1), so none needs Docker.
func TestSnapshotVerifyExitCodes(t *testing.T) {
	fixtures := filepath.Join("..", "..", "recovery", "testdata", "verifyfile", "v3.6.16")
	snap, err := os.ReadFile(filepath.Join(fixtures, "snapshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(snap)
	flipped[bytes.Index(snap, []byte(strings.Repeat("0", 40)))+20] ^= 0x01
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		errHas    string
		stdoutHas []string
	}{
		{"flipped byte", []string{write("flipped.db", flipped)}, 1, "sha256 mismatch", []string{"FAIL", "no cluster started", "snapshot-status", "report:"}},
		{"flipped byte, skip does not help", []string{write("flipped2.db", flipped), "--skip-hash-check"}, 1, "not a damaged one", nil},
		{"truncated", []string{write("truncated.db", snap[:len(snap)/2])}, 1, "truncated", []string{"FAIL"}},
		{"db file without --skip-hash-check", []string{filepath.Join(fixtures, "db")}, 1, "--skip-hash-check", []string{"no sha256 hash"}},
		{"missing file", []string{filepath.Join(dir, "missing.db")}, 2, "no such file", nil},
		{"empty file", []string{write("empty.db", nil)}, 2, "empty file", nil},
		{"not a snapshot", []string{write("text.db", []byte("hello\n"))}, 2, "not an etcd snapshot", nil},
		{"a directory", []string{dir}, 2, "is a directory", nil},
		{"no file", nil, 2, "accepts 1 arg", nil},
		{"two files", []string{"a", "b"}, 2, "accepts 1 arg", nil},
		{"bad members", []string{write("m.db", snap), "--members", "4"}, 2, "--members 4", nil},
		{"bump without mark", []string{write("b.db", snap), "--bump-revision", "10"}, 2, "--mark-compacted", nil},
		{"mark without bump", []string{write("c.db", snap), "--mark-compacted"}, 2, "--bump-revision", nil},
		{"bad version", []string{write("v.db", snap), "--version", "3.4.1"}, 2, "3.4.1", nil},
		{"bad output", []string{write("o.db", snap), "-o", "yaml"}, 2, "yaml", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"snapshot", "verify", "--out", out}, tc.args...), &stdout, &stderr)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != tc.code {
				t.Fatalf("err %v, want exit %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line with %q", err, tc.errHas)
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if tc.code == 2 && stdout.Len() > 0 {
				t.Errorf("stdout not empty for a usage error:\n%s", stdout.String())
			}
		})
	}
}

func TestSnapshotVerifyJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	db := filepath.Join("..", "..", "recovery", "testdata", "verifyfile", "v3.7.3", "db")
	err := run(context.Background(), []string{"snapshot", "verify", db, "-o", "json", "--out", t.TempDir()}, &stdout, &stderr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err %v, want exit 1", err)
	}
	var s verifySummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout.String())
	}
	if s.Verdict != "fail" || s.SnapshotRevision != 21 || len(s.Checks) != 2 || s.Report == "" {
		t.Errorf("summary %+v", s)
	}
	if _, err := os.Stat(filepath.Join(s.Report, "report.json")); err != nil {
		t.Errorf("report not written: %v", err)
	}
}
