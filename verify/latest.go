package verify

import (
	"fmt"
	"slices"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
)

// Latest is the "overwritten-keys" check for keys written many times,
// such as the keys a quota drill overwrites to bloat the history (the
// workload ledger's keys are written once; see Integrity). For each key
// in writes, the observed value must be the last acknowledged one (the
// highest revision), or the value of an indeterminate write that started
// after it, which may have landed later. A key with no acknowledged write
// may be absent. A value from an older or a refused write is stale; a
// key in observed that writes never touched is unexpected. observed holds
// only the overwritten keys (read them by their prefix).
func Latest(writes []workload.Write, observed []KV) record.Check {
	c := record.Check{Name: "overwritten-keys"}
	got := make(map[string]string, len(observed))
	for _, kv := range observed {
		got[string(kv.Key)] = workload.ValueDigest(kv.Value)
	}
	byKey := map[string][]workload.Write{}
	var keys []string
	for _, w := range writes {
		if _, ok := byKey[w.Key]; !ok {
			keys = append(keys, w.Key)
		}
		byKey[w.Key] = append(byKey[w.Key], w)
	}
	slices.Sort(keys)
	var ok int
	var missing, stale, unexpected []string
	for _, k := range keys {
		allowed, last := latestAllowed(byKey[k])
		d, present := got[k]
		switch {
		case !present && last == nil:
			ok++
		case !present:
			missing = append(missing, fmt.Sprintf("%s: last acknowledged at revision %d", k, last.Revision))
		case allowed[d]:
			ok++
		default:
			stale = append(stale, fmt.Sprintf("%s: holds %s, %s", k, short(d), whose(byKey[k], d, last)))
		}
	}
	for k := range got {
		if _, ok := byKey[k]; !ok {
			unexpected = append(unexpected, k+": never written")
		}
	}
	slices.Sort(unexpected)
	c.Details = append(c.Details, capDetails("missing: ", missing)...)
	c.Details = append(c.Details, capDetails("stale: ", stale)...)
	c.Details = append(c.Details, capDetails("unexpected: ", unexpected)...)
	summary := fmt.Sprintf("%d of %d overwritten keys hold their last acknowledged value (%d writes); %d missing, %d stale, %d unexpected",
		ok, len(keys), len(writes), len(missing), len(stale), len(unexpected))
	if len(keys) == 0 || len(missing)+len(stale)+len(unexpected) > 0 {
		if len(keys) == 0 {
			summary = "no overwrite in the ledger"
		}
		return failed(c, summary)
	}
	return passed(c, summary)
}

// latestAllowed returns the digests a key may hold and its last
// acknowledged write (nil when none was acknowledged).
func latestAllowed(ws []workload.Write) (map[string]bool, *workload.Write) {
	var last *workload.Write
	for i, w := range ws {
		if w.Outcome == workload.Acknowledged && (last == nil || w.Revision > last.Revision) {
			last = &ws[i]
		}
	}
	allowed := map[string]bool{}
	if last != nil {
		allowed[last.Digest] = true
	}
	for _, w := range ws {
		if w.Outcome == workload.Indeterminate && (last == nil || w.Start.After(last.Start)) {
			allowed[w.Digest] = true
		}
	}
	return allowed, last
}

// whose says which write a wrong value came from.
func whose(ws []workload.Write, digest string, last *workload.Write) string {
	want := "nothing acknowledged"
	if last != nil {
		want = fmt.Sprintf("want %s from revision %d", short(last.Digest), last.Revision)
	}
	for _, w := range ws {
		if w.Digest != digest {
			continue
		}
		switch w.Outcome {
		case workload.Acknowledged:
			return fmt.Sprintf("the value of revision %d; %s", w.Revision, want)
		case workload.Failed:
			return "the value of a refused write; " + want
		default:
			return "the value of an indeterminate write older than the last acknowledged one; " + want
		}
	}
	return "a value never written; " + want
}
