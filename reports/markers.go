package reports

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// marker is one event drawn on the timeline: a vertical line at X and,
// when there is room, a label in one of the rows above the plot.
type marker struct {
	N                     int // number in the event table
	Kind, Label, Title    string
	X, Y1, LabelX, LabelY string
	Anchor                string
	x                     float64
	row                   int // label row, 0 at the top
}

// layoutMarkers places one marker per event, numbered in time order as
// the event table numbers them, and gives each label the first row above
// the plot where it overlaps no other label. Faults are placed first, then
// leader changes, then the rest, so the fault keeps its full label. A
// label that does not fit in any row shrinks to the event's number, and
// is left out when even that does not fit; a label that would run off the
// right edge ends at its marker. It returns the markers and how many label
// rows they use (at least one).
func layoutMarkers(events []record.Event, x func(time.Time) float64, off func(time.Time) float64) ([]marker, int) {
	sorted := sortedEvents(events)
	out := make([]marker, len(sorted))
	order := make([]int, len(sorted))
	for i, e := range sorted {
		kind := eventKind(e.Kind)
		label, name := e.Text, kind
		if kind == "fault" {
			label = "fault: " + label
		}
		if _, ok := familyKinds[e.Kind]; ok {
			label, name = e.Kind+": "+e.Text, e.Kind
		}
		if n := []rune(label); len(n) > maxLabelLen {
			label = string(n[:maxLabelLen-1]) + "…"
		}
		out[i] = marker{N: i + 1, Kind: kind, Label: label, X: f(x(e.T)), x: x(e.T),
			Title: fmt.Sprintf("%d. %s at %s s: %s", i+1, name, number(off(e.T)), e.Text)}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return priority(out[order[a]].Kind) < priority(out[order[b]].Kind) })
	var rows [][][2]float64 // the spans taken in each row
	place := func(m *marker, nrows int) bool {
		w := float64(len([]rune(m.Label)))*labelCharW + 8
		m.Anchor, m.LabelX = "start", f(m.x+4)
		from, to := m.x, m.x+w
		if to > chartW-2 {
			m.Anchor, m.LabelX, from, to = "end", f(m.x-4), m.x-w, m.x
		}
		for r := 0; r < nrows; r++ {
			if r == len(rows) {
				rows = append(rows, nil)
			}
			if free(rows[r], from, to) {
				rows[r], m.row = append(rows[r], [2]float64{from, to}), r
				return true
			}
		}
		return false
	}
	// Full labels leave the last row to numbers: a long label reaches over
	// the markers after it, which would leave them no room at all.
	for _, i := range order {
		m := &out[i]
		if place(m, maxLabelRow-1) {
			continue
		}
		m.Label = strconv.Itoa(m.N)
		if !place(m, maxLabelRow) {
			m.Label, m.row = "", len(rows)-1 // the line stays; the table and tooltip have the event
		}
	}
	return out, max(len(rows), 1)
}

// free reports whether from–to, with a gap, overlaps none of spans.
func free(spans [][2]float64, from, to float64) bool {
	for _, s := range spans {
		if from < s[1]+6 && s[0] < to+6 {
			return false
		}
	}
	return true
}

// priority orders the kinds for label placement.
func priority(kind string) int {
	switch kind {
	case "fault":
		return 0
	case "leader":
		return 1
	case "recovery":
		return 2
	}
	return 3
}

// sortedEvents is events in time order, ties in record order.
func sortedEvents(events []record.Event) []record.Event {
	s := append([]record.Event(nil), events...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].T.Before(s[j].T) })
	return s
}

// eventKind maps an event kind to the CSS class that colours it; an
// unknown kind is drawn grey.
func eventKind(k string) string {
	switch k {
	case "fault", "leader", "recovery", "observe":
		return k
	}
	if c, ok := familyKinds[k]; ok {
		return c
	}
	return "other"
}

// familyKinds are the events a fault family marks itself, drawn in the
// colour of a fault or a recovery and labelled with their own kind.
var familyKinds = map[string]string{
	"partition": "fault", "pause": "fault",
	"heal": "recovery", "resume": "recovery",
}
