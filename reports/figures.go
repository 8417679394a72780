package reports

import (
	"fmt"
	"strconv"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// figures are the numbers the header, the index and JUnit call out,
// formatted, each with a note on what it means. Drill is false for
// records that are not drills (a snapshot verify, an upgrade check): they
// inject no fault, so they have no RTO or RPO and the reports leave those
// out; RTO and RPO are then "—" for the index's columns. RPOMore,
// Slowest and Data are "" unless the record has the figures of a drill
// on large data (records written before them do not).
type figures struct {
	Drill                 bool
	RTO, RTONote          string
	RPO, RPONote, RPOWarn string
	Writes                string
	Keys, KeysNote        string
	// RPOMore is the RPO in revisions and time, "103 revisions, 3.20 s
	// of writes"; Slowest the longest RTO phase, "restore on m2, 5.40
	// s"; Data the data the drill ran on, "data: k8s 1GiB, 1.1 GB".
	RPOMore, Slowest, Data string
}

// notMeasured is how RTO and RPO read when the record has no value.
const notMeasured = "not measured"

// newFigures formats the metrics of r. A drill that did not apply shows
// dashes, not zeros; a number the drill did not measure says so and,
// where the record tells, why.
func newFigures(r *record.Record) figures {
	p := figures{Drill: r.IsDrill()}
	m := r.Metrics
	ran := r.Verdict != record.NotApplicable
	p.RTO, p.RTONote = rtoFigure(r, ran)
	p.RPO, p.RPONote = rpoFigure(r, ran)
	if rpo, ok := rpoWrites(r); ok && p.Drill && ran && rpo > 0 {
		p.RPOWarn = "warn"
	}
	if p.Drill && ran {
		p.RPOMore, p.Slowest = rpoMore(m), slowest(m.Phases)
	}
	p.Data = dataNote(r)
	p.Writes = "—"
	if ran {
		p.Writes = fmt.Sprintf("%d acknowledged, %d failed, %d indeterminate", m.Acknowledged, m.Failed, m.Indeterminate)
	}
	switch {
	case !ran:
		p.Keys = "—"
	case len(r.Checks) == 0:
		p.Keys, p.KeysNote = "not checked", "the drill stopped before its checks"
	default:
		p.Keys = strconv.Itoa(m.KeyCount)
		if m.Digest != "" {
			p.KeysNote = "SHA-256 " + m.Digest
		}
	}
	return p
}

// rtoFigure is the RTO and its note.
func rtoFigure(r *record.Record, ran bool) (value, note string) {
	d, ok := rto(r)
	switch {
	case !r.IsDrill():
		return "—", "only drills measure it"
	case !ran:
		return "—", "the drill did not run"
	case ok:
		return seconds(d), "fault to first acknowledged write"
	case !faultInjected(r):
		return notMeasured, "no fault injected"
	}
	return notMeasured, "no write acknowledged after the fault"
}

// rpoFigure is the RPO and its note.
func rpoFigure(r *record.Record, ran bool) (value, note string) {
	_, integrity := findCheck(r, keyIntegrity)
	n, ok := rpoWrites(r)
	switch {
	case !r.IsDrill():
		return "—", "only drills measure it"
	case !ran:
		return "—", "the drill did not run"
	case !integrity:
		return notMeasured, "no key-integrity check ran"
	case !ok:
		return notMeasured, "the key-integrity check could not read the keyspace"
	}
	note = "acknowledged writes lost by design"
	if r.Metrics.SnapshotRevision != 0 {
		note += fmt.Sprintf(" (written after snapshot revision %d)", r.Metrics.SnapshotRevision)
	}
	return plural(n, "write"), note
}

// rto is the measured RTO of r; ok is false when it was not measured. A
// negative value, as records written before rto_ms could be null have,
// means not measured too (ReadJSON already turns it into nil).
func rto(r *record.Record) (d time.Duration, ok bool) {
	ms := r.Metrics.RTOMillis
	if ms == nil || *ms < 0 {
		return 0, false
	}
	return time.Duration(*ms) * time.Millisecond, true
}

// rpoWrites is the measured RPO of r; ok is false when it was not
// measured. It counts only with a key-integrity check: records written
// before rpo_writes could be null have 0 when the check did not run.
func rpoWrites(r *record.Record) (n int, ok bool) {
	p := r.Metrics.RPOWrites
	if _, integrity := findCheck(r, keyIntegrity); !integrity || p == nil || *p < 0 {
		return 0, false
	}
	return *p, true
}

// faultInjected reports whether r recorded a fault: a step of the fault
// phase, or a fault event on the timeline.
func faultInjected(r *record.Record) bool {
	for _, s := range r.Steps {
		if s.Phase == record.PhaseFault {
			return true
		}
	}
	for _, e := range r.Events {
		if e.Kind == "fault" {
			return true
		}
	}
	return false
}

// keyIntegrity is the check that compares the keyspace with the ledger of
// acknowledged writes; it counts the RPO and names missing or changed keys.
const keyIntegrity = "key-integrity"

// findCheck returns the first check of r with the name.
func findCheck(r *record.Record, name string) (record.Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return record.Check{}, false
}

// reason is why r's verdict is not pass: its reason, else its first
// failure, else for an interrupted drill that the operator stopped it.
// It is "" for a drill that passed.
func reason(r *record.Record) string {
	if r.Verdict == record.Pass {
		return ""
	}
	if r.Reason != "" {
		return r.Reason
	}
	if f := r.Failed(); f != "" {
		return f
	}
	if r.Verdict == record.Interrupted {
		return "the operator stopped the drill before it finished"
	}
	return ""
}
