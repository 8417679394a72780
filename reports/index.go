package reports

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// IndexFile is the name of the page WriteIndex writes over a run root.
const IndexFile = "index.html"

// run is one report directory under a root: its name and its record, or
// why the record could not be read.
type run struct {
	Dir string
	Rec *record.Record
	Err error
}

// scanRuns reads root/*/report.json, newest drill first; runs with the
// same start are ordered by directory name, and unreadable runs come last.
func scanRuns(root string) ([]run, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var runs []run
	for _, e := range entries {
		path := filepath.Join(root, e.Name(), JSONFile)
		if _, err := os.Stat(path); err != nil {
			continue // not a report directory
		}
		r, err := ReadJSON(path)
		runs = append(runs, run{Dir: e.Name(), Rec: r, Err: err})
	}
	sortRuns(runs)
	return runs, nil
}

// WriteIndex writes dir/index.html, a table of every run under dir (each
// subdirectory with a report.json), newest first, under a count of runs
// by verdict (passed, failed, not applicable, interrupted): when it
// started, the drill (and the data it ran on), etcd version, TLS and
// auth, verdict, RTO with its slowest phase and RPO with its revisions
// and time ("—" for a record that is not a drill) and duration, with
// a link to the run's report.html (or report.md or report.json when the
// HTML has not been rendered). A run whose record cannot be read is listed
// with the error rather than left out. Like the reports, the page has no
// scripts and loads nothing; it is written atomically.
func WriteIndex(dir string) error {
	runs, err := scanRuns(dir)
	if err != nil {
		return err
	}
	return writeIndex(dir, runs)
}

func writeIndex(dir string, runs []run) error {
	b, err := renderIndex(dir, runs)
	if err != nil {
		return err
	}
	return writeFile(dir, IndexFile, b)
}

type indexPage struct {
	Counts string
	Rows   []indexRow
	Broken []brokenRun
}

type indexRow struct {
	figures
	Date, Dir, Link, Scenario, Version, TLS, Auth string
	Verdict, VerdictClass, Reason, Duration       string
}

type brokenRun struct{ Dir, Link, Err string }

func renderIndex(dir string, runs []run) ([]byte, error) {
	var p indexPage
	counts := map[record.Verdict]int{}
	for _, rn := range runs {
		link := reportLink(dir, rn.Dir)
		if rn.Err != nil {
			p.Broken = append(p.Broken, brokenRun{rn.Dir, link, rn.Err.Error()})
			continue
		}
		r := rn.Rec
		counts[r.Verdict]++
		row := indexRow{figures: newFigures(r), Dir: rn.Dir, Link: link, Scenario: r.Scenario,
			Version: orDash(r.Config.EtcdVersion), TLS: yesNo(r.Config.TLS), Auth: yesNo(r.Config.Auth),
			Verdict: verdictLabel(r.Verdict), VerdictClass: verdictClass(r.Verdict), Duration: span(r.Start, r.End), Date: "—"}
		if !r.Start.IsZero() {
			row.Date = r.Start.UTC().Format("2006-01-02 15:04:05")
		}
		row.Reason = reason(r)
		p.Rows = append(p.Rows, row)
	}
	p.Counts = fmt.Sprintf("%s: %d passed, %d failed, %d not applicable, %d interrupted", plural(len(runs), "run"),
		counts[record.Pass], counts[record.Fail], counts[record.NotApplicable], counts[record.Interrupted])
	if n := len(p.Broken); n > 0 {
		p.Counts += ", " + strconv.Itoa(n) + " unreadable"
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "index", p); err != nil {
		return nil, fmt.Errorf("render index: %w", err)
	}
	return b.Bytes(), nil
}

// reportLink is the relative link to the best report of a run. dir is
// one directory, or a slash-separated path to one (a merged index links
// "../shard-2/quorum-loss-v3.6.16-1a2b"): each segment is escaped on its
// own, so the slashes stay separators.
func reportLink(root, dir string) string {
	segs := strings.Split(dir, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	link := strings.Join(segs, "/")
	for _, name := range []string{HTMLFile, MarkdownFile} {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir), name)); err == nil {
			return link + "/" + name
		}
	}
	return link + "/" + JSONFile
}

// RenderAll re-renders every run under root from its report.json (see
// Render), then writes root/index.html (see WriteIndex) and
// root/junit.xml with one testcase per readable run, newest first. A run
// that cannot be read or rendered does not stop the others; the index and
// the JUnit report are written anyway, and the errors are returned joined.
func RenderAll(root string) error {
	runs, err := scanRuns(root)
	if err != nil {
		return err
	}
	var errs []error
	var recs []*record.Record
	for _, rn := range runs {
		if rn.Err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", rn.Dir, rn.Err))
			continue
		}
		recs = append(recs, rn.Rec)
		if err := writeRendered(filepath.Join(root, rn.Dir), rn.Rec); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", rn.Dir, err))
		}
	}
	if err := writeIndex(root, runs); err != nil {
		errs = append(errs, err)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, recs); err != nil {
		errs = append(errs, err)
	} else if err := writeFile(root, JUnitFile, junit.Bytes()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
