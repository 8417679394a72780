package reports

import (
	"fmt"
	"strconv"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// figures are the numbers the header, the index and JUnit call out,
// formatted, each with a note on what it means.
type figures struct {
	RTO, RTONote          string
	RPO, RPONote, RPOWarn string
	Writes                string
	Keys, KeysNote        string
}

// newFigures formats the metrics of r. A drill that did not apply shows
// dashes, not zeros, and RPO counts only when the key-integrity check ran.
func newFigures(r *record.Record) figures {
	var p figures
	m := r.Metrics
	ran := r.Verdict != record.NotApplicable
	switch {
	case !ran:
		p.RTO, p.RTONote = "—", "the drill did not run"
	case m.RTOMillis < 0:
		// Set when the harness saw no acknowledged write after the fault,
		// which includes a drill that stopped before it looked.
		p.RTO, p.RTONote = "not measured", "no acknowledged write after the fault was recorded"
	default:
		p.RTO, p.RTONote = seconds(time.Duration(m.RTOMillis)*time.Millisecond), "fault to first acknowledged write"
	}
	_, integrity := findCheck(r, keyIntegrity)
	switch {
	case !ran:
		p.RPO, p.RPONote = "—", "the drill did not run"
	case !integrity:
		p.RPO, p.RPONote = "not measured", "no key-integrity check ran"
	default:
		p.RPO = plural(m.RPOWrites, "write")
		p.RPONote = "acknowledged writes lost by design"
		if m.SnapshotRevision != 0 {
			p.RPONote += fmt.Sprintf(" (written after snapshot revision %d)", m.SnapshotRevision)
		}
		if m.RPOWrites > 0 {
			p.RPOWarn = "warn"
		}
	}
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
