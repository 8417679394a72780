package reports

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// large is withTimeline with the figures of a drill on 1 GiB: the fault
// complete at 2 s, then a transfer, a restore on m1 and m2 at once, a
// gap, boot, leader and first write (5.30 s from the fault, of which
// 1.00 s is outside any phase), the data load, sizes, RPO in revisions
// and time, and etcdrill's memory.
func large() *record.Record {
	start := minimal().Start
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	r := withTimeline(record.Event{T: at(2000), Kind: "fault", Text: "lose m1 and m2"})
	r.Config.Members, r.Config.Data, r.Config.FromSnapshot = 3, "k8s 1GiB", "/backups/prod-2026-05-12.db"
	r.Checks = []record.Check{{Name: keyIntegrity, Verdict: record.Pass, Summary: "all keys present"}}
	m := &r.Metrics
	m.RTOMillis, m.RPOWrites = record.Millis(5300*time.Millisecond), record.Count(3)
	m.Phases = []record.RTOPhase{
		{Name: record.PhaseTransfer, Start: at(2500), End: at(3500), Bytes: 500e6},
		{Name: record.PhaseRestore, Member: "m1", Start: at(3500), End: at(5000), Bytes: 1e9},
		{Name: record.PhaseRestore, Member: "m2", Start: at(3500), End: at(5500), Bytes: 1e9},
		{Name: record.PhaseBoot, Start: at(6000), End: at(7000)},
		{Name: record.PhaseLeader, Start: at(7000), End: at(7250)},
		{Name: record.PhaseFirstWrite, Start: at(7250), End: at(7300)},
	}
	revisions := int64(103)
	m.RPORevisions, m.RPOMillis = &revisions, record.Millis(1138*time.Millisecond)
	m.DBSizeBefore, m.KeysBefore, m.DBSizeAfter, m.KeysAfter = 1181126656, 262373, 1180008448, 262270
	m.SnapshotBytes = 1180000256
	m.Load = &record.Load{Profile: "k8s 1GiB", Keys: 262144, Bytes: 1 << 30, Txns: 2048, Clients: 8,
		Start: start.Add(-time.Minute), End: start.Add(-50 * time.Second)}
	m.PeakRSSBytes = 96468992
	return r
}

// largeFigures are the figures of large() as every report words them
// (the page writes a start offset's "+" as "&#43;").
var largeFigures = []string{
	"1.00 s", "500 MB/s", "500 MB", // transfer
	"667 MB/s", "1.0 GB", "2.00 s", // the restores
	"5.30 s", // total
	"k8s 1GiB: 262144 keys, 1.1 GB in 10.00 s (107 MB/s) by 8 clients in 2048 transactions",
	"loaded before the drill; not part of its timings",
	"1.2 GB → 1.2 GB", "262373 → 262270",
	"96 MB",
}

func TestPhaseTable(t *testing.T) {
	r := large()
	tb := newPhaseTable(r)
	if tb == nil {
		t.Fatal("no phase table for a record with phases")
	}
	if !tb.Members || len(tb.Rows) != 6 || tb.Total != "5.30 s" || tb.Outside != "1.00 s" || !tb.Overlap {
		t.Errorf("table %+v: want 6 rows with members, total 5.30 s, 1.00 s outside, overlapping", tb)
	}
	if !strings.Contains(tb.From, "fault") {
		t.Errorf("offsets count from %q, want the fault", tb.From)
	}
	want := []phaseRow{
		{Name: record.PhaseTransfer, Class: "transfer", At: "+0.50 s", Took: "1.00 s", MBps: "500 MB/s", Size: "500 MB"},
		{Name: record.PhaseRestore, Class: "restore", Member: "m1", At: "+1.50 s", Took: "1.50 s", MBps: "667 MB/s", Size: "1.0 GB"},
		{Name: record.PhaseRestore, Class: "restore", Member: "m2", At: "+1.50 s", Took: "2.00 s", MBps: "500 MB/s", Size: "1.0 GB"},
		{Name: record.PhaseBoot, Class: "boot", At: "+4.00 s", Took: "1.00 s", MBps: "—", Size: "—"},
		{Name: record.PhaseLeader, Class: "leader", At: "+5.00 s", Took: "0.25 s", MBps: "—", Size: "—"},
		{Name: record.PhaseFirstWrite, Class: "write", At: "+5.25 s", Took: "0.05 s", MBps: "—", Size: "—"},
	}
	for i, w := range want {
		got := tb.Rows[i]
		got.Title = ""
		if got != w {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
	if title := tb.Rows[1].Title; title != "restore on m1: starts +1.50 s, took 1.50 s, 667 MB/s, 1.0 GB" {
		t.Errorf("title %q", title)
	}

	// Without a fault event, offsets count from the first phase; phases
	// one after another neither overlap nor leave time outside.
	r.Events = nil
	r.Metrics.Phases = []record.RTOPhase{r.Metrics.Phases[3], r.Metrics.Phases[4], r.Metrics.Phases[5]}
	tb = newPhaseTable(r)
	if tb.Members || tb.Rows[0].At != "+0.00 s" || tb.Total != "1.30 s" || tb.Outside != "" || tb.Overlap || !strings.Contains(tb.From, "first phase") {
		t.Errorf("table %+v: want offsets from the first phase, total 1.30 s, no gap, no overlap", tb)
	}
	if tb := newPhaseTable(minimal()); tb != nil {
		t.Errorf("phase table %+v for a record without phases", tb)
	}
}

func TestMBps(t *testing.T) {
	for v, want := range map[float64]string{412.4: "412 MB/s", 99.96: "100 MB/s", 25.53: "25.5 MB/s", 4.123: "4.12 MB/s", 0.5: "0.50 MB/s"} {
		if got := mbps(v); got != want {
			t.Errorf("mbps(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestMarkdownLargeData(t *testing.T) {
	md := render(t, large())
	for _, want := range append(largeFigures,
		"| data profile | k8s 1GiB |", "| started from snapshot | `/backups/prod-2026-05-12.db` |",
		"\n**Data load** (loaded before the drill; not part of its timings): k8s 1GiB: 262144 keys",
		"| RPO: acknowledged writes lost | 3 |", "| RPO: revisions lost | 103 |",
		"| RPO: time lost (snapshot to the last write it lost) | 1.14 s |",
		"| snapshot size | 1.2 GB |",
		"| database size, before the fault → after recovery | 1.2 GB → 1.2 GB |",
		"| keys, before the fault → after recovery | 262373 → 262270 |",
		"## RTO by phase\n\nStart counts from the moment the fault was complete",
		"| Phase | Member | Start | Took | Throughput | Data |",
		"| snapshot transfer | — | +0.50 s | 1.00 s | 500 MB/s | 500 MB |",
		"| restore | m1 | +1.50 s | 1.50 s | 667 MB/s | 1.0 GB |",
		"| restore | m2 | +1.50 s | 2.00 s | 500 MB/s | 1.0 GB |",
		"| member boot | — | +4.00 s | 1.00 s | — | — |",
		"| outside any phase |  |  | 1.00 s |  |  |",
		"| **total** |  |  | **5.30 s** |  |  |",
		"so the rows add up to more than the total",
		"\n*etcdrill's own peak memory: 96 MB resident (RSS).*\n",
	) {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// The phases come after the numbers and before the runbook.
	if i, j, k := strings.Index(md, "## Recovery numbers"), strings.Index(md, "## RTO by phase"), strings.Index(md, "## Runbook"); !(i < j && j < k) {
		t.Errorf("sections out of order: numbers %d, phases %d, runbook %d", i, j, k)
	}
}

func TestMarkdownLargeDataPartial(t *testing.T) {
	r := large()
	m := &r.Metrics
	m.RPOMillis, m.DBSizeAfter, m.KeysBefore = nil, 0, 0
	for i := range m.Phases {
		m.Phases[i].Member = ""
	}
	md := render(t, r)
	for _, want := range []string{
		"| RPO: revisions lost | 103 |", "| RPO: time lost (snapshot to the last write it lost) | not measured |",
		"| 1.2 GB → — |", "| — → 262270 |",
		"| Phase | Start | Took | Throughput | Data |", "| restore | +1.50 s | 1.50 s | 667 MB/s | 1.0 GB |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestOlderRecordHasNoLargeData: a record without the new figures shows
// none of their rows, sections or lines, in any format.
func TestOlderRecordHasNoLargeData(t *testing.T) {
	r := withTimeline(record.Event{T: minimal().Start.Add(2 * time.Second), Kind: "fault", Text: "kill m1"})
	r.Metrics.RTOMillis = record.Millis(time.Second)
	md, page := render(t, r), renderString(t, r)
	for _, not := range []string{"RTO by phase", "revisions", "time lost", "snapshot size", "database size", "data profile",
		"from snapshot", "Data load", "peak memory", "outside any phase"} {
		if strings.Contains(md, not) {
			t.Errorf("report has %q:\n%s", not, md)
		}
	}
	for _, not := range []string{"rto-phases", "rto-phase", "--ph-", "numbers three", `class="load"`, `class="rss"`, "RTO phases"} {
		if strings.Contains(page, not) {
			t.Errorf("page has %q", not)
		}
	}
	if out := systemOut(r); strings.Contains(out, "\n") || strings.Contains(out, "data:") || strings.Contains(out, "RSS") {
		t.Errorf("system-out %q, want the one summary line", out)
	}
}

func TestHTMLLargeData(t *testing.T) {
	page := renderString(t, large())
	for _, want := range append(largeFigures,
		`<div class="note">103 revisions, 1.14 s of writes</div>`,
		`<div class="label">Database size</div><div class="value small">1.2 GB → 1.2 GB</div>`,
		`<div class="label">Snapshot</div><div class="value small">1.2 GB</div>`,
		`<dt>data profile</dt><dd>k8s 1GiB</dd>`, `<div class="wide"><dt>started from snapshot</dt><dd>/backups/prod-2026-05-12.db</dd>`,
		`<h2 id="rto-phases">RTO by phase</h2>`,
		`<tr><td><i class="sw ph-restore"></i>restore</td><td>m2</td><td class="num">&#43;1.50 s</td><td class="num">2.00 s</td><td class="num">500 MB/s</td><td class="num">1.0 GB</td></tr>`,
		`<tr class="total"><td>total</td><td></td><td></td><td class="num">5.30 s</td>`,
		`<g class="rto-phase ph-restore"><title>restore on m2: 2.00 s, 1.0 GB, 500 MB/s</title>`,
		">restore on m2 · 2.00 s</text>", "--ph-restore:", `<span class="rss">`,
	) {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestChartPhaseLanes: each phase gets a lane below the axis, its span on
// the same time axis as the writes, and the chart grows by the lanes.
func TestChartPhaseLanes(t *testing.T) {
	r := large()
	c := newChart(r)
	if len(c.Phases) != 6 {
		t.Fatalf("%d phase lanes, want 6", len(c.Phases))
	}
	plotW := chartW - chartLeft - chartRight
	restore := c.Phases[2] // m2: 3.5 to 5.5 s of a 0 to 10 s axis
	if restore.X != f(chartLeft+0.35*plotW) || restore.W != f(0.2*plotW) || restore.Class != "restore" {
		t.Errorf("restore on m2 lane %+v, want from 3.5 s for 2 s", restore)
	}
	if c.Phases[3].Y <= restore.Y {
		t.Errorf("lanes overlap: boot at y %s, restore at y %s", c.Phases[3].Y, restore.Y)
	}
	old := newChart(withTimeline(r.Events...))
	if len(old.Phases) != 0 || old.H >= c.H {
		t.Errorf("chart without phases: %d lanes, height %s (with phases %s)", len(old.Phases), old.H, c.H)
	}
}

func TestJUnitLargeData(t *testing.T) {
	var doc junitSuites
	out := junitOf(t, large())
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, out)
	}
	got := string(doc.Suite.Cases[0].SystemOut)
	for _, want := range []string{
		"RPO 3 writes (103 revisions, 1.14 s of writes);", "data: k8s 1GiB, from /backups/prod-2026-05-12.db, 1.2 GB",
		"etcdrill peak RSS 96 MB", "\nRTO by phase (start counts from the moment the fault was complete",
		"\n  restore on m1: starts +1.50 s, took 1.50 s, 667 MB/s, 1.0 GB\n", "\n  outside any phase: 1.00 s\n", "\n  total: 5.30 s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("system-out lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(string(out), "<system-out><![CDATA[run r1:") {
		t.Errorf("several lines of system-out not CDATA:\n%s", out)
	}
}

func TestIndexLargeData(t *testing.T) {
	root := t.TempDir()
	if err := WriteDir(filepath.Join(root, "quorum-loss-a"), large()); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(root); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<div class="muted small">data: k8s 1GiB, from /backups/prod-2026-05-12.db, 1.2 GB</div>`,
		`<div class="muted small">slowest: restore on m2, 2.00 s</div>`, `<div class="muted small">103 revisions, 1.14 s of writes</div>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("index lacks %q", want)
		}
	}
}
