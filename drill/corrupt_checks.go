package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// CheckDamaged runs etcdrill's own checks on the damaged member before
// recovery and records what they catch. A serving member is compared
// online: HashKV of every member at one revision, and every member's
// keyspace read from itself (serializably) at that revision. A member
// etcd refused is compared offline: its db file, copied out, read without
// etcd, against the keyspace the healthy members serve at the file's
// revision. Checks that find the damaged member diverged are recorded as
// expected failures. The check "corruption-caught" says who caught the
// damage; with requireCatch (a flipped value in the db, which both must
// be able to see) it fails when neither etcd nor etcdrill did.
func CheckDamaged(requireCatch bool) func(ctx context.Context, d *Drill) error {
	return func(ctx context.Context, d *Drill) error {
		m, _ := damaged(d)
		var checks []record.Check
		var err error
		if m.Running(ctx) {
			checks, err = onlineChecks(ctx, d, m)
		} else {
			checks, err = offlineChecks(ctx, d, m)
		}
		if err != nil {
			return err
		}
		st := State[Corrupt](d)
		var how []string
		for i, c := range checks {
			switch {
			case containsName(verify.Diverged(c), m.Name()):
				st.Caught = true
				how = append(how, fmt.Sprintf("etcdrill's %s check did: %s", c.Name, c.Summary))
				checks[i].Verdict = record.Expected
			case !c.Passed():
				checks[i].Verdict, checks[i].Summary = record.NotApplicable, "inconclusive: "+c.Summary
			}
		}
		st.How = strings.Join(how, "; ")
		caught := caughtCheck(d.Cluster.Version(), m.Name(), *st, requireCatch, checks)
		d.AddChecks(append(checks, caught)...)
		d.Event("detect", caught.Summary)
		if !caught.Passed() {
			return errors.New(caught.Summary)
		}
		return nil
	}
}

func containsName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// caughtCheck is "corruption-caught", in plain words: who caught the
// damage to member on etcd v, given what etcd did (st) and etcdrill's
// checks.
func caughtCheck(v harness.Version, member string, st Corrupt, requireCatch bool, checks []record.Check) record.Check {
	c := record.Check{Name: "corruption-caught", Verdict: record.Pass}
	etcd := fmt.Sprintf("etcd %s did not detect the damage to %s", v, member)
	switch st.Detection {
	case Alarmed:
		etcd = fmt.Sprintf("etcd %s raised a CORRUPT alarm", v)
	case Refused:
		etcd = fmt.Sprintf("etcd %s refused to start %s", v, member)
	}
	for _, ch := range checks {
		c.Details = append(c.Details, ch.Name+": "+ch.Summary)
	}
	detected := st.Detection == Refused || st.Detection == Alarmed
	switch {
	case st.Caught && !detected:
		c.Summary = etcd + "; " + st.How
	case st.Caught:
		c.Summary = etcd + "; " + strings.ReplaceAll(st.How, " did: ", " caught it too: ")
	case detected && requireCatch:
		c.Summary = etcd + "; etcdrill's checks did not see the damage"
	case detected:
		c.Summary = etcd + "; etcdrill's checks found the keyspace of " + member + " intact: the damage is outside the db they read"
	default:
		c.Summary = etcd + ", and neither did etcdrill's checks"
		if requireCatch {
			c.Verdict = record.Fail
		}
	}
	return c
}

// onlineChecks compare a serving damaged member with its peers at one
// revision, once every member has reached it.
func onlineChecks(ctx context.Context, d *Drill, m *harness.Member) ([]record.Check, error) {
	c := d.Cluster
	cli, err := c.Client()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	_, ops := damaged(d)
	s, err := c.Status(ctx, cli, ops)
	if err != nil {
		return nil, err
	}
	rev := s.Header.Revision
	var hashes []verify.Hash
	wctx, cancel := context.WithTimeout(ctx, c.Config().Timeouts.CatchUp)
	defer cancel()
	// A member behind rev answers "future revision": wait for it.
	_ = harness.Poll(wctx, 500*time.Millisecond, func(ctx context.Context) error {
		hashes = verify.Hashes(ctx, c, cli, rev)
		for _, h := range hashes {
			if h.Err != "" {
				return errors.New(h.Err)
			}
		}
		return nil
	})
	hk := verify.HashKV(hashes)
	hk.Name = "hashkv-before-recovery"
	// The keyspaces are compared where the damage is sure to show: at the
	// damaged file's revision, at which the flipped value was the newest
	// of its key (a later write may replace it). HashKV covers the history
	// and needs no such care.
	drev := rev
	if f := State[Corrupt](d).File; f.Err == "" && f.Revision > 0 {
		drev = f.Revision
	}
	var ds []verify.MemberDigest
	for _, x := range c.Members() {
		ds = append(ds, memberDigest(ctx, d, x, drev))
	}
	md := verify.MemberDigests(ds)
	md.Name = "member-digest-before-recovery"
	err = d.Log.Do(record.PhaseObserve, fmt.Sprintf("etcdrill's checks: HashKV at revision %d, each member's own keyspace at revision %d", rev, drev), ops.Name(), func() (record.Action, error) {
		return record.Action{
			Command: harness.ShellJoin(c.EtcdctlArgs(c.ClientURLs(), "endpoint", "hashkv", fmt.Sprintf("--rev=%d", rev))) +
				"\n# and on every member, its own keyspace at the damaged file's revision:\n" + digestCommands(d, c.Members(), drev),
			Output: strings.Join(append(hk.Details, md.Details...), "\n"),
		}, nil
	})
	return []record.Check{hk, md}, err
}

// digestCommands are the reads of each member's own keyspace at rev, one
// line each; etcdrill digests what they print.
func digestCommands(d *Drill, ms []*harness.Member, rev int64) string {
	var lines []string
	for _, x := range ms {
		lines = append(lines, harness.ShellJoin(d.Cluster.EtcdctlArgs([]string{x.ClientURL()}, "get", "--from-key", "",
			"--consistency=s", fmt.Sprintf("--rev=%d", rev), "-w", "json"))+"  # keyspace digest of what "+x.Name()+" serves")
	}
	return strings.Join(lines, "\n")
}

// memberDigest reads x's keyspace at rev from x alone.
func memberDigest(ctx context.Context, d *Drill, x *harness.Member, rev int64) verify.MemberDigest {
	cli, err := d.Cluster.Client(x)
	if err != nil {
		return verify.MemberDigest{Name: x.Name(), Revision: rev, Err: err.Error()}
	}
	defer cli.Close()
	return verify.ReadMemberDigest(ctx, cli, x.Name(), rev, d.Config.Timeouts.Request)
}

// readDamagedDB copies the stopped member's db out and reads its
// revision and keyspace digest offline, without etcd, before etcd gets to
// open it: what etcdrill's checks compare the healthy members with.
func readDamagedDB(ctx context.Context, d *Drill, m *harness.Member) error {
	local := m.Name() + "-db"
	st := State[Corrupt](d)
	st.File = verify.MemberDigest{Name: m.Name() + " (db file)"}
	return d.Log.Do(record.PhaseObserve, "read "+m.Name()+"'s db offline before it starts", m.Name(), func() (record.Action, error) {
		a := record.Action{Command: fmt.Sprintf("docker cp %s:%s %s\netcdrill snapshot verify %s --skip-hash-check  # revision and keyspace digest, offline", m.ContainerName(), fault.DBPath, local, local)}
		db, err := m.CopyOut(ctx, fault.DBPath)
		if err != nil {
			return a, err
		}
		f := &st.File
		s, err := recovery.ReadStatus(db)
		if err == nil {
			f.Revision = s.Revision
			f.Digest, f.Keys, err = recovery.ReadKeyspaceDigest(db)
		}
		if err != nil {
			// Damage that makes the file unreadable is a finding too: the
			// digest check reports it.
			f.Err = "read offline: " + err.Error()
			a.Output = fmt.Sprintf("%d bytes; %s", len(db), f.Err)
			return a, nil
		}
		a.Output = fmt.Sprintf("%d bytes: revision %d, %d keys, keyspace digest %s", len(db), f.Revision, f.Keys, f.Digest)
		return a, nil
	})
}

// offlineChecks compare the stopped member's db, read before it started,
// with what each healthy member serves at the file's revision.
func offlineChecks(ctx context.Context, d *Drill, m *harness.Member) ([]record.Check, error) {
	file := State[Corrupt](d).File
	ds := []verify.MemberDigest{file}
	for _, x := range Survivors(d) {
		ds = append(ds, memberDigest(ctx, d, x, file.Revision))
	}
	md := verify.MemberDigests(ds)
	md.Name = "member-digest-before-recovery"
	err := d.Log.Do(record.PhaseObserve, fmt.Sprintf("etcdrill's check: %s's db file against the healthy members at revision %d", m.Name(), file.Revision), "", func() (record.Action, error) {
		return record.Action{
			Command: "# on every healthy member, its own keyspace at the file's revision:\n" + digestCommands(d, Survivors(d), file.Revision),
			Output:  strings.Join(md.Details, "\n"),
		}, nil
	})
	return []record.Check{md}, err
}

// WipeDamaged deletes the damaged member's container and data dir, as
// the operator does before adding it back empty.
func WipeDamaged(ctx context.Context, d *Drill) error {
	m, _ := damaged(d)
	return d.Log.Do(record.PhaseRecovery, "wipe "+m.Name()+"'s damaged data dir", m.Name(), func() (record.Action, error) {
		return record.Action{Command: fmt.Sprintf("docker rm -f %[1]s && docker volume rm %[1]s-data  # systemctl stop etcd; rm -rf %[2]s", m.ContainerName(), harness.DataDir)}, m.Wipe(ctx)
	})
}

// DisarmCorrupt lists the alarms and disarms them when any is raised: a
// CORRUPT alarm stays until disarmed, and the cluster refuses every
// request while it does. The first write acknowledged after the disarm
// ends the outage the alarm began.
func DisarmCorrupt(ctx context.Context, d *Drill) error {
	_, ops := damaged(d)
	c := d.Cluster
	var out string
	if err := d.Log.Do(record.PhaseRecovery, "list the alarms", ops.Name(), func() (record.Action, error) {
		// The damaged member is out of the cluster: ask the others.
		var urls []string
		for _, x := range Survivors(d) {
			urls = append(urls, x.ClientURL())
		}
		a, err := ops.Exec(ctx, c.EtcdctlArgs(urls, "alarm", "list")...)
		out = a.Output
		if strings.TrimSpace(out) == "" {
			a.Output = "(no alarm)"
		}
		return a, err
	}); err != nil {
		return err
	}
	if !strings.Contains(out, "alarm:") {
		return nil
	}
	disarmed := time.Now()
	if err := recovery.DisarmAlarms(ctx, d.Log, c, ops); err != nil {
		return err
	}
	return d.AwaitAck(ctx, "writes are accepted again", disarmed, "after the alarm was disarmed")
}
