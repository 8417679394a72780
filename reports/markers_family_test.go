package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// The fault families' own events are drawn in the colour of a fault or a
// recovery, and labelled and titled with their own kind.
func TestChartFamilyEvents(t *testing.T) {
	start := minimal().Start
	r := withTimeline(
		record.Event{T: start.Add(2 * time.Second), Kind: "partition", Text: "m3 cut off from the other members"},
		record.Event{T: start.Add(4 * time.Second), Kind: "heal", Text: "m3 reconnected"},
		record.Event{T: start.Add(6 * time.Second), Kind: "pause", Text: "m2 frozen"},
		record.Event{T: start.Add(8 * time.Second), Kind: "resume", Text: "m2 resumed"},
	)
	c := newChart(r)
	if c == nil {
		t.Fatal("no chart for a record with a timeline")
	}
	want := map[string]struct{ class, label string }{
		"partition": {"fault", "partition: m3 cut off"},
		"heal":      {"recovery", "heal: m3 reconnected"},
		"pause":     {"fault", "pause: m2 frozen"},
		"resume":    {"recovery", "resume: m2 resumed"},
	}
	if len(c.Markers) != len(want) {
		t.Fatalf("%d markers, want %d", len(c.Markers), len(want))
	}
	for _, m := range c.Markers {
		kind := strings.Fields(m.Title)[1]
		w, ok := want[kind]
		if !ok {
			t.Errorf("marker titled %q: kind %q not one of the events", m.Title, kind)
			continue
		}
		if m.Kind != w.class {
			t.Errorf("%s drawn as %q, want %q", kind, m.Kind, w.class)
		}
		if !strings.HasPrefix(m.Label, w.label) {
			t.Errorf("%s labelled %q, want %q", kind, m.Label, w.label)
		}
	}
	for k, w := range want {
		if got := eventKind(k); got != w.class {
			t.Errorf("eventKind(%q) = %q, want %q", k, got, w.class)
		}
	}
}
