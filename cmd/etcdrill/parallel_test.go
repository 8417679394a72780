package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/scenarios"
)

// TestForEachParallel: at most parallel calls run at once, every index
// runs once, and what a call writes for its index is there afterwards
// whatever order the calls finish in.
func TestForEachParallel(t *testing.T) {
	const n, parallel = 9, 3
	var running, most atomic.Int32
	started := make(chan int, n)
	release := make([]chan struct{}, n)
	for i := range release {
		release[i] = make(chan struct{})
	}
	got := make([]int, n)
	finished := make(chan struct{})
	go func() {
		forEach(context.Background(), n, parallel, func(i int) bool {
			r := running.Add(1)
			for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
			}
			started <- i
			<-release[i]
			got[i] = i * i
			running.Add(-1)
			return true
		})
		close(finished)
	}()
	// Release the running calls newest first, as they start.
	var waiting []int
	for done := 0; done < n; done++ {
		for len(waiting) < min(parallel, n-done) {
			waiting = append(waiting, <-started)
		}
		last := waiting[len(waiting)-1]
		waiting = waiting[:len(waiting)-1]
		close(release[last])
	}
	<-finished
	if m := most.Load(); m != parallel {
		t.Errorf("at most %d calls ran at once, want %d", m, parallel)
	}
	for i, v := range got {
		if v != i*i {
			t.Errorf("result %d = %d, want %d", i, v, i*i)
		}
	}
}

// TestForEachStops: a call that returns false, or a cancelled context,
// stops further calls; the running ones are waited for.
func TestForEachStops(t *testing.T) {
	var calls []int
	forEach(context.Background(), 10, 1, func(i int) bool {
		calls = append(calls, i)
		return i != 3
	})
	if fmt.Sprint(calls) != "[0 1 2 3]" {
		t.Errorf("calls %v, want [0 1 2 3]: one at a time, none after the one that failed", calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var n, sawCancel atomic.Int32
	two := make(chan struct{}, 2)
	go func() {
		<-two
		<-two
		cancel() // as Ctrl-C does: every running drill sees it
	}()
	forEach(ctx, 10, 2, func(i int) bool {
		n.Add(1)
		two <- struct{}{}
		<-ctx.Done()
		sawCancel.Add(1)
		return true
	})
	if n.Load() != 2 || sawCancel.Load() != 2 {
		t.Errorf("%d calls, %d saw the cancel; want 2 and 2, none started after it", n.Load(), sawCancel.Load())
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string][2]int{"": {0, 0}, "1/1": {1, 1}, "2/3": {2, 3}, "3/3": {3, 3}} {
		i, n, err := parseShard(in)
		if err != nil || i != want[0] || n != want[1] {
			t.Errorf("parseShard(%q) = %d, %d, %v; want %v", in, i, n, err, want)
		}
	}
	for _, in := range []string{"3/2", "0/2", "a/b", "1/0", "2", "/2", "1/", "1/2/3", "-1/2", " 1/2"} {
		_, _, err := parseShard(in)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--shard") {
			t.Errorf("parseShard(%q) = %v, want a usage error naming --shard", in, err)
		}
	}
}

// TestProgressShared drives the shared bar of several drills at once
// from as many goroutines, as the drills do (run with -race).
func TestProgressShared(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &lockedWriter{w: &buf}, live: true, total: 6, parallel: 3}
	var wg sync.WaitGroup
	for k := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := p.start(fmt.Sprintf("drill-%d", k), "3.6.16")
			for i := 1; i <= 5; i++ {
				d.step("", i, 5, "step")
			}
			v := record.Pass
			if k == 4 {
				v = record.Fail
			}
			d.done(&record.Record{Verdict: v, Config: record.Config{EtcdVersion: "3.6.16"}})
		}()
	}
	wg.Wait()
	p.close()
	out := buf.String()
	for k := range 6 {
		mark := "PASS"
		if k == 4 {
			mark = "FAIL"
		}
		if want := fmt.Sprintf("%s  drill-%d 3.6.16", mark, k); strings.Count(out, want) != 1 {
			t.Errorf("output has %q %d times, want once:\n%q", want, strings.Count(out, want), out)
		}
	}
	if !strings.Contains(out, "6 / 6") {
		t.Errorf("the shared bar does not end at 6 / 6:\n%q", out)
	}
	if p.finished != 6 || len(p.running) != 0 {
		t.Errorf("finished %d, running %d; want 6 and 0", p.finished, len(p.running))
	}
}

func TestFitWidth(t *testing.T) {
	if got := fitWidth("leader-kill 3.6.16 4/9", 40); got != "leader-kill 3.6.16 4/9" {
		t.Errorf("fitWidth kept %q", got)
	}
	if got := fitWidth(strings.Repeat("x", 30), 12); got != strings.Repeat("x", 11)+"…" {
		t.Errorf("fitWidth cut to %q", got)
	}
}

// TestShardAndMerge is the demonstration: the catalogue's matrix
// on three versions, split into three shards, is covered exactly once;
// each shard's runs, written into a directory of its own as `run --shard
// i/3 --out DIR` would, merge through the CLI into one index that lists
// every run once and one junit.xml with a testcase per run and the
// right counts.
func TestShardAndMerge(t *testing.T) {
	var versions []harness.Version
	for _, s := range harness.Supported {
		versions = append(versions, harness.MustVersion(s))
	}
	if len(versions) != 3 {
		t.Fatalf("%d supported versions, the demonstration wants 3", len(versions))
	}
	matrix := scenarios.Matrix(scenarios.All(), versions, true) // as run --all --versions does
	entryKey := func(e scenarios.Entry) string { return e.Name() + " (etcd " + e.Version.String() + ")" }
	covered := map[string]int{}
	base := t.TempDir()
	var dirs []string
	want := map[string]record.Verdict{} // JUnit case name → verdict
	runDirs := map[string]bool{}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		shard, err := scenarios.Shard(matrix, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(base, fmt.Sprintf("shard-%d", i))
		dirs = append(dirs, dir)
		for k, e := range shard {
			covered[entryKey(e)]++
			r := fakeRun(e, start.Add(time.Duration(len(want))*time.Minute), i, k)
			run, err := reports.WriteRun(dir, r)
			if err != nil {
				t.Fatal(err)
			}
			runDirs[filepath.Base(run)] = true
			want[entryKey(e)] = r.Verdict
		}
	}
	for _, e := range matrix {
		if covered[entryKey(e)] != 1 {
			t.Errorf("%s is in %d shards, want exactly 1", entryKey(e), covered[entryKey(e)])
		}
	}
	if len(covered) != len(matrix) || len(runDirs) != len(matrix) {
		t.Fatalf("shards cover %d entries in %d run directories; the matrix has %d", len(covered), len(runDirs), len(matrix))
	}

	out := filepath.Join(base, "merged")
	var stdout, stderr bytes.Buffer
	args := []string{"report", "--merge", dirs[0], dirs[1], dirs[2], dirs[1], "--out", out} // shard 2 given twice
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("report --merge: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("merged %d runs from 3 directories", len(matrix))) {
		t.Errorf("stdout: %q", stdout.String())
	}

	page, err := os.ReadFile(filepath.Join(out, reports.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`href="\.\./shard-[123]/([^/"]+)/report\.html"`).FindAllStringSubmatch(string(page), -1)
	listed := map[string]int{}
	for _, l := range links {
		listed[l[1]]++
	}
	for d := range runDirs {
		if listed[d] != 1 {
			t.Errorf("index lists %s %d times, want once", d, listed[d])
		}
	}
	if len(links) != len(matrix) {
		t.Errorf("index has %d run links, want %d", len(links), len(matrix))
	}

	b, err := os.ReadFile(filepath.Join(out, reports.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suite    struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	counts := map[record.Verdict]int{}
	for _, v := range want {
		counts[v]++
	}
	if doc.Tests != len(matrix) || doc.Failures != counts[record.Fail] || doc.Skipped != counts[record.NotApplicable] {
		t.Errorf("junit.xml: %d tests, %d failures, %d skipped; want %d, %d, %d",
			doc.Tests, doc.Failures, doc.Skipped, len(matrix), counts[record.Fail], counts[record.NotApplicable])
	}
	if counts[record.Fail] == 0 || counts[record.NotApplicable] == 0 || counts[record.Pass] == 0 {
		t.Errorf("the demonstration wants passes, failures and drills that do not apply: %v", counts)
	}
	seen := map[string]bool{}
	for _, c := range doc.Suite.Cases {
		v, ok := want[c.Name]
		switch {
		case !ok:
			t.Errorf("junit.xml has an unexpected testcase %q", c.Name)
		case seen[c.Name]:
			t.Errorf("junit.xml has %q twice", c.Name)
		case (c.Failure != nil) != (v == record.Fail) || (c.Skipped != nil) != (v == record.NotApplicable):
			t.Errorf("testcase %q: failure %v, skipped %v; want verdict %s", c.Name, c.Failure != nil, c.Skipped != nil, v)
		}
		seen[c.Name] = true
	}
}

// fakeRun is the record `run` would write for e, made by hand: a drill
// that does not apply to its version is not applicable, every fifth of
// the rest fails, and the others pass.
func fakeRun(e scenarios.Entry, start time.Time, shard, k int) *record.Record {
	auth := e.Scenario.Auth || (e.Auth != nil && *e.Auth)
	r := &record.Record{Schema: record.Schema, Kind: record.KindDrill, Scenario: e.Scenario.Name,
		RunID:  fmt.Sprintf("%s-%02x%06x", e.Scenario.Name, shard, k),
		Config: record.Config{EtcdVersion: e.Version.String(), Members: e.Scenario.Members, TLS: e.Scenario.TLS, Auth: auth},
		Start:  start, End: start.Add(15 * time.Second), Verdict: record.Pass}
	switch ok, why := e.Scenario.Applies(e.Version); {
	case !ok:
		r.Verdict, r.Reason, r.RunID = record.NotApplicable, why, ""
	case k%5 == 4:
		r.Verdict, r.Reason = record.Fail, "step restore the snapshot on m1: exit 1"
	}
	return r
}
