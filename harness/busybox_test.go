package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

func xzBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// fakeDeb is a .deb whose data.tar.xz holds ./bin/busybox = body.
func fakeDeb(t *testing.T, body []byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "./bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.xz", xzBytes(t, []byte("x"))}, {"data.tar.xz", xzBytes(t, tb.Bytes())}} {
		fmt.Fprintf(&ar, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", m.name, "0", "0", "0", "100644", len(m.body))
		ar.Write(m.body)
		if len(m.body)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes()
}

// fakeMirror serves a suite with busybox-static; tamper changes the .deb
// after the index was made.
func fakeMirror(t *testing.T, tamper bool) *httptest.Server {
	t.Helper()
	deb := fakeDeb(t, []byte("#!busybox"))
	debPath := "pool/main/b/busybox/busybox-static_1.0_" + runtime.GOARCH + ".deb"
	packages := xzBytes(t, []byte(fmt.Sprintf("Package: busybox\nVersion: 1.0\nFilename: pool/other.deb\nSHA256: %s\n\nPackage: busybox-static\nVersion: 1:1.0\nFilename: %s\nSHA256: %s\n\n", strings.Repeat("0", 64), debPath, sum(deb))))
	index := "main/binary-" + runtime.GOARCH + "/Packages.xz"
	release := fmt.Sprintf("Origin: Debian\nMD5Sum:\n 0 1 %[2]s\nSHA256:\n %[1]s %[3]d %[2]s\n", sum(packages), index, len(packages))
	if tamper {
		deb = fakeDeb(t, []byte("#!evil"))
	}
	files := map[string][]byte{"/dists/" + DebianSuite + "/InRelease": []byte(release), "/dists/" + DebianSuite + "/" + index: packages, "/" + debPath: deb}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBusyboxFromMirrorVerifiedAndCached(t *testing.T) {
	srv := fakeMirror(t, false)
	t.Setenv(EnvBusybox, "")
	t.Setenv(EnvDebianMirror, srv.URL)
	cache := t.TempDir()
	p, err := Busybox(context.Background(), cache, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "#!busybox" {
		t.Fatalf("busybox = %q", b)
	}
	srv.Close() // the second call must not need the mirror
	if _, err := Busybox(context.Background(), cache, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("cached busybox: %v", err)
	}
}

func TestBusyboxRefusesATamperedDeb(t *testing.T) {
	srv := fakeMirror(t, true)
	t.Setenv(EnvBusybox, "")
	t.Setenv(EnvDebianMirror, srv.URL)
	_, err := Busybox(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("tampered deb: err = %v, want a sha256 mismatch", err)
	}
}

func TestBusyboxUnreachableSaysWhatToSet(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	t.Setenv(EnvBusybox, "")
	t.Setenv(EnvDebianMirror, srv.URL)
	_, err := Busybox(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), EnvBusybox) || !strings.Contains(err.Error(), EnvDebianMirror) {
		t.Fatalf("err = %v, want one line naming %s and %s", err, EnvBusybox, EnvDebianMirror)
	}
}

func TestBusyboxOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "busybox")
	os.WriteFile(p, []byte("x"), 0o755)
	t.Setenv(EnvBusybox, p)
	if got, err := Busybox(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler)); err != nil || got != p {
		t.Fatalf("override: %s, %v", got, err)
	}
	t.Setenv(EnvBusybox, filepath.Join(t.TempDir(), "missing"))
	if _, err := Busybox(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a missing override was accepted")
	}
}

func TestArMemberRejectsGarbage(t *testing.T) {
	for name, b := range map[string][]byte{"not ar": []byte("hello"), "truncated": []byte("!<arch>\ndata.tar.xz/    0           0     0     100644  999       `\nabc")} {
		if _, err := arMember(b, "data.tar.xz"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestBusyboxFromDebian fetches the real package from the real mirror
// (ETCDRILL_NET_TESTS=1; it needs the network) into an empty cache.
func TestBusyboxFromDebian(t *testing.T) {
	if os.Getenv("ETCDRILL_NET_TESTS") != "1" {
		t.Skip("set ETCDRILL_NET_TESTS=1 to fetch busybox-static from " + DefaultDebianMirror)
	}
	t.Setenv(EnvBusybox, "")
	t.Setenv(EnvDebianMirror, "")
	cache := t.TempDir()
	start := time.Now()
	p, err := Busybox(context.Background(), cache, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() < 1<<20 {
		t.Fatalf("busybox %s: %v, %v", p, st, err)
	}
	t.Logf("busybox-static resolved, verified and unpacked in %s", time.Since(start).Round(time.Millisecond))
}
