package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Where the member images' busybox comes from. Debian's busybox-static is
// resolved through the suite's chain of digests (InRelease lists the
// SHA-256 of the Packages index, the index lists the .deb's), so every
// download is checked against the one before it. The InRelease OpenPGP
// signature is not checked (that needs Debian's keyring): the chain
// guards against a corrupt or truncated download, not a hostile mirror.
const (
	// EnvBusybox names a local static busybox binary to use instead.
	EnvBusybox = "ETCDRILL_BUSYBOX"
	// EnvDebianMirror overrides DefaultDebianMirror.
	EnvDebianMirror = "ETCDRILL_DEBIAN_MIRROR"
	// DefaultDebianMirror is where busybox-static is fetched from.
	DefaultDebianMirror = "http://deb.debian.org/debian"
	// DebianSuite is the Debian release busybox-static is taken from.
	DebianSuite = "bookworm"
	// busyboxFetchTimeout bounds resolving and downloading the package.
	busyboxFetchTimeout = 3 * time.Minute
)

// BusyboxApplets are the commands the member images link to /bin/busybox:
// a POSIX shell and the tools runbooks and the full-disk drill use.
var BusyboxApplets = []string{
	"sh", "ls", "cat", "cp", "mv", "rm", "mkdir", "dd", "df", "du", "sleep", "echo", "test", "[",
	"grep", "sed", "head", "tail", "wc", "sync", "stat", "find", "tar", "env", "true", "false", "sort",
	"touch", "chmod", "ln", "pwd", "printf", "awk", "xargs", "date", "tr", "cut", "id",
}

// Busybox returns the path of a static busybox binary for this machine's
// architecture: $ETCDRILL_BUSYBOX when set, else the copy cached in
// cache, else Debian's busybox-static, downloaded and verified once.
func Busybox(ctx context.Context, cache string, lg *slog.Logger) (string, error) {
	if p := os.Getenv(EnvBusybox); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%s=%s: not a file", EnvBusybox, p)
		}
		return p, nil
	}
	arch := runtime.GOARCH
	dir := filepath.Join(cache, "busybox-"+DebianSuite+"-"+arch)
	bin := filepath.Join(dir, "busybox")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return bin, nil
	}
	mirror := os.Getenv(EnvDebianMirror)
	if mirror == "" {
		mirror = DefaultDebianMirror
	}
	ctx, cancel := context.WithTimeout(ctx, busyboxFetchTimeout)
	defer cancel()
	start := time.Now()
	lg.Info("busybox fetch start", "mirror", mirror, "suite", DebianSuite, "arch", arch)
	body, version, err := fetchBusybox(ctx, strings.TrimRight(mirror, "/"), arch)
	if err != nil {
		return "", fmt.Errorf("busybox: %w (set %s to a static busybox binary, or %s to a reachable Debian mirror)", err, EnvBusybox, EnvDebianMirror)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("busybox cache: %w", err)
	}
	if err := os.WriteFile(bin, body, 0o755); err != nil {
		return "", fmt.Errorf("busybox cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), []byte(version+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("busybox cache: %w", err)
	}
	lg.Info("busybox fetch done", "version", version, "bytes", len(body), "elapsed", time.Since(start).Round(time.Millisecond))
	return bin, nil
}

// fetchBusybox resolves busybox-static in the suite's index, downloads the
// .deb and returns its /bin/busybox and the package version.
func fetchBusybox(ctx context.Context, mirror, arch string) ([]byte, string, error) {
	release, err := httpGet(ctx, mirror+"/dists/"+DebianSuite+"/InRelease")
	if err != nil {
		return nil, "", err
	}
	index := "main/binary-" + arch + "/Packages.xz"
	sum, err := releaseSHA256(release, index)
	if err != nil {
		return nil, "", err
	}
	packages, err := httpGet(ctx, mirror+"/dists/"+DebianSuite+"/"+index)
	if err != nil {
		return nil, "", err
	}
	if err := checkSHA256(index, packages, sum); err != nil {
		return nil, "", err
	}
	xr, err := xz.NewReader(bytes.NewReader(packages))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", index, err)
	}
	pkg, err := findPackage(xr, "busybox-static")
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", index, err)
	}
	deb, err := httpGet(ctx, mirror+"/"+pkg.Filename)
	if err != nil {
		return nil, "", err
	}
	if err := checkSHA256(pkg.Filename, deb, pkg.SHA256); err != nil {
		return nil, "", err
	}
	bin, err := debFile(deb, "./bin/busybox")
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", pkg.Filename, err)
	}
	return bin, pkg.Version, nil
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s", url, res.Status)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	return b, nil
}

func checkSHA256(name string, body []byte, want string) error {
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != strings.ToLower(want) {
		return fmt.Errorf("%s: sha256 %x, the index says %s", name, got, want)
	}
	return nil
}

// releaseSHA256 finds path's digest in the SHA256 section of a Release
// (or InRelease) file.
func releaseSHA256(release []byte, path string) (string, error) {
	in := false
	sc := bufio.NewScanner(bytes.NewReader(release))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "SHA256:":
			in = true
		case in && strings.HasPrefix(line, " "):
			if f := strings.Fields(line); len(f) == 3 && f[2] == path {
				return f[0], nil
			}
		default:
			in = false
		}
	}
	return "", fmt.Errorf("InRelease of %s lists no SHA256 for %s", DebianSuite, path)
}

// debPackage is one stanza of a Packages index.
type debPackage struct{ Version, Filename, SHA256 string }

// findPackage reads a Packages index and returns the stanza of name.
func findPackage(r io.Reader, name string) (debPackage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var p debPackage
	match := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if match && p.Filename != "" && p.SHA256 != "" {
				return p, nil
			}
			p, match = debPackage{}, false
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "Package":
			match = v == name
		case "Version":
			p.Version = v
		case "Filename":
			p.Filename = v
		case "SHA256":
			p.SHA256 = v
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if match && p.Filename != "" && p.SHA256 != "" {
		return p, nil
	}
	return p, fmt.Errorf("no package %s", name)
}

// debFile returns the file at path (as the data tarball names it,
// "./bin/busybox") from a .deb: an ar archive holding data.tar.xz.
func debFile(deb []byte, path string) ([]byte, error) {
	data, err := arMember(deb, "data.tar.xz")
	if err != nil {
		return nil, err
	}
	xr, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("data.tar.xz: %w", err)
	}
	tr := tar.NewReader(xr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("data.tar.xz has no %s", path)
		}
		if err != nil {
			return nil, fmt.Errorf("data.tar.xz: %w", err)
		}
		if h.Name == path && h.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}

// arMember returns the member called name of a System V ar archive (the
// format of a .deb): a magic line, then 60-byte headers each followed by
// the member's data, padded to an even length.
func arMember(ar []byte, name string) ([]byte, error) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(ar, []byte(magic)) {
		return nil, errors.New("not an ar archive")
	}
	for off := len(magic); off+60 <= len(ar); {
		h := ar[off : off+60]
		member := strings.TrimSuffix(strings.TrimSpace(string(h[0:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(h[48:58])))
		if err != nil || size < 0 || off+60+size > len(ar) {
			return nil, fmt.Errorf("ar member %q: bad size", member)
		}
		if member == name {
			return ar[off+60 : off+60+size], nil
		}
		off += 60 + size + size%2
	}
	return nil, fmt.Errorf("no %s in the archive", name)
}
