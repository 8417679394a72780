package reports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/etcdrill/etcdrill/record"
)

// Merged is what Merge read and wrote.
type Merged struct {
	// Roots is how many distinct run roots were read: a root given twice,
	// under any spelling of its path, counts once.
	Roots int
	// Runs is how many runs the index lists, Unreadable of them without a
	// record; Duplicates is how many more were left out because an earlier
	// root had the same run.
	Runs, Unreadable, Duplicates int
}

// Merge writes out/index.html and out/junit.xml over every run under each
// of roots (each subdirectory with a report.json, as WriteIndex finds
// them), so that the runs of several `etcdrill run --shard` invocations,
// each with its own --out, read as one. The index is WriteIndex's page
// over all the roots' runs together, newest first; the JUnit report is
// RenderAll's, one testcase per readable run in the same order. A run
// appears once however many roots hold it: runs are the same when their
// run IDs are (their directory and start time for a record without
// one), and a root given twice is read once.
//
// The run directories stay where they are and are neither copied nor
// re-rendered: the index links each run's report by its path relative to
// out, so publish out together with the roots in the same layout (most
// simply, the roots inside out). out is created if needed; nothing else
// is written. A run whose record cannot be read is listed on the index
// with the error, left out of the JUnit report, and its error is returned,
// joined with the others, after both files are written.
func Merge(out string, roots []string) (Merged, error) {
	var m Merged
	if len(roots) == 0 {
		return m, errors.New("merge: no run directories given")
	}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return m, fmt.Errorf("merge: %w", err)
	}
	var runs []run
	var errs []error
	seenRoot, seenRun := map[string]bool{}, map[string]bool{}
	for _, root := range roots {
		abs, err := filepath.Abs(root)
		if err != nil {
			return m, fmt.Errorf("merge: %w", err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return m, fmt.Errorf("merge: run directory %s: %w", root, err)
		}
		if seenRoot[real] {
			continue
		}
		seenRoot[real] = true
		m.Roots++
		found, err := scanRuns(abs)
		if err != nil {
			return m, fmt.Errorf("merge: %s: %w", root, err)
		}
		for _, rn := range found {
			key := "path:" + filepath.Join(real, rn.Dir)
			if rn.Rec != nil && rn.Rec.RunID != "" {
				key = "id:" + rn.Rec.RunID
			} else if rn.Rec != nil {
				key = "dir:" + rn.Dir + "@" + strconv.FormatInt(rn.Rec.Start.UnixNano(), 10)
			}
			if seenRun[key] {
				m.Duplicates++
				continue
			}
			seenRun[key] = true
			rel, err := filepath.Rel(outAbs, filepath.Join(abs, rn.Dir))
			if err != nil {
				return m, fmt.Errorf("merge: %w", err)
			}
			rn.Dir = filepath.ToSlash(rel)
			if rn.Err != nil {
				m.Unreadable++
				errs = append(errs, fmt.Errorf("run %s: %w", filepath.Join(root, filepath.Base(rn.Dir)), rn.Err))
			}
			runs = append(runs, rn)
		}
	}
	m.Runs = len(runs)
	sortRuns(runs)
	if err := os.MkdirAll(outAbs, 0o755); err != nil {
		return m, fmt.Errorf("merge: create %s: %w", out, err)
	}
	page, err := renderIndex(outAbs, runs)
	if err != nil {
		return m, err
	}
	if err := writeFile(outAbs, IndexFile, page); err != nil {
		return m, err
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, records(runs)); err != nil {
		return m, err
	}
	if err := writeFile(outAbs, JUnitFile, junit.Bytes()); err != nil {
		return m, err
	}
	return m, errors.Join(errs...)
}

// sortRuns orders runs for an index: newest drill first, runs with the
// same start by directory, unreadable runs last.
func sortRuns(runs []run) {
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if (a.Rec == nil) != (b.Rec == nil) {
			return a.Rec != nil
		}
		if a.Rec != nil && !a.Rec.Start.Equal(b.Rec.Start) {
			return a.Rec.Start.After(b.Rec.Start)
		}
		return a.Dir < b.Dir
	})
}

// records are the records of the readable runs, in order.
func records(runs []run) []*record.Record {
	var recs []*record.Record
	for _, rn := range runs {
		if rn.Rec != nil {
			recs = append(recs, rn.Rec)
		}
	}
	return recs
}
