package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestBudgetGrowsWithData(t *testing.T) {
	ctx := context.Background()
	if got := Budget(ctx, time.Minute); got != time.Minute {
		t.Errorf("no data: %s", got)
	}
	ctx = WithDataSize(ctx, 2*MinThroughput*60) // two minutes' worth at the slowest rate
	if got := Budget(ctx, time.Minute); got != 3*time.Minute {
		t.Errorf("budget for %d bytes = %s, want 3m", DataSize(ctx), got)
	}
}

func TestUntarOneWritesTheNamedFile(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{"other.db": "no", "snapshot.db": "the snapshot"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	dst := filepath.Join(t.TempDir(), "out.db")
	n, err := untarOne(bytes.NewReader(buf.Bytes()), "snapshot.db", dst)
	if err != nil || n != int64(len("the snapshot")) {
		t.Fatalf("untar: %d bytes, %v", n, err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "the snapshot" {
		t.Errorf("wrote %q", b)
	}
	if _, err := untarOne(bytes.NewReader(buf.Bytes()), "missing.db", dst); err == nil {
		t.Error("a file not in the archive gave no error")
	}
}
