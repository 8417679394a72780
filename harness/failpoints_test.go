package harness

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFailpointDirs: the build enables gofail in exactly the packages
// that declare the wanted failpoints, and names the ones a version lacks.
func TestFailpointDirs(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etcdserver/raft.go":           "package etcdserver\n\t\t// gofail: var raftBeforeSave struct{}\n\t\t// gofail: var raftAfterSave struct{}\n",
		"storage/backend/batch_tx.go":  "package backend\n\t// gofail: var beforeCommit struct{}\n",
		"storage/backend/backend.go":   "package backend\n\t// gofail: var defragBeforeRename struct{}\n",
		"storage/mvcc/kvstore.go":      "package mvcc\n\t// gofail: var compactBeforeCommitBatch struct{}\n",
		"storage/wal/wal.go":           "package wal\n\t// gofail: var walBeforeSync struct{}\n",
		"etcdserver/raft_test.go":      "package etcdserver\n// gofail: var testOnly struct{}\n",
		"lease/lessor.go":              "package lease\n// a comment that mentions gofail: var raftBeforeSave\n",
		"storage/mvcc/testdata/x.json": "// gofail: var compactBeforeCommitBatch struct{}\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirs, err := failpointDirs(root, Failpoints)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"./etcdserver", "./storage/backend", "./storage/mvcc"}; !slices.Equal(dirs, want) {
		t.Errorf("dirs %v, want %v", dirs, want)
	}
	_, err = failpointDirs(root, []string{"raftBeforeSave", "testOnly", "noSuchPoint"})
	if err == nil || !strings.Contains(err.Error(), "testOnly, noSuchPoint") {
		t.Errorf("missing failpoints: %v, want both named", err)
	}
}

func TestFailpointDecl(t *testing.T) {
	for line, want := range map[string]string{
		"\t// gofail: var raftBeforeSave struct{}": "raftBeforeSave",
		"// gofail: var x string":                  "x",
		"// gofail: var":                           "",
		"// gofail: labelName:":                    "",
		"x := 1 // gofail: var y struct{}":         "",
	} {
		got, ok := failpointDecl(line)
		if got != want || ok != (want != "") {
			t.Errorf("failpointDecl(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

// TestFailpointsConfig: the variant has its own tag, and is refused with
// an existing image, which cannot have etcdrill's failpoints.
func TestFailpointsConfig(t *testing.T) {
	if got := FailpointsTag(MustVersion("3.6.16")); got != "etcdrill/etcd:v3.6.16-failpoints" {
		t.Errorf("tag %s", got)
	}
	cfg, _, err := NewConfig(WithFailpoints())
	if err != nil || !cfg.Failpoints {
		t.Errorf("WithFailpoints: %+v, %v", cfg.Failpoints, err)
	}
	if _, _, err := NewConfig(WithFailpoints(), WithImage("quay.io/coreos/etcd:v3.6.16")); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("failpoints with --image: %v, want a one-line error", err)
	}
}
