package snapverify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// verifyServed checks the restored cluster: the keyspace against the
// file (its size and its digest), the revision, the members, and with
// MarkCompacted old revisions. A failed check fails the verdict; the
// steps go on, so the report shows every check.
func (v *verification) verifyServed(ctx context.Context, d *drill.Drill) error {
	c, m := d.Cluster, d.Cluster.Members()[0]
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	met := &d.Record.Metrics
	var rev int64
	var first []byte
	var fc *verify.SourceCompare
	if v.file.Status != nil {
		fc = verify.NewSourceCompare(ctx, v.file)
		defer fc.Stop()
	}
	err = d.Log.Do(record.PhaseVerify, "read the whole keyspace", m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, c.EtcdctlArgs([]string{m.ClientURL()}, "get", "", "--from-key", "--count-only", "--write-out=fields")...)
		if err != nil {
			return e, err
		}
		// Paginated at one revision, streamed into the digest and the
		// key-by-key comparison with the file: memory stays bounded
		// whatever the snapshot's size.
		start := time.Now()
		var dig verify.Digester
		var bytes int64
		rev, err = verify.Scan(ctx, cli, "", verify.ScanOptions{PageTimeout: d.Config.Timeouts.Command}, func(kv verify.KV) error {
			if first == nil {
				first = append([]byte(nil), kv.Key...)
			}
			bytes += int64(len(kv.Key) + len(kv.Value))
			dig.Add(kv.Key, kv.Value)
			if fc != nil {
				fc.Observe(kv.Key, kv.Value)
			}
			return nil
		})
		if err != nil {
			return e, err
		}
		met.Digest, met.KeyCount = dig.Sum()
		met.KeysAfter = met.KeyCount
		el := time.Since(start)
		e.Output += fmt.Sprintf("# keyspace digest (every key and value, read with the Go client, paginated at revision %d): %d keys, %.1f MB in %s, sha256 %s",
			rev, met.KeyCount, float64(bytes)/1e6, el.Round(time.Millisecond), met.Digest)
		return e, nil
	})
	if err != nil {
		return err
	}
	if st := v.file.Status; st != nil {
		var kerr error
		if met.KeyCount != st.TotalKey {
			kerr = fmt.Errorf("the cluster serves %d keys, the file holds %d", met.KeyCount, st.TotalKey)
		}
		check(d, "key-count", kerr, fmt.Sprintf("%d keys served, as in the file", met.KeyCount))
		d.AddChecks(digestCheck(v.file.Digest, v.file.KeyCount, met.Digest, met.KeyCount))
		d.AddChecks(fc.Check("file-keys"))
		d.AddChecks(revisionCheck(rev, st.Revision, v.o.BumpRevision))
		if v.o.MarkCompacted {
			key := "/"
			if first != nil {
				key = string(first)
			}
			compacted(ctx, d, cli, m, key, st.Revision)
		}
	}
	d.AddChecks(verify.Cluster(ctx, c, verify.Expected(c))...)
	d.Record.After = verify.State(ctx, c, "after the restore")
	met.ClusterIDAfter = d.Record.After.ClusterID
	return nil
}

// digestCheck compares the keyspace the restored cluster serves with the
// one read offline from the file: every key and its value, not only how
// many there are. A restore with --bump-revision and --mark-compacted
// moves revisions, not keys or values, so the digests match then too.
func digestCheck(fileDigest string, fileKeys int, servedDigest string, servedKeys int) record.Check {
	c := record.Check{Name: "keyspace-digest", Verdict: record.Pass,
		Summary: fmt.Sprintf("the cluster serves the file's keys and values: %d keys, sha256 %s; read offline from the file: %d keys, sha256 %s",
			servedKeys, servedDigest, fileKeys, fileDigest)}
	if servedDigest != fileDigest || servedKeys != fileKeys {
		c.Verdict = record.Fail
		c.Summary = fmt.Sprintf("the cluster serves another keyspace than the file holds: served %d keys, sha256 %s; read offline from the file: %d keys, sha256 %s",
			servedKeys, servedDigest, fileKeys, fileDigest)
	}
	return c
}

// revisionCheck checks the revision after the restore: the file's
// exactly, or with a bump at least the file's plus the bump.
func revisionCheck(rev, file int64, bump uint64) record.Check {
	want, how := file+int64(bump), "at least"
	if bump == 0 {
		how = "exactly"
	}
	c := record.Check{Name: "revision", Verdict: record.Pass,
		Summary: fmt.Sprintf("revision %d after the restore: %s %d (file %d + bump %d)", rev, how, want, file, bump)}
	if rev < want || (bump == 0 && rev != want) {
		c.Verdict = record.Fail
		c.Summary = fmt.Sprintf("revision %d after the restore, want %s %d (file %d + bump %d)", rev, how, want, file, bump)
	}
	return c
}

// compacted checks that reading and watching the file's revision are
// refused as compacted, as --mark-compacted promises: a Kubernetes
// informer that resumes from an old revision must relist, not miss
// events. The typed client error decides; etcdctl shows the operator.
func compacted(ctx context.Context, d *drill.Drill, cli *clientv3.Client, m *harness.Member, key string, old int64) {
	t := d.Config.Timeouts.Request
	rctx, cancel := context.WithTimeout(ctx, t)
	_, gerr := cli.Get(rctx, key, clientv3.WithRev(old))
	cancel()
	refusedAsCompacted(ctx, d, "compacted-read", fmt.Sprintf("reading revision %d is refused as compacted", old), m, gerr,
		"get", key, fmt.Sprintf("--rev=%d", old))
	wctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	werr := fmt.Errorf("watch from revision %d: no response within %s", old, t)
	if resp, ok := <-cli.Watch(clientv3.WithRequireLeader(wctx), key, clientv3.WithRev(old)); ok {
		werr = resp.Err()
	}
	refusedAsCompacted(ctx, d, "compacted-watch", fmt.Sprintf("watching from revision %d is refused as compacted", old), m, werr,
		"watch", key, fmt.Sprintf("--rev=%d", old))
}

// refusedAsCompacted records a check that passes when clientErr is
// rpctypes.ErrCompacted, and the etcdctl command that shows it as a step.
// etcdctl runs only when the client saw the refusal: a watch that is not
// refused would block until the command timeout. A step whose etcdctl is
// not refused as compacted fails on its own, and with it the verdict.
func refusedAsCompacted(ctx context.Context, d *drill.Drill, name, title string, m *harness.Member, clientErr error, args ...string) {
	if !errors.Is(clientErr, rpctypes.ErrCompacted) {
		check(d, name, fmt.Errorf("%s: want %q, got %v", title, rpctypes.ErrCompacted, clientErr), "")
		return
	}
	check(d, name, nil, fmt.Sprintf("%s: %v", title, clientErr))
	d.Log.Refused(record.PhaseVerify, title, m.Name(), recovery.Compacted(), func() (record.Action, error) {
		return m.Etcdctl(ctx, args...)
	})
}
