package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// sizes are the database size and key count around the drill and the
// snapshot size, formatted; a value the record does not have is "—".
type sizes struct {
	DB, Keys, Snapshot string
}

// newSizes formats the sizes of m, or returns nil when the record has
// none of them (records written before they were measured).
func newSizes(m record.Metrics) *sizes {
	if m.DBSizeBefore == 0 && m.DBSizeAfter == 0 && m.KeysBefore == 0 && m.KeysAfter == 0 && m.SnapshotBytes == 0 {
		return nil
	}
	s := &sizes{DB: "—", Keys: "—", Snapshot: "—"}
	if m.DBSizeBefore != 0 || m.DBSizeAfter != 0 {
		s.DB = sizeOrDash(m.DBSizeBefore) + " → " + sizeOrDash(m.DBSizeAfter)
	}
	if m.KeysBefore != 0 || m.KeysAfter != 0 {
		s.Keys = countOrDash(m.KeysBefore) + " → " + countOrDash(m.KeysAfter)
	}
	if m.SnapshotBytes != 0 {
		s.Snapshot = humanBytes(m.SnapshotBytes)
	}
	return s
}

// sizeOrDash is n bytes in human units, or "—" for 0 (not observed).
func sizeOrDash(n int64) string {
	if n == 0 {
		return "—"
	}
	return humanBytes(n)
}

// countOrDash is n, or "—" for 0 (not observed).
func countOrDash(n int) string {
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(n)
}

// loadLine describes the bulk data loading of the setup in one line, or
// "" when the drill loaded none: "k8s 1GiB: 1048576 keys, 1.1 GB in
// 42.10 s (25.5 MB/s) by 8 clients in 4096 transactions".
func loadLine(l *record.Load) string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %s", orDash(l.Profile), plural(l.Keys, "key"), humanBytes(l.Bytes))
	if !l.Start.IsZero() && !l.End.IsZero() {
		b.WriteString(" in " + seconds(l.Duration()))
		if v := l.MBps(); v > 0 {
			b.WriteString(" (" + mbps(v) + ")")
		}
	}
	if l.Clients > 0 {
		b.WriteString(" by " + plural(l.Clients, "client"))
	}
	if l.Txns > 0 {
		b.WriteString(" in " + plural(l.Txns, "transaction"))
	}
	return b.String()
}

// loadNote says why the load's time is not in the RTO.
const loadNote = "loaded before the drill; not part of its timings"

// rpoRevisions and rpoTime are the RPO in revisions and in time, or
// notMeasured; ok is false when neither was measured, and the reports
// then leave both out, as records written before they existed have.
func rpoRevisions(m record.Metrics) (revisions, lost string, ok bool) {
	if m.RPORevisions == nil && m.RPOMillis == nil {
		return "", "", false
	}
	revisions, lost = notMeasured, notMeasured
	if p := m.RPORevisions; p != nil {
		revisions = strconv.FormatInt(*p, 10)
	}
	if p := m.RPOMillis; p != nil {
		lost = seconds(time.Duration(*p) * time.Millisecond)
	}
	return revisions, lost, true
}

// rpoMore is the RPO in revisions and time in one line, "103 revisions,
// 3.20 s of writes", or "" when neither was measured.
func rpoMore(m record.Metrics) string {
	if m.RPORevisions == nil && m.RPOMillis == nil {
		return ""
	}
	revisions, lost := "revisions "+notMeasured, "time "+notMeasured
	if p := m.RPORevisions; p != nil {
		revisions = plural64(*p, "revision")
	}
	if p := m.RPOMillis; p != nil {
		lost = seconds(time.Duration(*p)*time.Millisecond) + " of writes"
	}
	return revisions + ", " + lost
}

func plural64(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// dataNote is the data a drill ran on, for the index: "k8s 1GiB, 1.1 GB";
// "" when the record says nothing about it.
func dataNote(r *record.Record) string {
	var parts []string
	if r.Config.Data != "" {
		parts = append(parts, r.Config.Data)
	}
	if r.Config.FromSnapshot != "" {
		parts = append(parts, "from "+r.Config.FromSnapshot)
	}
	if n := r.Metrics.DBSizeBefore; n > 0 {
		parts = append(parts, humanBytes(n))
	}
	if len(parts) == 0 {
		return ""
	}
	return "data: " + strings.Join(parts, ", ")
}

// peakRSS is the footer line on etcdrill's own memory, or "" when the
// record does not know it.
func peakRSS(m record.Metrics) string {
	if m.PeakRSSBytes <= 0 {
		return ""
	}
	return "etcdrill's own peak memory: " + humanBytes(m.PeakRSSBytes) + " resident (RSS)."
}

// hasScaleData reports whether r has any of the figures drills on large
// data record, which records written before them lack; the page then
// carries the styles that draw them.
func hasScaleData(r *record.Record) bool {
	m := r.Metrics
	return len(m.Phases) > 0 || m.Load != nil || newSizes(m) != nil || m.RPORevisions != nil || m.RPOMillis != nil ||
		m.PeakRSSBytes > 0 || r.Config.Data != "" || r.Config.FromSnapshot != ""
}
