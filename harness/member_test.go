package harness

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestTarFilesForRoot: certificates go into one archive extracted at /,
// with keys readable by root only.
func TestTarFilesForRoot(t *testing.T) {
	b, err := tarFiles(map[string][]byte{
		"/etc/kubernetes/pki/etcd/server.key": []byte("key"),
		"/etc/kubernetes/pki/etcd/ca.crt":     []byte("ca"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Typeflag != tar.TypeReg || int64(len(body)) != h.Size {
			t.Errorf("%s: type %c, %d bytes of %d", h.Name, h.Typeflag, len(body), h.Size)
		}
		got[h.Name] = h.Mode
	}
	want := map[string]int64{"etc/kubernetes/pki/etcd/server.key": 0o600, "etc/kubernetes/pki/etcd/ca.crt": 0o644}
	if len(got) != len(want) {
		t.Fatalf("archive holds %v, want %v", got, want)
	}
	for name, mode := range want {
		if got[name] != mode {
			t.Errorf("%s: mode %o, want %o", name, got[name], mode)
		}
	}
}

// hasLine finds etcd's "serving peer traffic" line among its others, and
// not the shutdown line that contains the same words.
func TestHasLineFindsServingPeers(t *testing.T) {
	const boot = `{"level":"info","msg":"bootstrapping cluster"}
{"level":"info","msg":"now serving peer/client/metrics"}
`
	const stopping = `{"level":"info","msg":"stopping serving peer traffic","address":"[::]:2380"}
`
	const serving = `{"level":"info","ts":"2026-12-01T23:32:32.764Z","caller":"embed/etcd.go:641","msg":"serving peer traffic","address":"[::]:2380"}
`
	for _, tc := range []struct {
		log  string
		want bool
	}{
		{boot + serving + `{"msg":"ready to serve client requests"}`, true},
		{boot, false},
		{boot + stopping, false},
		{"", false},
	} {
		if got := hasLine(strings.NewReader(tc.log), servingPeers); got != tc.want {
			t.Errorf("hasLine(%q) = %v, want %v", tc.log, got, tc.want)
		}
	}
}
