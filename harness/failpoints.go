package harness

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The failpoints variant of the etcd image: etcd's server module with
// gofail's failpoint comments turned into code, so a drill can make a
// member panic at an exact point inside etcd (what etcd's robustness
// tests do in-process), on the released versions.
const (
	// GofailModule is the gofail release the build runs and links.
	GofailModule = "go.etcd.io/gofail@v0.2.0"
	// FailpointPort is the port gofail's HTTP endpoint (GOFAIL_HTTP)
	// listens on inside a member of the failpoints image; it is published
	// on the run's publish address like the client port.
	FailpointPort = 22381
	// failpointsSuffix names the variant's tag and cache dir.
	failpointsSuffix = "-failpoints"
	// failpointRequestTimeout bounds one request to gofail's endpoint.
	failpointRequestTimeout = 5 * time.Second
)

// Failpoints are the failpoints the failpoints image must have: the build
// enables gofail in exactly the packages that declare them and fails when
// the version lacks one.
var Failpoints = []string{"raftBeforeSave", "raftAfterSave", "beforeCommit", "defragBeforeRename", "compactBeforeCommitBatch"}

// FailpointsTag is the tag of the failpoints image for an etcd version.
func FailpointsTag(v Version) string { return ImageTag(v) + failpointsSuffix }

// EnsureFailpointsImage is EnsureImage for the failpoints variant: built
// once per version, under its own lock, from binaries cached in their own
// dir (etcd-vX.Y.Z-failpoints) behind a stamp file.
func EnsureFailpointsImage(ctx context.Context, dc client.APIClient, v Version, lg *slog.Logger) (Image, error) {
	tag := FailpointsTag(v)
	return ensureTag(ctx, dc, v, tag, "etcd-v"+v.String()+failpointsSuffix+".lock", lg, func(cache string) error {
		bin, err := buildVariantBinaries(ctx, cache, v, buildVariant{suffix: failpointsSuffix, prepare: enableFailpoints}, lg)
		if err != nil {
			return err
		}
		if err := plainTools(ctx, cache, v, bin, lg); err != nil {
			return err
		}
		for name, want := range map[string]bool{"etcd": true, "etcdctl": false, "etcdutl": false} {
			if err := linksGofail(filepath.Join(bin, name), want); err != nil {
				return err
			}
		}
		return dockerBuildTag(ctx, dc, bin, v, tag)
	})
}

// plainTools puts the plain build's etcdctl and etcdutl into bin, so that
// only etcd carries failpoints: the tools link server packages too (etcdutl
// always, etcdctl in 3.5), and a gofail-enabled tool run inside a member
// would read the container's GOFAIL_HTTP and try to serve on etcd's
// failpoint port. The plain binaries are built (under their own lock)
// when the cache lacks them.
func plainTools(ctx context.Context, cache string, v Version, bin string, lg *slog.Logger) error {
	unlock, err := lockFile(ctx, filepath.Join(cache, "etcd-v"+v.String()+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	plain, err := buildBinaries(ctx, cache, v, lg)
	if err != nil {
		return err
	}
	for _, name := range []string{"etcdctl", "etcdutl"} {
		body, err := os.ReadFile(filepath.Join(plain, name))
		if err != nil {
			return fmt.Errorf("plain %s: %w", name, err)
		}
		tmp := filepath.Join(bin, "."+name+".tmp")
		if err := os.WriteFile(tmp, body, 0o755); err != nil {
			return fmt.Errorf("plain %s: %w", name, err)
		}
		if err := os.Rename(tmp, filepath.Join(bin, name)); err != nil {
			return fmt.Errorf("plain %s: %w", name, err)
		}
	}
	return nil
}

// linksGofail checks from a binary's build info that it links gofail's
// runtime (the failpoints are compiled in) or, with want false, that it
// does not.
func linksGofail(path string, want bool) error {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("build info of %s: %w", filepath.Base(path), err)
	}
	has := slices.ContainsFunc(info.Deps, func(m *debug.Module) bool { return m.Path == "go.etcd.io/gofail" })
	switch {
	case want && !has:
		return fmt.Errorf("%s does not link go.etcd.io/gofail: no failpoint was enabled", filepath.Base(path))
	case !want && has:
		return fmt.Errorf("%s links go.etcd.io/gofail: only etcd may carry failpoints", filepath.Base(path))
	}
	return nil
}

// enableFailpoints runs in the generated build module after `go get`: it
// copies etcd's server module out of the read-only module cache into
// ./server, runs `gofail enable` over the packages that declare the
// failpoints in Failpoints, and points the build at the copy with a
// replace directive. server/v3's go.mod does not require gofail (its
// failpoints are comments), so the build module requires it.
func enableFailpoints(ctx context.Context, dir string, v Version) error {
	goCmd := func(wd string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				out = append(out, ee.Stderr...)
			}
			return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, lastLine(out))
		}
		return out, nil
	}
	out, err := goCmd(dir, "mod", "download", "-json", "go.etcd.io/etcd/server/v3@v"+v.String())
	if err != nil {
		return err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("go mod download server/v3@v%s: no module dir in %q", v, lastLine(out))
	}
	src := filepath.Join(dir, "server")
	if err := copyTree(mod.Dir, src); err != nil {
		return fmt.Errorf("copy server module: %w", err)
	}
	dirs, err := failpointDirs(src, Failpoints)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", v, err)
	}
	if _, err := goCmd(src, append([]string{"run", GofailModule, "enable"}, dirs...)...); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"mod", "edit", "-replace", "go.etcd.io/etcd/server/v3=./server"},
		{"get", GofailModule},
	} {
		if _, err := goCmd(dir, args...); err != nil {
			return err
		}
	}
	return nil
}

// failpointDirs returns the package dirs under root (relative, "./x")
// whose Go files declare each of names as `// gofail: var <name> ...`,
// or an error naming the failpoints root has none of.
func failpointDirs(root string, names []string) ([]string, error) {
	found := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, ok := failpointDecl(sc.Text()); ok && slices.Contains(names, name) {
				rel, _ := filepath.Rel(root, filepath.Dir(path))
				found[name] = "./" + filepath.ToSlash(rel)
			}
		}
		return sc.Err()
	})
	if err != nil {
		return nil, err
	}
	var dirs, missing []string
	for _, n := range names {
		d, ok := found[n]
		if !ok {
			missing = append(missing, n)
		} else if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no failpoint %s in the server module", strings.Join(missing, ", "))
	}
	slices.Sort(dirs)
	return dirs, nil
}

// failpointDecl parses a gofail declaration, "// gofail: var name type".
func failpointDecl(line string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "// gofail: var ")
	if !ok {
		return "", false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", false
	}
	return f[0], true
}

// copyTree copies the files of src into dst, writable (the module cache
// is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, body, 0o644)
	})
}

// serveFailpoints makes a member of the failpoints image serve gofail's
// endpoint on FailpointPort, published on the run's publish address at a
// host port chosen now; a restarted container keeps it, a re-created one
// gets a new one, and FailpointURL reads it back from Docker.
func (m *Member) serveFailpoints(ctx context.Context, req *testcontainers.ContainerRequest) error {
	ports, err := m.c.hostPorts(ctx, 1)
	if err != nil {
		return fmt.Errorf("member %s: failpoint port: %w", m.name, err)
	}
	p := mnet.MustParsePort(strconv.Itoa(FailpointPort) + "/tcp")
	env := map[string]string{}
	for k, v := range req.Env {
		env[k] = v
	}
	env["GOFAIL_HTTP"] = ":" + strconv.Itoa(FailpointPort)
	req.Env = env
	req.ExposedPorts = append(req.ExposedPorts, p.String())
	prev := req.HostConfigModifier
	req.HostConfigModifier = func(hc *container.HostConfig) {
		if prev != nil {
			prev(hc)
		}
		if hc.PortBindings == nil {
			hc.PortBindings = mnet.PortMap{}
		}
		hc.PortBindings[p] = []mnet.PortBinding{{HostIP: m.c.publish, HostPort: strconv.Itoa(ports[0])}}
	}
	return nil
}

// FailpointURL is the URL of gofail's endpoint in the member as the
// operator types it on a host in the cluster's network.
func (m *Member) FailpointURL() string {
	return "http://" + m.name + ":" + strconv.Itoa(FailpointPort)
}

// failpointEndpoint is gofail's endpoint as the harness reaches it: the
// published port, read from the container.
func (m *Member) failpointEndpoint(ctx context.Context) (string, error) {
	if !m.c.cfg.Failpoints {
		return "", fmt.Errorf("member %s: the cluster does not run the failpoints image", m.name)
	}
	id := m.id()
	if id == "" {
		return "", fmt.Errorf("member %s has no container", m.name)
	}
	st, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("member %s: %w", m.name, err)
	}
	var pm mnet.PortMap
	if st.Container.HostConfig != nil {
		pm = st.Container.HostConfig.PortBindings
	}
	port, err := assignedPort(pm, mnet.MustParsePort(strconv.Itoa(FailpointPort)+"/tcp"))
	if err != nil {
		return "", fmt.Errorf("member %s: failpoint port: %w", m.name, err)
	}
	return endpointURL(false, m.c.dialHost, port), nil
}

// Failpoint sends one request to gofail's endpoint of the member: PUT
// with body term arms failpoint name ("panic(\"...\")"), DELETE disarms
// it, GET reads it, and GET of "" lists every failpoint the binary has.
// The Exec is the curl command an operator types, with gofail's answer.
func (m *Member) Failpoint(ctx context.Context, method, name, term string) (Exec, error) {
	url := m.FailpointURL() + "/" + name
	e := Exec{Command: "curl -sS -X " + method + " " + url}
	switch method {
	case http.MethodGet:
		e.Command = "curl -sS " + url
	case http.MethodPut:
		e.Command = "curl -sS -X PUT -d " + ShellJoin([]string{term}) + " " + url
	}
	base, err := m.failpointEndpoint(ctx)
	if err != nil {
		return e, err
	}
	ctx, cancel := context.WithTimeout(ctx, failpointRequestTimeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPut {
		body = strings.NewReader(term)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+"/"+name, body)
	if err != nil {
		return e, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return e, fmt.Errorf("failpoint %s on %s: %w", name, m.name, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	e.Output = fmt.Sprintf("HTTP %d\n%s", res.StatusCode, bytes.TrimSpace(out))
	if res.StatusCode >= 300 {
		e.Exit = 22 // curl --fail's code for an HTTP error
		return e, fmt.Errorf("failpoint %s on %s: HTTP %d: %s", name, m.name, res.StatusCode, lastLine(out))
	}
	return e, nil
}

// ExitState is a member container's state as far as a crash goes.
type ExitState struct {
	Exited bool
	Code   int
	// FinishedAt is when the container's process ended; zero while it
	// runs.
	FinishedAt time.Time
}

// Exited reads whether the member's container has stopped, its exit code
// and when it stopped.
func (m *Member) Exited(ctx context.Context) (ExitState, error) {
	id := m.id()
	if id == "" {
		return ExitState{}, fmt.Errorf("member %s has no container", m.name)
	}
	st, err := m.c.dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return ExitState{}, fmt.Errorf("member %s: %w", m.name, err)
	}
	s := st.Container.State
	if s == nil {
		return ExitState{}, fmt.Errorf("member %s: no container state", m.name)
	}
	es := ExitState{Exited: !s.Running && !s.Restarting, Code: s.ExitCode}
	if es.Exited {
		es.FinishedAt, _ = time.Parse(time.RFC3339Nano, s.FinishedAt)
	}
	return es, nil
}
