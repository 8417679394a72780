package harness

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// MinThroughput is the slowest data rate a command is given time for:
// a command that moves n bytes (a snapshot save, a restore, a copy, the
// boot of a restored member) gets its usual budget plus n / MinThroughput.
// 10 MB/s is slower than any disk worth restoring etcd onto, so a command
// that overruns it is stuck, not slow; an 8 GiB restore gets 14 more
// minutes.
const MinThroughput = 10_000_000 // bytes per second

type dataSizeKey struct{}

// WithDataSize returns ctx carrying the size in bytes of the data the
// commands run under it move. Exec, Offline, the streaming copies and
// WaitReady then stretch their budgets by bytes / MinThroughput, so a
// large restore on a slow disk is told from a hang by its throughput, not
// cut off by a budget made for a toy cluster.
func WithDataSize(ctx context.Context, bytes int64) context.Context {
	return context.WithValue(ctx, dataSizeKey{}, bytes)
}

// DataSize is the size WithDataSize put in ctx, 0 when none.
func DataSize(ctx context.Context) int64 {
	n, _ := ctx.Value(dataSizeKey{}).(int64)
	return n
}

// Budget is base stretched for the data size ctx carries: base plus one
// second per MinThroughput bytes.
func Budget(ctx context.Context, base time.Duration) time.Duration {
	return base + time.Duration(DataSize(ctx))*time.Second/MinThroughput
}

// BackupVolume is the Docker volume of the run that stands for the
// operator's backup share: snapshots are copied into it once and every
// member's offline tools (`etcdutl snapshot restore`, `snapshot status`)
// read them from it at BackupDir, so a large snapshot is never held in
// the harness's memory nor copied once per member.
func (c *Cluster) BackupVolume() string { return c.runID + "-backup" }

// WorkDir is the run's directory on the operator's machine (a temporary
// directory removed by Close), where snapshots copied off members land.
func (c *Cluster) WorkDir() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.workDir != "" {
		return c.workDir, nil
	}
	d, err := os.MkdirTemp("", c.runID+"-")
	if err != nil {
		return "", fmt.Errorf("work dir: %w", err)
	}
	c.workDir = d
	return d, nil
}

// CopyToBackup streams the host file src into the backup volume as
// BackupDir/name, in constant memory: a tar stream is written as the file
// is read, into a container that mounts the volume and never starts, as
// `docker cp` does. It returns the bytes copied.
func (c *Cluster) CopyToBackup(ctx context.Context, src, name string) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("copy %s to the backup volume: %w", src, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("copy %s to the backup volume: %w", src, err)
	}
	ctx = WithDataSize(ctx, fi.Size())
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, c.cfg.Timeouts.Command))
	defer cancel()
	if err := c.ensureBackupVolume(ctx); err != nil {
		return 0, err
	}
	// Only the backup volume is mounted: no member's data volume is held
	// while the copy runs, so members can be cleared meanwhile.
	req := c.toolRequest(c.Members()[0].imageTag(), "backup", []mount.Mount{c.backupMount()}, "etcdutl")
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req})
	defer func() {
		if ctr != nil {
			testcontainers.TerminateContainer(ctr, testcontainers.StopContext(context.WithoutCancel(ctx)))
		}
	}()
	if err != nil {
		return 0, fmt.Errorf("copy %s to the backup volume: %w", src, err)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	_, err = c.dc.CopyToContainer(ctx, ctr.GetContainerID(), client.CopyToContainerOptions{DestinationPath: BackupDir, Content: pr})
	pr.CloseWithError(errors.New("copy ended")) // unblocks the writer if Docker stopped reading
	if err != nil {
		return 0, fmt.Errorf("copy %s to the backup volume: %w", src, err)
	}
	return fi.Size(), nil
}

func (c *Cluster) ensureBackupVolume(ctx context.Context) error {
	if _, err := c.dc.VolumeCreate(ctx, client.VolumeCreateOptions{Name: c.BackupVolume(), Labels: c.labels}); err != nil {
		return fmt.Errorf("create the backup volume: %w", err)
	}
	return nil
}

// CopyOutFile streams path out of the member's container (running or
// stopped) into the host file dst, in constant memory, as `docker cp`
// does. It returns the bytes copied.
func (m *Member) CopyOutFile(ctx context.Context, src, dst string) (int64, error) {
	id := m.id()
	if id == "" {
		return 0, fmt.Errorf("copy %s from %s: no container", src, m.name)
	}
	ctx, cancel := context.WithTimeout(ctx, Budget(ctx, m.c.cfg.Timeouts.Command))
	defer cancel()
	res, err := m.c.dc.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return 0, fmt.Errorf("copy %s from %s: %w", src, m.name, err)
	}
	defer res.Content.Close()
	n, err := untarOne(res.Content, path.Base(src), dst)
	if err != nil {
		return n, fmt.Errorf("copy %s from %s: %w", src, m.name, err)
	}
	return n, nil
}

// untarOne writes the regular file called name from the tar stream r to
// dst.
func untarOne(r io.Reader, name, dst string) (int64, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return 0, fmt.Errorf("%s not in the archive", name)
		}
		if err != nil {
			return 0, err
		}
		if h.Typeflag != tar.TypeReg || filepath.Base(h.Name) != name {
			continue
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return n, err
	}
}

// backupMount mounts the backup volume at BackupDir.
func (c *Cluster) backupMount() mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Source: c.BackupVolume(), Target: BackupDir}
}
