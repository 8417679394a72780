package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// restore restores the file into every member with a new token and
// starts them. A member that exits ends the wait at once (a version that
// cannot serve the file stops within a second), and its log says why.
func (s *snapVerify) restore(ctx context.Context) error {
	var extra []string
	if s.o.SkipHashCheck {
		extra = append(extra, "--skip-hash-check")
	}
	if s.o.BumpRevision > 0 {
		extra = append(extra, fmt.Sprintf("--bump-revision=%d", s.o.BumpRevision), "--mark-compacted")
	}
	wctx, exited := watchExits(ctx, s.c)
	err := recovery.RestoreCluster(wctx, s.log, s.c, s.file.Snapshot(), recovery.NewToken(s.c.Token()), extra...)
	names := exited()
	if err == nil {
		s.check("served", nil, fmt.Sprintf("etcd %s started from the file on %s", s.v, strings.Join(memberNames(s.c), ", ")))
		return nil
	}
	why := err.Error()
	if len(names) > 0 {
		names = s.stopped(ctx, names)
		why = fmt.Sprintf("etcd stopped on %s: %s", strings.Join(names, ", "), s.serverReason(ctx, names))
	}
	s.why = fmt.Sprintf("etcd %s does not serve this snapshot: %s", s.v, why)
	s.check("served", errors.New(s.why), "")
	return err
}

// stopped gives the other members up to the request timeout to stop too
// (they were started later than the first to exit), then names every
// member that is not running.
func (s *snapVerify) stopped(ctx context.Context, first []string) []string {
	pctx, cancel := context.WithTimeout(ctx, s.o.Timeouts.Request)
	defer cancel()
	names := first
	harness.Poll(pctx, 100*time.Millisecond, func(ctx context.Context) error {
		names = slices.Clone(first)
		for _, m := range s.c.Members() {
			if !slices.Contains(names, m.Name()) && !m.Running(ctx) {
				names = append(names, m.Name())
			}
		}
		if len(names) < len(s.c.Members()) {
			return fmt.Errorf("%d of %d members stopped", len(names), len(s.c.Members()))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// watchExits returns a context that is cancelled once every member of c
// runs in a new container (created after this call) and one of them has
// exited; exited stops the watch and names the members that exited.
func watchExits(ctx context.Context, c *harness.Cluster) (context.Context, func() []string) {
	dc := c.Docker()
	old := map[string]string{}
	for _, m := range c.Members() {
		if r, err := dc.ContainerInspect(ctx, m.ContainerName(), client.ContainerInspectOptions{}); err == nil {
			old[m.Name()] = r.Container.ID
		}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	var names []string
	var wg sync.WaitGroup
	wg.Go(func() {
		harness.Poll(wctx, 250*time.Millisecond, func(ctx context.Context) error {
			var down []string
			for _, m := range c.Members() {
				r, err := dc.ContainerInspect(ctx, m.ContainerName(), client.ContainerInspectOptions{})
				if err != nil || r.Container.ID == old[m.Name()] || r.Container.State == nil || r.Container.State.Status == container.StateCreated {
					return errors.New("restored members not all started yet")
				}
				if r.Container.State.Status == container.StateExited {
					down = append(down, m.Name())
				}
			}
			if len(down) == 0 {
				return errors.New("no restored member exited")
			}
			names = down
			cancel(fmt.Errorf("etcd exited on %s", strings.Join(down, ", ")))
			return nil
		})
	})
	return wctx, func() []string {
		cancel(nil)
		wg.Wait()
		sort.Strings(names)
		return names
	}
}

// serverReason records the error lines of each exited member's log as a
// step and returns the reason the first one gives.
func (s *snapVerify) serverReason(ctx context.Context, names []string) string {
	reason := ""
	for _, name := range names {
		m := s.c.Member(name)
		s.log.Do(record.PhaseObserve, "why etcd "+s.v.String()+" stopped on "+name, name, func() (record.Action, error) {
			a := record.Action{Command: "docker logs " + m.ContainerName() + "  # journalctl -u etcd"}
			logs, err := m.Logs(ctx)
			if err != nil {
				return a, err
			}
			var lines []string
			for _, l := range strings.Split(logs, "\n") {
				if strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"level":"fatal"`) || strings.Contains(l, `"level":"panic"`) {
					if i := strings.Index(l, `,"stacktrace"`); i > 0 {
						l = l[:i] + "}"
					}
					lines = append(lines, l)
				}
			}
			r := recovery.ServerReason(logs)
			if reason == "" {
				reason = r
			}
			a.Output = strings.Join(lines, "\n") + "\n# " + r
			return a, nil
		})
	}
	return reason
}

// verifyServed checks the restored cluster: the keyspace against the
// file, the revision, the members, and with MarkCompacted old revisions.
func (s *snapVerify) verifyServed(ctx context.Context) error {
	c, m := s.c, s.c.Members()[0]
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	var kvs []verify.KV
	var rev int64
	err = s.log.Do(record.PhaseVerify, "read the whole keyspace", m.Name(), func() (record.Action, error) {
		e, err := m.Exec(ctx, c.EtcdctlArgs([]string{m.ClientURL()}, "get", "", "--from-key", "--count-only", "--write-out=fields")...)
		if err != nil {
			return e, err
		}
		if kvs, rev, err = verify.Keyspace(ctx, cli, "", s.o.Timeouts.Command); err != nil {
			return e, err
		}
		s.rec.Metrics.Digest, s.rec.Metrics.KeyCount = verify.Digest(kvs)
		e.Output += fmt.Sprintf("# keyspace digest (every key and value, read with the Go client): %d keys, sha256 %s", s.rec.Metrics.KeyCount, s.rec.Metrics.Digest)
		return e, nil
	})
	if err != nil {
		return err
	}
	if st := s.file.Status; st != nil {
		var kerr, rerr error
		if len(kvs) != st.TotalKey {
			kerr = fmt.Errorf("the cluster serves %d keys, the file holds %d", len(kvs), st.TotalKey)
		}
		s.check("key-count", kerr, fmt.Sprintf("%d keys served, as in the file; digest %s", len(kvs), s.rec.Metrics.Digest))
		want, how := st.Revision+int64(s.o.BumpRevision), "at least"
		if s.o.BumpRevision == 0 {
			how = "exactly"
		}
		if rev < want || (s.o.BumpRevision == 0 && rev != want) {
			rerr = fmt.Errorf("revision %d after the restore, want %s %d (file %d + bump %d)", rev, how, want, st.Revision, s.o.BumpRevision)
		}
		s.check("revision", rerr, fmt.Sprintf("revision %d after the restore: %s %d (file %d + bump %d)", rev, how, want, st.Revision, s.o.BumpRevision))
		if s.o.MarkCompacted {
			key := "/"
			if len(kvs) > 0 {
				key = string(kvs[0].Key)
			}
			s.compacted(ctx, cli, m, key, st.Revision)
		}
	}
	s.rec.Checks = append(s.rec.Checks, verify.Cluster(ctx, c, verify.Expected(c))...)
	s.rec.After = verify.State(ctx, c, "after the restore")
	s.rec.Metrics.ClusterIDAfter = s.rec.After.ClusterID
	return nil
}

// compacted checks that reading and watching the file's revision are
// refused as compacted, as --mark-compacted promises: a Kubernetes
// informer that resumes from an old revision must relist, not miss
// events. The typed client error decides; etcdctl shows the operator.
func (s *snapVerify) compacted(ctx context.Context, cli *clientv3.Client, m *harness.Member, key string, old int64) {
	t := s.o.Timeouts.Request
	rctx, cancel := context.WithTimeout(ctx, t)
	_, gerr := cli.Get(rctx, key, clientv3.WithRev(old))
	cancel()
	s.refusedAsCompacted(ctx, "compacted-read", fmt.Sprintf("reading revision %d is refused as compacted", old), m, gerr,
		"get", key, fmt.Sprintf("--rev=%d", old))
	wctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	werr := fmt.Errorf("watch from revision %d: no response within %s", old, t)
	if resp, ok := <-cli.Watch(clientv3.WithRequireLeader(wctx), key, clientv3.WithRev(old)); ok {
		werr = resp.Err()
	}
	s.refusedAsCompacted(ctx, "compacted-watch", fmt.Sprintf("watching from revision %d is refused as compacted", old), m, werr,
		"watch", key, fmt.Sprintf("--rev=%d", old))
}

// refusedAsCompacted records a check that passes when clientErr is
// rpctypes.ErrCompacted, and the etcdctl command that shows it as a step.
// etcdctl runs only when the client saw the refusal: a watch that is not
// refused would block until the command timeout.
func (s *snapVerify) refusedAsCompacted(ctx context.Context, name, title string, m *harness.Member, clientErr error, args ...string) {
	if !errors.Is(clientErr, rpctypes.ErrCompacted) {
		s.check(name, fmt.Errorf("%s: want %q, got %v", title, rpctypes.ErrCompacted, clientErr), "")
		return
	}
	s.check(name, nil, fmt.Sprintf("%s: %v", title, clientErr))
	s.log.Refused(record.PhaseVerify, title, m.Name(), func() (record.Action, error) {
		return m.Etcdctl(ctx, args...)
	})
}
