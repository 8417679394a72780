package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
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

// TestCopyToBackupHoldsNoMemberVolume: the backup copy mounts the backup
// volume only. Copying after the first member's disk was wiped succeeds
// and does not bring that member's volume back (a container that mounted
// it would have made it again, unlabelled, and held it while the drill
// cleared the member).
func TestCopyToBackupHoldsNoMemberVolume(t *testing.T) {
	ctx := needEngine(t)
	c, err := New(ctx, WithVersion("3.6.16"), WithImage(benchImage), WithMembers(1), WithName("test-backup"), WithLogger(testLogger(t)))
	defer c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members()[0]
	if err := m.Wipe(ctx); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(src, []byte("a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := c.CopyToBackup(ctx, src, "snap.db"); err != nil || n != int64(len("a snapshot")) {
		t.Fatalf("CopyToBackup: %d bytes, %v", n, err)
	}
	if _, err := c.dc.VolumeInspect(ctx, m.volume, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("the wiped member's volume %s exists after the copy (err %v)", m.volume, err)
	}
}
