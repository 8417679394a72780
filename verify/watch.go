package verify

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// Change is one acknowledged change to a key, as the writer learned it:
// the revision it committed at and the cluster that acknowledged it.
type Change struct {
	Key      string
	Revision int64
	Cluster  uint64
	Delete   bool
	// Value is the HashValue of a put's value; 0 when the writer kept
	// only a digest, and then only the revision is compared.
	Value uint64
}

// Changes lists the acknowledged changes in a history: puts, CAS that
// held, and deletes that deleted a key.
func Changes(ops []workload.Op) []Change {
	var out []Change
	for _, o := range ops {
		if o.Outcome != workload.Acknowledged || !o.Write() || (o.Kind == workload.OpCAS || o.Kind == workload.OpDel) && !o.Found {
			continue
		}
		c := Change{Key: o.Key, Revision: o.Revision, Cluster: o.Cluster, Delete: o.Kind == workload.OpDel}
		if !c.Delete {
			c.Value = o.Value
		}
		out = append(out, c)
	}
	return out
}

// WatchOptions tunes CheckWatches.
type WatchOptions struct {
	// CompactedThrough gives, per cluster ID, a revision at or below
	// which the cluster must refuse to resume a watch as compacted: the
	// revision compacted, or the revision a restore with
	// --mark-compacted marked so. A session that resumes from at or below
	// it and is not refused is a defect: an informer would miss the
	// rollback.
	CompactedThrough map[uint64]int64
}

// CheckWatches checks what the watchers saw against the acknowledged
// changes:
//   - within a session, events are ordered by revision with no duplicate;
//   - no gap: every acknowledged change under the session's prefix, in the
//     same cluster, from the session's start up to the last revision it
//     saw, is in the session, with its value;
//   - every acknowledged change at or below the last revision the watchers
//     saw in its cluster is in some session;
//   - a resume from a compacted revision is refused as compacted.
func CheckWatches(sessions []workload.WatchSession, changes []Change, opts WatchOptions) record.Check {
	c := record.Check{Name: "watch", Verdict: record.Pass}
	var bad []string
	events := 0
	type at struct {
		cluster uint64
		key     string
		rev     int64
	}
	seen := map[at]bool{}
	high := map[uint64]int64{} // per cluster, the highest revision watched
	byCluster := map[uint64][]Change{}
	for _, ch := range changes {
		byCluster[ch.Cluster] = append(byCluster[ch.Cluster], ch)
	}
	for _, cs := range byCluster {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Revision < cs[j].Revision })
	}
	for _, s := range sessions {
		name := fmt.Sprintf("watcher %d session from revision %d", s.Watcher, s.From)
		events += len(s.Events)
		if through, ok := opts.CompactedThrough[s.Cluster]; ok && s.From > 0 && s.From <= through && s.Compacted == 0 {
			bad = append(bad, fmt.Sprintf("%s: resumed at or below compacted revision %d of cluster %x without a compaction error (%d events served)",
				name, through, s.Cluster, len(s.Events)))
		}
		last := int64(0)
		dup := map[at]bool{}
		got := map[at]workload.WatchEvent{}
		for i, e := range s.Events {
			k := at{s.Cluster, e.Key, e.Revision}
			switch {
			case e.Revision < last:
				bad = append(bad, fmt.Sprintf("%s: event %d (%s at revision %d) after revision %d: out of order", name, i, e.Key, e.Revision, last))
			case dup[k]:
				bad = append(bad, fmt.Sprintf("%s: event %d (%s at revision %d) delivered twice", name, i, e.Key, e.Revision))
			}
			dup[k], got[k], seen[k] = true, e, true
			last = max(last, e.Revision)
		}
		top := max(last, s.Progress)
		high[s.Cluster] = max(high[s.Cluster], top)
		if s.Compacted > 0 || s.From == 0 {
			continue
		}
		for _, ch := range byCluster[s.Cluster] {
			if ch.Revision < s.From || ch.Revision > top || !strings.HasPrefix(ch.Key, s.Prefix) {
				continue
			}
			e, ok := got[at{s.Cluster, ch.Key, ch.Revision}]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s: missing the change of %s at revision %d (the session saw up to %d)", name, ch.Key, ch.Revision, top))
			case e.Delete != ch.Delete || ch.Value != 0 && e.Value != ch.Value:
				bad = append(bad, fmt.Sprintf("%s: the change of %s at revision %d arrived with another value or type", name, ch.Key, ch.Revision))
			}
		}
	}
	// Coverage: a change no session delivered, at or below what the
	// watchers of its cluster reached, and not in a hole a refused resume
	// left (the watcher relisted past it, as an informer does).
	// Changes before the first session of their cluster began were made
	// before anyone watched.
	holes := compactedHoles(sessions)
	first := map[uint64]int64{}
	for _, s := range sessions {
		if f, ok := first[s.Cluster]; s.From > 0 && (!ok || s.From < f) {
			first[s.Cluster] = s.From
		}
	}
	missed := 0
	for cl, cs := range byCluster {
		for _, ch := range cs {
			if ch.Revision <= high[cl] && ch.Revision >= first[cl] && !seen[at{cl, ch.Key, ch.Revision}] && watched(sessions, ch.Key) && !inHole(holes, ch.Revision) {
				if missed < maxDetails {
					bad = append(bad, fmt.Sprintf("the change of %s at revision %d (cluster %x) reached no watcher", ch.Key, ch.Revision, cl))
				}
				missed++
			}
		}
	}
	notes := reusedRevisions(sessions, byCluster)
	if len(bad) > 0 {
		c.Verdict = record.Fail
		c.Summary = fmt.Sprintf("%d watch defects in %d sessions: %s", len(bad), len(sessions), bad[0])
		if len(bad) > maxDetails {
			bad = append(bad[:maxDetails], fmt.Sprintf("… and %d more", len(bad)-maxDetails))
		}
		c.Details = append(bad, notes...)
		return c
	}
	c.Summary = fmt.Sprintf("%d sessions delivered %d events in order, without duplicates or gaps, covering every acknowledged change they reached", len(sessions), events)
	if len(notes) > 0 {
		c.Summary += "; but " + notes[0]
	}
	c.Details = notes
	return c
}

// reusedRevisions notes each watcher that resumed on a new cluster (a
// restore) from a revision past changes that cluster then made: the
// restored cluster reused those revisions, and the watcher, not told to
// relist, silently missed them. A restore without --bump-revision and
// --mark-compacted does this to every informer; etcd behaves as
// documented, so it is said, not failed.
func reusedRevisions(sessions []workload.WatchSession, byCluster map[uint64][]Change) []string {
	var notes []string
	// A cluster after the first that no session heard from: the
	// watchers resumed past all its revisions and heard nothing.
	heard := map[uint64]bool{}
	var firstCluster uint64
	var firstStart time.Time
	for _, s := range sessions {
		heard[s.Cluster] = true
		if s.Cluster != 0 && (firstStart.IsZero() || s.Start.Before(firstStart)) {
			firstCluster, firstStart = s.Cluster, s.Start
		}
	}
	for _, cl := range slices.Sorted(maps.Keys(byCluster)) {
		if n := countPrefixed(byCluster[cl], sessions); cl != 0 && cl != firstCluster && !heard[cl] && len(sessions) > 0 && n > 0 {
			notes = append(notes, fmt.Sprintf("no watcher heard from the restored cluster %x, which acknowledged %d changes: the watchers resumed past its reused revisions and were never told to relist (restore with --bump-revision and --mark-compacted to make watchers relist)", cl, n))
		}
	}
	prev := map[int]uint64{}
	for _, s := range sessions {
		if s.Cluster == 0 {
			continue // no cluster answered it: it tells nothing
		}
		p, ok := prev[s.Watcher]
		prev[s.Watcher] = s.Cluster
		if !ok || p == s.Cluster || s.Compacted > 0 || s.From == 0 {
			continue
		}
		missed := 0
		for _, ch := range byCluster[s.Cluster] {
			if ch.Revision < s.From && strings.HasPrefix(ch.Key, s.Prefix) {
				missed++
			}
		}
		if missed > 0 {
			notes = append(notes, fmt.Sprintf("watcher %d resumed on the restored cluster %x from revision %d, past %d changes the restored cluster made at lower, reused revisions: it never saw them and was not told to relist (restore with --bump-revision and --mark-compacted to make watchers relist)",
				s.Watcher, s.Cluster, s.From, missed))
		}
	}
	return notes
}

func watched(sessions []workload.WatchSession, key string) bool {
	for _, s := range sessions {
		if strings.HasPrefix(key, s.Prefix) {
			return true
		}
	}
	return false
}

// compactedHoles are the revisions a watcher skipped by relisting after a
// resume was refused as compacted: from the refused revision to just
// before where the next session started.
func compactedHoles(sessions []workload.WatchSession) [][2]int64 {
	var holes [][2]int64
	for i, s := range sessions {
		if s.Compacted == 0 {
			continue
		}
		end := int64(1<<63 - 1)
		if i+1 < len(sessions) && sessions[i+1].Watcher == s.Watcher && sessions[i+1].From > 0 {
			end = sessions[i+1].From - 1
		}
		holes = append(holes, [2]int64{s.From, end})
	}
	return holes
}

func inHole(holes [][2]int64, rev int64) bool {
	for _, h := range holes {
		if rev >= h[0] && rev <= h[1] {
			return true
		}
	}
	return false
}

// countPrefixed counts the changes under some session's prefix.
func countPrefixed(cs []Change, sessions []workload.WatchSession) int {
	n := 0
	for _, ch := range cs {
		if watched(sessions, ch.Key) {
			n++
		}
	}
	return n
}
