package harness

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The tools image layout 2 adds to the member images: busybox (see
// busybox.go) and the agent, compiled here from its embedded source.

// AgentBinary is the agent's path in the member images.
const AgentBinary = "/usr/local/bin/etcdrill-agent"

// agentSource holds the agent's files, compiled at image build time into
// a module of its own, so that an etcdrill binary builds images without
// the project's source tree.
//
//go:embed agent/*.go
var agentSource embed.FS

// agentGoMod pins what the agent imports, as the project's go.mod does.
const agentGoMod = `module etcdrill.local/agent

go 1.24

require github.com/vishvananda/netlink v1.3.1
`

// buildAgent compiles the agent once per agent source: the directory is
// named by a hash of the source and its go.mod, whatever the etcd version.
// A stamp marks a finished build; a lock serialises concurrent builders.
func buildAgent(ctx context.Context, cache string, lg *slog.Logger) (string, error) {
	files, hash := agentFiles()
	dir := filepath.Join(cache, "agent-"+hash)
	bin := filepath.Join(dir, "bin", "etcdrill-agent")
	stamp := filepath.Join(dir, "bin", ".complete")
	if _, err := os.Stat(stamp); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(stamp); err == nil {
		return bin, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clean agent build dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Errorf("agent build dir: %w", err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	start := time.Now()
	lg.Info("agent build start", "dir", dir)
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-trimpath", "-ldflags=-s -w", "-o", bin, "."}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build etcdrill-agent: go %s: %w: %s", strings.Join(args, " "), err, lastLine(out))
		}
	}
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return "", fmt.Errorf("write stamp: %w", err)
	}
	lg.Info("agent build done", "elapsed", time.Since(start).Round(time.Millisecond))
	return bin, nil
}

// agentFiles are the agent module's files by name, and a short hash of
// them that names the build (and labels images, see LabelAgent).
func agentFiles() (map[string][]byte, string) {
	files := map[string][]byte{"go.mod": []byte(agentGoMod)}
	names, _ := fs.Glob(agentSource, "agent/*.go") // the pattern is valid
	h := sha256.New()
	h.Write(files["go.mod"])
	for _, n := range names { // fs.Glob sorts: the hash is stable
		if strings.HasSuffix(n, "_test.go") {
			continue // the agent's tests do not change what it does
		}
		b, _ := agentSource.ReadFile(n) // embedded: cannot fail
		files[path.Base(n)] = b
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return files, hex.EncodeToString(h.Sum(nil))[:12]
}

// tools are the files image layout 2 adds: busybox with its applets, and
// the agent.
type tools struct{ busybox, agent []byte }

// imageTools resolves busybox and builds the agent, each cached once for
// every etcd version.
func imageTools(ctx context.Context) (tools, error) {
	cache, err := CacheDir()
	if err != nil {
		return tools{}, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return tools{}, fmt.Errorf("cache dir: %w", err)
	}
	lg := slog.Default()
	unlock, err := lockFile(ctx, filepath.Join(cache, "busybox.lock"))
	if err != nil {
		return tools{}, err
	}
	bb, err := Busybox(ctx, cache, lg)
	unlock()
	if err != nil {
		return tools{}, err
	}
	agent, err := buildAgent(ctx, cache, lg)
	if err != nil {
		return tools{}, err
	}
	var t tools
	if t.busybox, err = os.ReadFile(bb); err != nil {
		return tools{}, fmt.Errorf("busybox: %w", err)
	}
	if t.agent, err = os.ReadFile(agent); err != nil {
		return tools{}, fmt.Errorf("etcdrill-agent: %w", err)
	}
	return t, nil
}

// write adds the tools to a build context whose root file system is under
// rootfs/, which must already hold rootfs/bin/ and rootfs/usr/local/bin/.
func (t tools) write(tw *tar.Writer, now time.Time) error {
	files := []struct {
		name string
		body []byte
	}{{"rootfs/bin/busybox", t.busybox}, {"rootfs" + AgentBinary, t.agent}}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o755, ModTime: now, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	for _, a := range BusyboxApplets {
		h := &tar.Header{Name: "rootfs/bin/" + a, Mode: 0o777, ModTime: now, Typeflag: tar.TypeSymlink, Linkname: "busybox"}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return nil
}

func agentHash() string {
	_, h := agentFiles()
	return h
}
