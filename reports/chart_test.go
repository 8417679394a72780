package reports

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// withTimeline is minimal() with ten seconds of writes from the drill's
// start and the given events, so x = chartLeft + t/10 × plot width.
func withTimeline(events ...record.Event) *record.Record {
	r := minimal()
	for i := range 10 {
		r.Timeline = append(r.Timeline, record.Sample{T: r.Start.Add(time.Duration(i) * time.Second),
			Acknowledged: 90 + i, Failed: i % 2, P50Millis: 4, P99Millis: 20 + float64(i)})
	}
	r.Events = events
	return r
}

func TestChartFaultMarker(t *testing.T) {
	start := minimal().Start
	real, err := ReadJSON("testdata/leader-kill/report.json")
	if err != nil {
		t.Fatal(err)
	}
	plotW := chartW - chartLeft - chartRight
	tests := []struct {
		name string
		rec  *record.Record
		want string // the fault's <g>, up to its line's x
	}{
		{"at 2.5 of 10 s", withTimeline(record.Event{T: start.Add(2500 * time.Millisecond), Kind: "fault", Text: "kill m1"}),
			`<g class="marker fault"><title>1. fault at 2.5 s: kill m1</title><line x1="` + f(chartLeft+0.25*plotW) + `"`},
		// Samples from 5.52 s to 13.52 s put the axis at 5 to 14 s; the
		// kill ended 7.098 s after the start.
		{"leader-kill record", real,
			`<g class="marker fault"><title>1. fault at 7.1 s: SIGKILL etcd on m1</title><line x1="` + f(chartLeft+(7.098071483-5)/9*plotW) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := renderString(t, tt.rec)
			if !strings.Contains(page, tt.want) {
				t.Errorf("no fault marker %q in\n%s", tt.want, svgOf(page))
			}
			if !strings.Contains(page, `fault: `) {
				t.Error("fault marker has no label")
			}
		})
	}
}

func TestChartMarkerColoursAndLabels(t *testing.T) {
	start := minimal().Start
	r := withTimeline(
		record.Event{T: start.Add(2 * time.Second), Kind: "fault", Text: "kill m1"},
		record.Event{T: start.Add(2100 * time.Millisecond), Kind: "leader", Text: "m3 elected leader"},
		record.Event{T: start.Add(9900 * time.Millisecond), Kind: "recovery", Text: "start etcd on m1 again, a long label"},
		record.Event{T: start.Add(5 * time.Second), Kind: "something-new", Text: "odd"},
	)
	c := newChart(r)
	if c == nil {
		t.Fatal("no chart for a record with a timeline")
	}
	kinds := map[string]marker{}
	for _, m := range c.Markers {
		kinds[m.Kind] = m
	}
	for _, k := range []string{"fault", "leader", "recovery", "other"} {
		if _, ok := kinds[k]; !ok {
			t.Errorf("no %s marker in %+v", k, c.Markers)
		}
	}
	if kinds["fault"].row == kinds["leader"].row {
		t.Errorf("fault and leader labels 0.1 s apart share row %d", kinds["fault"].row)
	}
	if rec := kinds["recovery"]; rec.Anchor != "end" {
		t.Errorf("label near the right edge anchored %q, want end", rec.Anchor)
	}
	if c.RTO != nil {
		t.Error("RTO band drawn without an RTO")
	}
}

// TestChartCrowdedLabels: a quorum-loss drill has a dozen recovery steps
// within seconds. The faults keep their full labels, labels that no longer
// fit shrink to their event's number (or go), and no two labels in a row
// overlap.
func TestChartCrowdedLabels(t *testing.T) {
	start := minimal().Start
	var events []record.Event
	for i := range 12 {
		events = append(events, record.Event{T: start.Add(time.Duration(5000+400*i) * time.Millisecond), Kind: "recovery",
			Text: fmt.Sprintf("restore the snapshot on member %d", i)})
	}
	events = append(events, record.Event{T: start.Add(5450 * time.Millisecond), Kind: "fault", Text: "lose m1 and its data dir"})
	c := newChart(withTimeline(events...))
	numbered, fault := 0, 0
	for _, m := range c.Markers {
		if m.Kind == "fault" {
			fault = m.N
			if m.Label != "fault: lose m1 and its data dir" {
				t.Errorf("fault label %q, want it in full", m.Label)
			}
		}
		if m.Label == strconv.Itoa(m.N) {
			numbered++
		}
		for _, o := range c.Markers {
			if o.N != m.N && o.row == m.row && m.Label != "" && o.Label != "" && overlap(m, o) {
				t.Errorf("labels %q and %q overlap in row %d", m.Label, o.Label, m.row)
			}
		}
	}
	if numbered == 0 || numbered == len(c.Markers) {
		t.Errorf("%d of %d labels shrank to numbers", numbered, len(c.Markers))
	}
	page := renderString(t, withTimeline(events...))
	row := fmt.Sprintf(`<tr><td class="num muted">%d</td><td class="num">5.45 s</td><td><span class="kind fault">fault</span></td>`, fault)
	if fault != 3 || !strings.Contains(page, row) {
		t.Errorf("fault is event %d; event table lacks %s", fault, row)
	}
}

// overlap reports whether two labels' extents cross, as layoutMarkers
// estimates them.
func overlap(a, b marker) bool {
	ext := func(m marker) (float64, float64) {
		w := float64(len([]rune(m.Label))) * labelCharW
		if m.Anchor == "end" {
			return m.x - 4 - w, m.x - 4
		}
		return m.x + 4, m.x + 4 + w
	}
	a0, a1 := ext(a)
	b0, b1 := ext(b)
	return a0 < b1 && b0 < a1
}

func TestChartRTOBandAndGaps(t *testing.T) {
	start := minimal().Start
	r := withTimeline(
		record.Event{T: start.Add(1 * time.Second), Kind: "fault", Text: "lose m1"},
		record.Event{T: start.Add(2 * time.Second), Kind: "fault", Text: "lose m3"}, // quorum gone: RTO starts
	)
	r.Metrics.RTOMillis = record.Millis(3 * time.Second)
	r.Timeline[3].Acknowledged, r.Timeline[4].Acknowledged = 0, 0
	c := newChart(r)
	plotW := chartW - chartLeft - chartRight
	if c.RTO == nil || c.RTO.X != f(chartLeft+0.2*plotW) || c.RTO.W != f(0.3*plotW) || c.RTO.Label != "RTO 3.00 s" {
		t.Errorf("RTO band %+v, want from the last fault at 2 s for 3 s", c.RTO)
	}
	if n := strings.Count(c.P99, "M"); n != 2 {
		t.Errorf("p99 path %q has %d segments, want 2 (broken where nothing was acknowledged)", c.P99, n)
	}
	if len(c.Dots) != 8 {
		t.Errorf("%d p99 points, want 8", len(c.Dots))
	}
}

func TestChartAbsentWithoutTimeline(t *testing.T) {
	r := minimal()
	r.Events = []record.Event{{T: r.Start, Kind: "fault", Text: "kill"}}
	if c := newChart(r); c != nil {
		t.Errorf("chart for a record without a timeline: %+v", c)
	}
	if page := renderString(t, r); strings.Contains(page, "<svg") {
		t.Error("page has an SVG without a timeline")
	}
}

func TestAxis(t *testing.T) {
	tests := []struct {
		v, least float64
		top      float64
		n        int
	}{
		{0, 1, 1, 2}, // an idle timeline still gets an axis
		{3, 1, 3, 4},
		{100, 1, 100, 5},
		{97, 1, 100, 5},
		{71.171, 0, 80, 5},
		{0.4, 0, 0.4, 5},
	}
	for _, tt := range tests {
		top, ticks := axis(tt.v, tt.least)
		if top != tt.top || len(ticks) != tt.n {
			t.Errorf("axis(%v, %v) = %v with %d ticks %v, want %v with %d", tt.v, tt.least, top, len(ticks), ticks, tt.top, tt.n)
		}
	}
}

// svgOf cuts the chart out of a page for error messages.
func svgOf(page string) string {
	i, j := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if i < 0 || j < 0 {
		return "(no svg)"
	}
	return page[i : j+6]
}
