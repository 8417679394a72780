package harness

import (
	"archive/tar"
	"bytes"
	"io"
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
