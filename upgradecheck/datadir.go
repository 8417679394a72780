package upgradecheck

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/upgrade"
)

// dataDirCheckPath is where a production data dir goes inside the one-off
// container: outside the member's own data dir, which stays untouched.
const dataDirCheckPath = harness.BackupDir + "/production"

// maxDataDir bounds a data dir tarball: etcd's largest supported db is
// 8 GiB, but the files are held in memory on their way to the container.
const maxDataDir = 2 << 30

// checkDataDir looks at a production member's data dir (a tarball) for
// upgrade blockers without touching production: the files go into a
// one-off container of From's image, where `etcdutl check v2store` and
// `etcdutl snapshot status` read them. Blockers stop the rehearsal, with
// the cluster checked whole on From.
func (u *run) checkDataDir(ctx context.Context, d *drill.Drill) error {
	return u.settle(ctx, u.dataDirFindings(ctx, d))
}

// dataDirFindings unpacks the tarball, reads it with From's etcdutl and
// records what it found; it returns ErrBlocked for a blocker.
func (u *run) dataDirFindings(ctx context.Context, d *drill.Drill) error {
	name := filepath.Base(u.o.DataDir)
	var files map[string][]byte
	if err := d.Log.Do(record.PhaseSetup, "unpack the production data dir "+name, "", func() (record.Action, error) {
		var err error
		files, err = readDataDir(u.o.DataDir, dataDirCheckPath)
		return record.Action{Command: "mkdir -p prod && tar -xf " + u.o.DataDir + " -C prod", Output: fmt.Sprintf("%d files of member/ under %s", len(files), dataDirCheckPath)}, err
	}); err != nil {
		return err
	}
	// The tool container mounts m's volume but reads only the copied files,
	// so m keeps running.
	m := d.Cluster.Members()[0]
	var fs []upgrade.Finding
	if upgrade.NeedsV2Check(u.from, u.to) && upgrade.HasCheckV2Store(u.from) {
		if err := d.Log.Do(record.PhaseObserve, "check "+name+" for v2 content", m.Name(), func() (record.Action, error) {
			e, err := m.Offline(ctx, files, "etcdutl", "check", "v2store", "--data-dir="+dataDirCheckPath)
			if line := lineWith(e.Output, "detected custom"); line != "" {
				fs = append(fs, upgrade.V2Content(name, line, u.to))
				return e, fmt.Errorf("%w: %s", ErrBlocked, line)
			}
			return e, err
		}); err != nil && len(fs) == 0 {
			return err // the tool failed; a blocker still lets the version be read
		}
	}
	db := dataDirCheckPath + "/member/snap/db"
	if err := d.Log.Do(record.PhaseObserve, "read "+name+"'s storage version", m.Name(), func() (record.Action, error) {
		e, err := m.Offline(ctx, map[string][]byte{db: files[db]}, "etcdutl", "snapshot", "status", db, "--write-out=json")
		if err != nil {
			return e, err
		}
		st, err := recovery.ParseSnapshotStatus(e.Output)
		if err == nil {
			fs = append(fs, upgrade.DataDirVersion(name, st.Version, u.from))
		}
		return e, err
	}); err != nil {
		return err
	}
	u.addFindings(fs)
	return blocked(fs)
}

// checkV2Store runs `etcdutl check v2store` of From on m's stopped data
// dir. When it finds v2 content the member goes back on From, unchanged,
// and the upgrade is refused: 3.6 would not start on that data dir.
func (u *run) checkV2Store(ctx context.Context, m *harness.Member, spec harness.Spec) error {
	var found string
	err := u.d.Log.Do(record.PhaseObserve, "check "+m.Name()+"'s data dir for v2 content", m.Name(), func() (record.Action, error) {
		e, err := m.Offline(ctx, nil, "etcdutl", "check", "v2store", "--data-dir="+harness.DataDir)
		if found = lineWith(e.Output, "detected custom"); found != "" {
			return e, fmt.Errorf("%w: %s", ErrBlocked, found)
		}
		return e, err
	})
	if found == "" {
		return err
	}
	u.addFindings([]upgrade.Finding{upgrade.V2Content(m.Name(), found, u.to)})
	if err := recovery.StartMember(ctx, u.d.Log, u.d.Cluster, m, spec, fmt.Sprintf("put %s back on %s, unchanged", m.Name(), u.from)); err != nil {
		return err
	}
	if err := u.d.Log.Do(record.PhaseObserve, "wait until the cluster is ready again", m.Name(), func() (record.Action, error) {
		if err := u.d.Cluster.WaitReady(ctx); err != nil {
			return record.Action{}, err
		}
		return recovery.EndpointStatusTable(ctx, u.d.Cluster, m)
	}); err != nil {
		return err
	}
	return fmt.Errorf("%w: v2 content in %s's data dir", ErrBlocked, m.Name())
}

// readDataDir extracts a tar or tar.gz of a data dir into a temporary
// directory and returns the files under its member/ directory, keyed by
// their path under root. The member/ directory may sit at any depth
// (etcd/member/…, var/lib/etcd/member/…). Links, devices and paths that
// leave the archive are refused.
func readDataDir(tarball, root string) (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "etcdrill-datadir-")
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	prefix, err := extractDataDir(tarball, tmp)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", tarball, err)
	}
	files := map[string][]byte{}
	base := filepath.Join(tmp, filepath.FromSlash(prefix))
	err = filepath.WalkDir(filepath.Join(base, "member"), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[root+"/"+filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", tarball, err)
	}
	return files, nil
}

// extractDataDir writes the regular files of the archive under dir and
// returns the path, inside the archive, of the directory that holds
// member/snap/db.
func extractDataDir(tarball, dir string) (string, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return "", err
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	prefix, found, total := "", false, int64(0)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == ".." || strings.HasPrefix(name, "../") {
			return "", fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if total += h.Size; total > maxDataDir {
			return "", fmt.Errorf("larger than %d GiB", maxDataDir>>30)
		}
		if name == "member/snap/db" || strings.HasSuffix(name, "/member/snap/db") {
			prefix, found = strings.TrimSuffix(strings.TrimSuffix(name, "member/snap/db"), "/"), true
		}
		if err := writeEntry(filepath.Join(dir, filepath.FromSlash(name)), tr); err != nil {
			return "", err
		}
	}
	if !found {
		return "", errors.New("no member/snap/db in the archive: want a tar of an etcd data dir")
	}
	return prefix, nil
}

// lineWith returns the last line of out that contains s, trimmed, or "":
// the tools print their verdict last, after log lines that may quote it.
func lineWith(out, s string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

func writeEntry(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	return errors.Join(err, out.Close())
}
