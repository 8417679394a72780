package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// maxDetails caps each list of evidence lines in a check; the rest is
// summarised as one "... and N more" line.
const maxDetails = 20

// IntegrityOptions says which observed keys belong to the workload and
// whether a snapshot restore bounds what must have survived.
type IntegrityOptions struct {
	// Prefix selects the workload keys among the observed ones; observed
	// keys outside it are ignored. Default "": every observed key counts.
	Prefix string
	// UpTo is the snapshot revision a restore used. Default 0: no restore,
	// every acknowledged write must be present. When set, acknowledged
	// writes with Revision > UpTo were lost by design (the RPO) and must be
	// absent; those with Revision <= UpTo must be present.
	UpTo int64
}

// IntegrityReport compares the ledger with the observed keyspace.
// Missing, Changed and Unexpected are sorted.
type IntegrityReport struct {
	Checked int // ledger writes considered
	Present int // acknowledged writes found with the value written
	// Missing lists acknowledged writes (within UpTo) that are absent.
	Missing []string
	// Changed lists writes present with another value than written, as
	// "key: want <digest[:12]> got <digest[:12]>".
	Changed []string
	// Unexpected lists keys that must not exist, as "key: reason": keys
	// under Prefix that are not in the ledger, failed writes that are
	// present, acknowledged writes beyond UpTo that are present, and
	// ledger entries whose outcome is unknown.
	Unexpected []string
	// Lost counts acknowledged writes beyond UpTo, absent as expected.
	Lost int
	// Indeterminate counts writes whose outcome the client never learned;
	// either state is allowed. IndeterminatePresent counts those present.
	Indeterminate        int
	IndeterminatePresent int
	// UpTo is the snapshot revision the report was made with (0: none).
	UpTo int64
}

// Integrity checks the observed keyspace against the ledger: acknowledged
// writes present with the value written (or, with opt.UpTo, exactly those
// at or below it), failed writes absent, indeterminate writes either way,
// and nothing else under opt.Prefix.
//
// Ledger keys are unique (see workload.Write); a key recorded twice is
// judged once per entry, so a broken ledger shows up as a failure rather
// than being hidden. An indeterminate write present with another value is
// reported as Changed: either state is allowed, a third value is not.
func Integrity(writes []workload.Write, observed []KV, opt IntegrityOptions) IntegrityReport {
	got := make(map[string]string, len(observed)) // key -> value digest
	hot := workload.HotPrefix(opt.Prefix)         // the clients' keys: their history judges them
	for _, kv := range observed {
		if k := string(kv.Key); strings.HasPrefix(k, opt.Prefix) && !strings.HasPrefix(k, hot) {
			got[string(kv.Key)] = workload.ValueDigest(kv.Value)
		}
	}
	r := IntegrityReport{Checked: len(writes), UpTo: opt.UpTo}
	ledger := make(map[string]bool, len(writes))
	for _, w := range writes {
		ledger[w.Key] = true
		d, present := got[w.Key]
		switch w.Outcome {
		case workload.Acknowledged:
			switch {
			case opt.UpTo > 0 && w.Revision > opt.UpTo && present:
				r.Unexpected = append(r.Unexpected, fmt.Sprintf(
					"%s: acknowledged at revision %d, after snapshot revision %d, but present",
					w.Key, w.Revision, opt.UpTo))
			case opt.UpTo > 0 && w.Revision > opt.UpTo:
				r.Lost++
			case !present:
				r.Missing = append(r.Missing, w.Key)
			case d != w.Digest:
				r.Changed = append(r.Changed, changed(w.Key, w.Digest, d))
			default:
				r.Present++
			}
		case workload.Failed:
			if present {
				r.Unexpected = append(r.Unexpected, w.Key+": failed write present")
			}
		case workload.Indeterminate:
			r.Indeterminate++
			if present {
				r.IndeterminatePresent++
				if d != w.Digest {
					r.Changed = append(r.Changed, changed(w.Key, w.Digest, d))
				}
			}
		default:
			r.Unexpected = append(r.Unexpected, fmt.Sprintf("%s: unknown ledger outcome %q", w.Key, w.Outcome))
		}
	}
	for k := range got {
		if !ledger[k] {
			r.Unexpected = append(r.Unexpected, k+": not in ledger")
		}
	}
	slices.Sort(r.Missing)
	slices.Sort(r.Changed)
	slices.Sort(r.Unexpected)
	return r
}

func changed(key, want, got string) string {
	return fmt.Sprintf("%s: want %s got %s", key, short(want), short(got))
}

// short abbreviates a hex digest to 12 characters, like a git hash.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// OK reports whether nothing is missing, changed or unexpected.
func (r IntegrityReport) OK() bool {
	return len(r.Missing) == 0 && len(r.Changed) == 0 && len(r.Unexpected) == 0
}

// Check renders the report as the "key-integrity" check. Details list up
// to maxDetails missing, changed and unexpected keys each.
func (r IntegrityReport) Check() record.Check {
	c := record.Check{Name: "key-integrity", Verdict: record.Pass}
	if !r.OK() {
		c.Verdict = record.Fail
	}
	c.Summary = fmt.Sprintf("%d acknowledged keys present; %d missing, %d changed, %d unexpected",
		r.Present, len(r.Missing), len(r.Changed), len(r.Unexpected))
	if r.UpTo > 0 {
		c.Summary += fmt.Sprintf("; %d lost after snapshot revision %d (RPO)", r.Lost, r.UpTo)
	}
	if r.Indeterminate > 0 {
		c.Summary += fmt.Sprintf("; %d of %d indeterminate writes present", r.IndeterminatePresent, r.Indeterminate)
	}
	c.Details = append(c.Details, capDetails("missing: ", r.Missing)...)
	c.Details = append(c.Details, capDetails("changed: ", r.Changed)...)
	c.Details = append(c.Details, capDetails("unexpected: ", r.Unexpected)...)
	return c
}

// The helpers below are shared by every check in the package; they live
// here to keep members.go under 300 lines.

// mostCommon returns the value that occurs most often, the first seen on
// a tie, so the odd one out in a disagreement is the one marked.
func mostCommon[T comparable](vals []T) T {
	counts := make(map[T]int, len(vals))
	for _, v := range vals {
		counts[v]++
	}
	var best T
	for i, v := range vals {
		if i == 0 || counts[v] > counts[best] {
			best = v
		}
	}
	return best
}

// differs marks an odd value in a detail line.
func differs(b bool) string {
	if b {
		return " (differs)"
	}
	return ""
}

// passed and failed set the verdict and summary of c.
func passed(c record.Check, summary string) record.Check {
	c.Verdict, c.Summary = record.Pass, summary
	return c
}

func failed(c record.Check, summary string) record.Check {
	c.Verdict, c.Summary = record.Fail, summary
	return c
}

// capDetails prefixes each line and keeps the first maxDetails, replacing
// the rest with one "... and N more" line.
func capDetails(prefix string, lines []string) []string {
	n := min(len(lines), maxDetails)
	out := make([]string, 0, n+1)
	for _, l := range lines[:n] {
		out = append(out, prefix+l)
	}
	if rest := len(lines) - n; rest > 0 {
		out = append(out, fmt.Sprintf("... and %d more", rest))
	}
	return out
}
