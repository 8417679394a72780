package reports

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// shardRoots writes the golden records into three run roots under base,
// dealt out in turn, and returns the roots and the records' run IDs. The
// second root's name needs escaping in a link.
func shardRoots(t *testing.T, base string) ([]string, []string) {
	t.Helper()
	roots := []string{filepath.Join(base, "shard-1"), filepath.Join(base, "shard 2 & co"), filepath.Join(base, "shard-3")}
	var ids []string
	for i, name := range goldenCases {
		r, err := ReadJSON(filepath.Join("testdata", name, JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		r.RunID = r.Scenario + "-" + strings.Repeat(string(rune('a'+i)), 8) // distinct even for the fixtures that share one
		if _, err := WriteRun(roots[i%len(roots)], r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.RunID)
	}
	return roots, ids
}

// tree lists every file under dir with its size and modification time.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = fmt.Sprint(info.ModTime(), info.Mode(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// indexLinks are the report links of the index in out, unescaped, each
// checked to name a file that exists relative to out.
func indexLinks(t *testing.T, out string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, m := range hrefRE.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(strings.ToUpper(m[1]), "%2F") {
			t.Errorf("link %q escapes a / between directories: a browser reads it as one name", m[1])
		}
		u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Fatalf("link %q: %v", m[1], err)
		}
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(u.Path))); err != nil {
			t.Errorf("link %q does not lead to a file from %s: %v", m[1], out, err)
		}
		links = append(links, u.Path)
	}
	return links
}

func readJUnit(t *testing.T, path string) junitSuites {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return doc
}

// TestMerge: three roots, one given twice under another spelling, merge
// into an index and a JUnit report of their own that list every run once,
// link each run's report where it lies, and leave the roots untouched.
func TestMerge(t *testing.T) {
	base := t.TempDir()
	roots, ids := shardRoots(t, base)
	before := map[string]map[string]string{}
	for _, r := range roots {
		before[r] = tree(t, r)
	}
	out := filepath.Join(base, "merged")
	m, err := Merge(out, []string{roots[0], roots[1], roots[2], roots[1] + "/.", filepath.Join(base, "shard-3", "..", "shard-3")})
	if err != nil {
		t.Fatal(err)
	}
	if m.Roots != 3 || m.Runs != len(goldenCases) || m.Duplicates != 0 || m.Unreadable != 0 {
		t.Errorf("Merge = %+v, want 3 roots, %d runs, no duplicates", m, len(goldenCases))
	}
	for _, r := range roots {
		if got := tree(t, r); len(got) != len(before[r]) {
			t.Errorf("%s changed: %d files, had %d", r, len(got), len(before[r]))
		} else {
			for path, v := range before[r] {
				if got[path] != v {
					t.Errorf("%s changed", path)
				}
			}
		}
	}
	links := indexLinks(t, out)
	if len(links) != len(goldenCases) {
		t.Errorf("index has %d links, want %d: %v", len(links), len(goldenCases), links)
	}
	for _, id := range ids {
		n := 0
		for _, l := range links {
			if strings.HasSuffix(path.Dir(l), id[len(id)-8:]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("index links run %s %d times, want once", id, n)
		}
	}
	for _, l := range links {
		if !strings.HasPrefix(l, "../shard") {
			t.Errorf("link %q is not relative to the merged index", l)
		}
	}
	doc := readJUnit(t, filepath.Join(out, JUnitFile))
	if s := doc.Suite; s.Tests != len(goldenCases) || s.Failures != 2 || s.Skipped != 2 || s.Errors != 0 {
		t.Errorf("junit: %d tests, %d failures, %d skipped, %d errors; want %d, 2, 2, 0", s.Tests, s.Failures, s.Skipped, s.Errors, len(goldenCases))
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("merge wrote %d entries into out, want index.html and junit.xml only", len(entries))
	}
}

// TestMergeIntoFirstRoot: with out the first root, its own runs are
// linked as WriteIndex links them and the others by relative path.
func TestMergeIntoFirstRoot(t *testing.T) {
	base := t.TempDir()
	roots, _ := shardRoots(t, base)
	if _, err := Merge(roots[0], roots); err != nil {
		t.Fatal(err)
	}
	own, other := 0, 0
	for _, l := range indexLinks(t, roots[0]) {
		switch {
		case strings.HasPrefix(l, "../"):
			other++
		case !strings.Contains(strings.TrimSuffix(l, "/"+HTMLFile), "/"):
			own++
		default:
			t.Errorf("unexpected link %q", l)
		}
	}
	if own == 0 || other == 0 || own+other != len(goldenCases) {
		t.Errorf("%d links to the first root's runs and %d to the others'; want both, %d in all", own, other, len(goldenCases))
	}
}

// TestMergeDuplicates: the same run in two roots (a copied directory)
// is listed once; a record without a run ID is told apart by its
// directory and start.
func TestMergeDuplicates(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	r := minimal()
	r.RunID = "quorum-loss-1a2b3c4d"
	r.Scenario = "quorum-loss"
	for _, root := range []string{a, b} {
		if _, err := WriteRun(root, r); err != nil {
			t.Fatal(err)
		}
	}
	na := minimal()
	na.RunID, na.Scenario, na.Verdict, na.Reason = "", "v2-data", record.NotApplicable, "v2-data applies to etcd 3.5 and earlier only"
	if _, err := WriteRun(a, na); err != nil {
		t.Fatal(err)
	}
	later := *na
	later.Start = later.Start.Add(time.Hour)
	if _, err := WriteRun(b, &later); err != nil {
		t.Fatal(err)
	}
	m, err := Merge(filepath.Join(base, "out"), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 3 || m.Duplicates != 1 {
		t.Errorf("Merge = %+v, want 3 runs and 1 duplicate", m)
	}
	if doc := readJUnit(t, filepath.Join(base, "out", JUnitFile)); doc.Tests != 3 || doc.Skipped != 2 {
		t.Errorf("junit: %d tests, %d skipped; want 3, 2", doc.Tests, doc.Skipped)
	}
}

// TestMergeUnreadable: a run whose record cannot be read is listed on the
// index, left out of the JUnit report and returned as an error, after
// both files are written; a missing root is an error of one line.
func TestMergeUnreadable(t *testing.T) {
	base := t.TempDir()
	roots, _ := shardRoots(t, base)
	bad := filepath.Join(roots[2], "bad")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, JSONFile), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	m, err := Merge(out, roots)
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Merge = %v, want an error naming the bad run", err)
	}
	if m.Unreadable != 1 || m.Runs != len(goldenCases)+1 {
		t.Errorf("Merge = %+v, want %d runs, 1 unreadable", m, len(goldenCases)+1)
	}
	if doc := readJUnit(t, filepath.Join(out, JUnitFile)); doc.Tests != len(goldenCases) {
		t.Errorf("junit has %d tests, want %d", doc.Tests, len(goldenCases))
	}
	if links := indexLinks(t, out); len(links) != len(goldenCases)+1 {
		t.Errorf("index has %d links, want %d", len(links), len(goldenCases)+1)
	}
	_, err = Merge(out, []string{roots[0], filepath.Join(base, "absent")})
	if err == nil || !strings.Contains(err.Error(), "absent") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Merge with a missing root = %v, want one line naming it", err)
	}
	if _, err := Merge(out, nil); err == nil {
		t.Error("Merge of no roots succeeded")
	}
}
