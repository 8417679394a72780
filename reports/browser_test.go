package reports

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The browser test opens a real report in headless Chromium: the page must
// render, draw the timeline with its fault marker, and log nothing to the
// console. It needs chromium on PATH (`make browser` installs it).

// chromium returns the browser to run, or skips (fails in CI) without one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not on PATH; run `make browser` to install it")
	}
	t.Skip("chromium is not on PATH; run `make browser` to install it and run the browser test")
	return ""
}

// headless runs Chromium on page with args and returns what it printed on
// stdout and stderr. Each run gets its own profile so runs do not share
// state or touch the user's.
func headless(t *testing.T, browser, page string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, browser, append(args, page)...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, errs.String())
	}
	return out.String(), errs.String()
}

// consoleErrors picks the page's console messages and uncaught errors out
// of Chromium's log, leaving its own GPU, D-Bus and sandbox noise. A report
// has no scripts, so any console message from the page is a fault.
func consoleErrors(stderr, page string) []string {
	var bad []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, "ERROR:CONSOLE") ||
			(strings.Contains(line, ":CONSOLE") && strings.Contains(line, page)) {
			bad = append(bad, line)
		}
	}
	return bad
}

// fileURL is the file:// URL of a local path.
func fileURL(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return (&url.URL{Scheme: "file", Path: abs}).String()
}

func TestBrowserRendersReport(t *testing.T) {
	browser := chromium(t)
	tests := []struct {
		name string
		want []string // in the rendered DOM
	}{
		{"leader-kill", []string{`<svg class="timeline"`, `<g class="marker fault">`, "fault: SIGKILL etcd on m1", `<h2 id="runbook">`}},
		// A drill on 1 GiB: the RTO phases as a table and as lanes on the
		// chart, the sizes, the data load and etcdrill's memory.
		{"quorum-loss-phases", []string{`<svg class="timeline"`, `<h2 id="rto-phases">`, `<g class="rto-phase ph-restore">`,
			"restore on m2 · 0.96 s", "1248 MB/s", `<section class="numbers three"`, "262144 keys, 1.1 GB in 5.19 s (207 MB/s)",
			"peak memory: 96 MB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadJSON(filepath.Join("testdata", tt.name, JSONFile))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var page bytes.Buffer
			if err := HTML(&page, r); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, HTMLFile), page.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			u := fileURL(t, filepath.Join(dir, HTMLFile))

			png := filepath.Join(dir, tt.name+".png")
			_, stderr := headless(t, browser, u, "--screenshot="+png, "--window-size=1280,2000")
			for _, l := range consoleErrors(stderr, u) {
				t.Errorf("console: %s", l)
			}
			shot, err := os.ReadFile(png)
			if err != nil {
				t.Fatalf("no screenshot: %v\n%s", err, stderr)
			}
			if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) || len(shot) < 10_000 {
				t.Errorf("screenshot is not a plausible PNG (%d bytes)", len(shot))
			}

			dom, stderr := headless(t, browser, u, "--dump-dom")
			for _, l := range consoleErrors(stderr, u) {
				t.Errorf("console: %s", l)
			}
			for _, want := range tt.want {
				if !strings.Contains(dom, want) {
					t.Errorf("rendered DOM lacks %q", want)
				}
			}

			if *update && tt.name == "leader-kill" { // the one screenshot kept
				golden := filepath.Join("testdata", "screenshots", "leader-kill.png")
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestBrowserCatchesPageErrors proves the console filter works with the
// installed Chromium: a page with a script error must be caught, or the
// test above could pass without looking.
func TestBrowserCatchesPageErrors(t *testing.T) {
	browser := chromium(t)
	path := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><body><p>x</p><script>console.error("boom"); missingFunction();</script></body></html>`
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	u := fileURL(t, path)
	_, stderr := headless(t, browser, u, "--dump-dom")
	got := strings.Join(consoleErrors(stderr, u), "\n")
	for _, want := range []string{"boom", "Uncaught ReferenceError: missingFunction"} {
		if !strings.Contains(got, want) {
			t.Errorf("console filter missed %q; it kept:\n%s\nfrom:\n%s", want, got, stderr)
		}
	}
}
