package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// Image labels. Images are a cache shared by runs, so they carry no run
// label and teardown leaves them; `etcdrill images` lists them.
const (
	LabelImage       = "io.etcdrill.image"
	LabelEtcdVersion = "io.etcdrill.etcd-version"
	LabelImageLayout = "io.etcdrill.image-layout"
	LabelAgent       = "io.etcdrill.agent" // hash of the agent's source
)

// ImageLayout is the version of what the images hold. EnsureImage rebuilds
// an image whose LabelImageLayout is older (binaries stay cached), so
// images built by an earlier etcdrill are upgraded on first use.
// 1: etcd, etcdctl, etcdutl. 2: also busybox (/bin/sh and the usual
// tools) and etcdrill-agent.
const ImageLayout = 2

// currentLayout reports whether an image's labels say it has ImageLayout
// or newer, and this etcdrill's agent.
func currentLayout(labels map[string]string) bool {
	n, err := strconv.Atoi(labels[LabelImageLayout])
	return err == nil && n >= ImageLayout && labels[LabelAgent] == agentHash()
}

// ImageTag is the tag of the locally built image for an etcd version.
func ImageTag(v Version) string { return "etcdrill/etcd:v" + v.String() }

// CacheDir is where built binaries live: $ETCDRILL_CACHE, or etcdrill under
// the user cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("ETCDRILL_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	return filepath.Join(d, "etcdrill"), nil
}

// Image is an etcd image ready to run.
type Image struct {
	Tag     string `json:"tag"`
	ID      string `json:"id"`
	Version string `json:"version"`
	Built   bool   `json:"built"` // false when an existing image was reused
}

// EnsureImage returns the image for version v, building the binaries and
// the image when the cache does not have them. Concurrent callers (parallel
// test packages) build once: a file lock per version serialises them.
func EnsureImage(ctx context.Context, dc client.APIClient, v Version, lg *slog.Logger) (Image, error) {
	return ensureTag(ctx, dc, v, ImageTag(v), "etcd-v"+v.String()+".lock", lg, func(cache string) error {
		bin, err := buildBinaries(ctx, cache, v, lg)
		if err != nil {
			return err
		}
		return dockerBuild(ctx, dc, bin, v)
	})
}

// ensureTag returns the image tagged tag when it has the current layout.
// Otherwise it takes the lock file named lock in the cache dir, looks
// again (another process may have built it while this one waited), and
// runs build, which must tag the image; a superseded image under the tag
// is then removed.
func ensureTag(ctx context.Context, dc client.APIClient, v Version, tag, lock string, lg *slog.Logger, build func(cache string) error) (Image, error) {
	if img, err := dc.ImageInspect(ctx, tag); err == nil && img.Config != nil && currentLayout(img.Config.Labels) {
		return Image{Tag: tag, ID: img.ID, Version: v.String()}, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return Image{}, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return Image{}, fmt.Errorf("cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, lock))
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	old := ""
	if img, err := dc.ImageInspect(ctx, tag); err == nil && img.Config != nil && currentLayout(img.Config.Labels) {
		return Image{Tag: tag, ID: img.ID, Version: v.String()}, nil
	} else if err == nil {
		old = img.ID
		lg.Info("image has an older layout; rebuilding", "tag", tag, "want", ImageLayout)
	}
	start := time.Now()
	lg.Info("image build start", "tag", tag)
	if err := build(cache); err != nil {
		return Image{}, err
	}
	img, err := dc.ImageInspect(ctx, tag)
	if err != nil {
		return Image{}, fmt.Errorf("inspect built image %s: %w", tag, err)
	}
	lg.Info("image build done", "tag", tag, "id", img.ID, "elapsed", time.Since(start).Round(time.Millisecond))
	if old != "" && old != img.ID {
		// The superseded image is etcdrill's own; a container still
		// using it keeps it (no force), and that is fine.
		if _, err := dc.ImageRemove(ctx, old, client.ImageRemoveOptions{}); err != nil {
			lg.Debug("superseded image kept", "id", old, "err", err)
		}
	}
	return Image{Tag: tag, ID: img.ID, Version: v.String(), Built: true}, nil
}

// UseImage checks that an existing image (--image) is present locally.
func UseImage(ctx context.Context, dc client.APIClient, ref string, v Version) (Image, error) {
	img, err := dc.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: not present locally (no registry can be reached): %w", ref, err)
	}
	return Image{Tag: ref, ID: img.ID, Version: v.String()}, nil
}

var binaries = []struct{ name, pkg string }{
	{"etcd", "go.etcd.io/etcd/server/v3"},
	{"etcdctl", "go.etcd.io/etcd/etcdctl/v3"},
	{"etcdutl", "go.etcd.io/etcd/etcdutl/v3"},
}

// buildBinaries compiles etcd, etcdctl and etcdutl at version v in a
// generated module (`go install pkg@v` refuses etcd's replace directives).
// A finished build is marked by a stamp file, so a killed build is redone.
func buildBinaries(ctx context.Context, cache string, v Version, lg *slog.Logger) (string, error) {
	return buildVariantBinaries(ctx, cache, v, buildVariant{}, lg)
}

// buildVariant changes what buildBinaries compiles (see failpoints.go):
// suffix names its cache dir, and prepare, when set, runs in the generated
// module after `go get` and before `go build`.
type buildVariant struct {
	suffix  string
	prepare func(ctx context.Context, dir string, v Version) error
}

// buildVariantBinaries is buildBinaries for a variant of the build.
func buildVariantBinaries(ctx context.Context, cache string, v Version, variant buildVariant, lg *slog.Logger) (string, error) {
	dir := filepath.Join(cache, "etcd-v"+v.String()+variant.suffix)
	bin := filepath.Join(dir, "bin")
	stamp := filepath.Join(bin, ".complete")
	if _, err := os.Stat(stamp); err == nil {
		return bin, nil
	}
	if err := CheckReleased(ctx, v); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clean build dir: %w", err)
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	var imports strings.Builder
	for _, b := range binaries {
		fmt.Fprintf(&imports, "\t_ %q\n", b.pkg)
	}
	files := map[string]string{
		"go.mod":   "module etcdrill.local/etcdbuild\n\ngo 1.24\n",
		"tools.go": "//go:build tools\n\npackage tools\n\nimport (\n" + imports.String() + ")\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	start := time.Now()
	lg.Info("etcd build start", "version", v.String(), "dir", dir)
	get := []string{"get"}
	for _, b := range binaries {
		get = append(get, b.pkg+"@v"+v.String())
	}
	// One `go build` of the three commands: they share most packages, so
	// one invocation compiles each package once and links the three in
	// parallel, and the Go build cache (GOCACHE, shared by every version)
	// keeps what versions have in common. With -o naming a directory, the
	// server's binary is named after its package path ("server").
	build := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}
	for _, b := range binaries {
		build = append(build, b.pkg)
	}
	for i, args := range [][]string{get, build} {
		if i == 1 && variant.prepare != nil {
			if err := variant.prepare(ctx, dir, v); err != nil {
				return "", fmt.Errorf("build etcd %s%s: %w", v, variant.suffix, err)
			}
		}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build etcd %s: go %s: %w: %s", v, strings.Join(args, " "), err, lastLine(out))
		}
	}
	for _, b := range binaries {
		if built := filepath.Join(bin, buildName(b.pkg)); built != filepath.Join(bin, b.name) {
			if err := os.Rename(built, filepath.Join(bin, b.name)); err != nil {
				return "", fmt.Errorf("build etcd %s: %w", v, err)
			}
		}
	}
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return "", fmt.Errorf("write stamp: %w", err)
	}
	lg.Info("etcd build done", "version", v.String(), "elapsed", time.Since(start).Round(time.Second))
	return bin, nil
}

// buildName is the file `go build -o DIR/` names a command's binary
// after: the last element of its package path that is not a major
// version suffix ("go.etcd.io/etcd/server/v3" → "server").
func buildName(pkg string) string {
	parts := strings.Split(pkg, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = parts[len(parts)-2]
	}
	return last
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// dockerfile lays the binaries out like the official distroless image,
// plus busybox at /bin (a shell for runbooks) and the agent. scratch has
// no directories, so the context carries the ones etcd and the drills
// write to.
const dockerfile = `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/bin
ENTRYPOINT ["/usr/local/bin/etcd"]
`

func dockerBuild(ctx context.Context, dc client.APIClient, bin string, v Version) error {
	return dockerBuildTag(ctx, dc, bin, v, ImageTag(v))
}

// dockerBuildTag is dockerBuild for an image tagged tag (a variant's).
func dockerBuildTag(ctx context.Context, dc client.APIClient, bin string, v Version, tag string) error {
	tools, err := imageTools(ctx)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	add := func(name string, mode int64, body []byte) error {
		h := &tar.Header{Name: name, Mode: mode, ModTime: now, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := add("Dockerfile", 0o644, []byte(dockerfile)); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	for _, d := range []struct {
		name string
		mode int64
	}{
		{"rootfs/", 0o755}, {"rootfs/usr/", 0o755}, {"rootfs/usr/local/", 0o755}, {"rootfs/usr/local/bin/", 0o755},
		{"rootfs/tmp/", 0o1777}, {"rootfs/var/", 0o755}, {"rootfs/var/lib/", 0o755}, {"rootfs/var/lib/etcd/", 0o700},
		{"rootfs/var/lib/etcd-backup/", 0o700}, {"rootfs/etc/", 0o755}, {"rootfs/etc/kubernetes/", 0o755},
		{"rootfs/etc/kubernetes/pki/", 0o755}, {"rootfs/etc/kubernetes/pki/etcd/", 0o755}, {"rootfs/bin/", 0o755},
	} {
		if err := add(d.name, d.mode, nil); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
	}
	for _, b := range binaries {
		body, err := os.ReadFile(filepath.Join(bin, b.name))
		if err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		if err := add("rootfs/usr/local/bin/"+b.name, 0o755, body); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
	}
	if err := tools.write(tw, now); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	res, err := dc.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelImage: "etcd", LabelEtcdVersion: v.String(), LabelImageLayout: strconv.Itoa(ImageLayout), LabelAgent: agentHash()},
	})
	if err != nil {
		return fmt.Errorf("docker build %s: %w", tag, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker build %s: read output: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("docker build %s: %s", tag, msg.Error)
		}
	}
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	err = Poll(ctx, 500*time.Millisecond, func(context.Context) error {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
			return Permanent(err)
		}
		return err
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
