package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// MemberDigest is one member's keyspace digest at one revision, read from
// that member alone (a serializable read, which it answers from its own
// store without asking the leader), or offline from its db file.
type MemberDigest struct {
	// Name names the member and, when not read online, how: "m3 (db
	// file)".
	Name     string
	Revision int64
	Digest   string
	Keys     int
	// Err is non-empty when the keyspace could not be read.
	Err string
}

// memberDigestPage is how many keys one serializable range asks for.
const memberDigestPage = 1000

// ReadMemberDigest reads the whole keyspace at rev from the one member
// cli talks to, page by page, serializably, and digests it as Digest
// does. Each page is bounded by timeout. Memory holds one page.
func ReadMemberDigest(ctx context.Context, cli *clientv3.Client, name string, rev int64, timeout time.Duration) MemberDigest {
	md := MemberDigest{Name: name, Revision: rev}
	var d Digester
	start := "\x00"
	for {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := cli.Get(rctx, start, clientv3.WithRange("\x00"), clientv3.WithRev(rev),
			clientv3.WithSerializable(), clientv3.WithLimit(memberDigestPage))
		cancel()
		if err != nil {
			md.Err = fmt.Sprintf("serializable read at revision %d from %q: %v", rev, start, err)
			return md
		}
		for _, kv := range resp.Kvs {
			d.Add(kv.Key, kv.Value)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if err := d.Err(); err != nil {
		md.Err = err.Error()
		return md
	}
	md.Digest, md.Keys = d.Sum()
	return md
}

// MemberDigests is the "member-digest" check: every member's keyspace,
// read from the member itself at one revision, is the same. A member
// whose digest differs from the most common one has diverged: it serves
// data its peers do not have. Details show every member's digest. Any
// member not read, or read at another revision, fails the check too, so
// it never passes on fewer members than it was given; an empty list
// fails.
func MemberDigests(ds []MemberDigest) record.Check {
	c := record.Check{Name: "member-digest"}
	if len(ds) == 0 {
		return failed(c, "no member's keyspace read")
	}
	var revs []int64
	var sums []string
	for _, d := range ds {
		if d.Err == "" {
			revs, sums = append(revs, d.Revision), append(sums, d.Digest)
		}
	}
	rev, sum := mostCommon(revs), mostCommon(sums)
	var errs, oddRev, odd, agree []string
	for _, d := range ds {
		if d.Err != "" {
			errs = append(errs, d.Name)
			c.Details = append(c.Details, d.Name+": "+d.Err)
			continue
		}
		line := fmt.Sprintf("%s revision=%d keys=%d digest=%s", d.Name, d.Revision, d.Keys, d.Digest)
		switch {
		case d.Revision != rev:
			oddRev = append(oddRev, d.Name)
			line += " (revision differs)"
		case d.Digest != sum:
			odd = append(odd, d.Name)
			line += " (differs)"
		default:
			agree = append(agree, d.Name)
		}
		c.Details = append(c.Details, line)
	}
	switch {
	case len(odd) > 0:
		// Said first: a diverged member is the finding, even when another
		// member could not be read.
		return failed(c, fmt.Sprintf("%s serves a different keyspace at revision %d than %s", strings.Join(odd, ", "), rev, strings.Join(agree, ", ")))
	case len(errs) > 0:
		return failed(c, "keyspace not read from "+strings.Join(errs, ", "))
	case len(oddRev) > 0:
		return failed(c, fmt.Sprintf("keyspaces read at different revisions: %s not at %d", strings.Join(oddRev, ", "), rev))
	}
	return passed(c, fmt.Sprintf("%d members serve the same %d keys at revision %d (digest %s)", len(ds), ds[0].Keys, rev, shortDigest(sum)))
}

// Diverged names the members a failed MemberDigests or HashKV check found
// different from the rest (its Details lines marked "(differs)").
func Diverged(c record.Check) []string {
	var out []string
	for _, l := range c.Details {
		if strings.HasSuffix(l, " (differs)") {
			name, _, _ := strings.Cut(l, " ")
			out = append(out, name)
		}
	}
	return slices.Compact(out)
}

func shortDigest(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
