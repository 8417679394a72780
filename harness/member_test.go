package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
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

// TestRetryFreeze: runc's "unable to freeze" is tried again, any other
// pause error ends at once, and a container found paused after a failed
// try counts as paused (a first try that finds it paused does not).
func TestRetryFreeze(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unable := errors.New("Cannot pause container 8d76: OCI runtime pause failed: unable to freeze: unknown")
	already := errors.New("Container 8d76 is already paused")
	for _, tc := range []struct {
		name    string
		answers []error
		calls   int
		wantErr error
	}{
		{"paused at once", []error{nil}, 1, nil},
		{"paused on the third try", []error{unable, unable, nil}, 3, nil},
		{"the failed try froze it after all", []error{unable, already}, 2, nil},
		{"already paused before any try", []error{already}, 1, already},
		{"another error", []error{unable, errors.New("No such container: 8d76")}, 2, errors.New("No such container: 8d76")},
	} {
		calls := 0
		err := retryFreeze(ctx, func(context.Context) error {
			calls++
			return tc.answers[min(calls, len(tc.answers))-1]
		})
		if calls != tc.calls || fmt.Sprint(err) != fmt.Sprint(tc.wantErr) {
			t.Errorf("%s: %d calls, error %v; want %d calls, error %v", tc.name, calls, err, tc.calls, tc.wantErr)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if err := retryFreeze(short, func(context.Context) error { return unable }); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "unable to freeze") {
		t.Errorf("never freezes: %v, want the deadline with runc's last error", err)
	}
}
