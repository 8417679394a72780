package reports

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runRoot writes a record per name under a new root, each started the
// given number of minutes after a fixed time.
func runRoot(t *testing.T, starts map[string]int) string {
	t.Helper()
	root := t.TempDir()
	for name, min := range starts {
		r := minimal()
		r.Scenario = strings.SplitN(name, "-v", 2)[0]
		r.Start = r.Start.Add(time.Duration(min) * time.Minute)
		r.End = r.Start.Add(20 * time.Second)
		if err := WriteDir(filepath.Join(root, name), r); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestWriteIndexNewestFirst(t *testing.T) {
	root := runRoot(t, map[string]int{"leader-kill-v3.6.16-a": 0, "quorum-loss-v3.6.16-b": 30, "v2-data-v3.5.35-c": 10})
	if err := os.Mkdir(filepath.Join(root, "artifacts"), 0o755); err != nil { // no report.json: not a run
		t.Fatal(err)
	}
	broken := filepath.Join(root, "old-run")
	if err := os.Mkdir(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, JSONFile), []byte(`{"schema": "etcdrill.drill-record/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(root); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	order := []string{
		`<a href="quorum-loss-v3.6.16-b/report.html">`,
		`<a href="v2-data-v3.5.35-c/report.html">`,
		`<a href="leader-kill-v3.6.16-a/report.html">`,
		`<a href="old-run/report.json">old-run</a>`,
	}
	last := -1
	for _, want := range order {
		i := strings.Index(page, want)
		if i < 0 {
			t.Fatalf("index lacks %q:\n%s", want, page)
		}
		if i < last {
			t.Errorf("%q out of order (newest first, unreadable last)", want)
		}
		last = i
	}
	for _, want := range []string{"4 runs: 3 passed, 0 failed, 0 not applicable, 0 interrupted, 1 unreadable",
		"<td class=\"nowrap\">2026-05-12 10:00:00</td>", `unsupported schema &#34;etcdrill.drill-record/v0&#34;`} {
		if !strings.Contains(page, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	if strings.Contains(page, "artifacts") {
		t.Error("index lists a directory without report.json")
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("index has a script")
	}
}

func TestRenderAll(t *testing.T) {
	root := runRoot(t, map[string]int{"leader-kill-v3.6.16-a": 0, "quorum-loss-v3.6.16-b": 5})
	for _, name := range []string{"leader-kill-v3.6.16-a", "quorum-loss-v3.6.16-b"} {
		if err := os.Remove(filepath.Join(root, name, HTMLFile)); err != nil {
			t.Fatal(err)
		}
	}
	if err := RenderAll(root); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"leader-kill-v3.6.16-a/" + HTMLFile, "quorum-loss-v3.6.16-b/" + MarkdownFile, IndexFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			t.Errorf("RenderAll did not write %s: %v", path, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Suite.Cases); n != 2 || doc.Suite.Cases[0].Classname != "etcdrill.quorum-loss" {
		t.Errorf("junit.xml has %d cases, first %+v; want 2, newest first", n, doc.Suite.Cases)
	}
}

func TestRenderAllKeepsGoing(t *testing.T) {
	root := runRoot(t, map[string]int{"leader-kill-v3.6.16-a": 0})
	bad := filepath.Join(root, "bad")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, JSONFile), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := RenderAll(root)
	if err == nil || !strings.Contains(err.Error(), "run bad: ") {
		t.Errorf("RenderAll = %v, want an error naming run bad", err)
	}
	for _, name := range []string{IndexFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("%s not written despite one bad run: %v", name, err)
		}
	}
	if err := WriteIndex(filepath.Join(root, "absent")); err == nil {
		t.Error("WriteIndex of a missing dir succeeded")
	}
}
