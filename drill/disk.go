package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/workload"
)

// DiskReaction bounds how long a full disk is watched for etcd's
// reaction (a crash, or a write through the member refused); a member
// that does neither within it is recorded as having kept serving.
const DiskReaction = 60 * time.Second

// diskProbe is how often the watch looks.
const diskProbe = 500 * time.Millisecond

// DiskBehaviour is what etcd did when its data file system filled up.
type DiskBehaviour struct {
	Version   string
	Member    string
	WasLeader bool
	// Crashed: the member's process exited; ExitCode and CrashLine (the
	// log line that names the cause) say how, After how long.
	Crashed   bool
	ExitCode  int
	CrashLine string
	// WriteRefused is the error of a write through the member, when one
	// was refused while it still ran.
	WriteRefused string
	// Reads says whether the member still served a serializable read
	// after the reaction ("" when it was not running to ask).
	Reads string
	// After is the time from the full disk to the reaction; Watched is
	// how long the watch lasted.
	After, Watched time.Duration
	// ClusterAcked counts the load's writes the cluster acknowledged
	// while the disk was full.
	ClusterAcked int
}

// Reaction says in words what etcd did.
func (b DiskBehaviour) Reaction() string {
	switch {
	case b.Crashed:
		when := b.After.Round(10*time.Millisecond).String() + " after the disk filled"
		if b.After <= 0 {
			when = "as the disk filled"
		}
		s := fmt.Sprintf("crashed %s (exit code %d)", when, b.ExitCode)
		if b.CrashLine != "" {
			s += ": " + b.CrashLine
		}
		return s
	case b.WriteRefused != "":
		return fmt.Sprintf("kept running but refused a write %s after the disk filled: %s", b.After.Round(10*time.Millisecond), b.WriteRefused)
	default:
		return fmt.Sprintf("kept running and accepting writes for the %s watched", b.Watched.Round(time.Second))
	}
}

// DiskCheck is the "full-disk" check: it states plainly what etcd did,
// and fails when the cluster stopped acknowledging writes while one
// member's disk was full (the others hold a quorum: one full disk must
// not cost availability).
func DiskCheck(b DiskBehaviour) record.Check {
	role := "follower"
	if b.WasLeader {
		role = "leader"
	}
	c := record.Check{Name: "full-disk", Verdict: record.Pass,
		Summary: fmt.Sprintf("etcd %s on %s (%s), data file system full: %s", b.Version, b.Member, role, b.Reaction())}
	if b.Reads != "" {
		c.Summary += "; serializable reads on it: " + b.Reads
	}
	c.Summary += fmt.Sprintf("; the cluster acknowledged %d writes while the disk was full", b.ClusterAcked)
	if b.ClusterAcked == 0 {
		c.Verdict = record.Fail
		c.Summary = "the cluster acknowledged no write while one member's disk was full (" + c.Summary + ")"
	}
	return c
}

// diskState is what the full-disk steps share.
type diskState struct {
	behaviour DiskBehaviour
	done      bool
}

// ObserveFullDisk watches the first victim of the last fault (a full
// disk) until etcd reacts or DiskReaction passes, then records what it
// did, with its exit code and log line or the refused write, whether it
// still serves reads, and whether the cluster kept acknowledging writes.
func ObserveFullDisk(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if len(o.Victims) == 0 {
		return fmt.Errorf("no member's disk was filled")
	}
	m := o.Victims[0]
	b := &State[diskState](d).behaviour
	*b = DiskBehaviour{Version: d.Config.Version.String(), Member: m.Name()}
	if err := d.Log.Do(record.PhaseObserve, "watch "+m.Name()+" with a full disk until etcd reacts", m.Name(), func() (record.Action, error) {
		return watchFullDisk(ctx, d, m, o.FaultAt, b)
	}); err != nil {
		return err
	}
	if !b.Crashed {
		b.Reads = "refused"
		if err := d.Log.Do(record.PhaseObserve, m.Name()+" still serves a serializable read", m.Name(), func() (record.Action, error) {
			return m.Etcdctl(ctx, "get", "--consistency=s", "--limit=1", "--keys-only", d.Config.Load.Prefix, "--prefix")
		}); err == nil {
			b.Reads = "served"
		}
	}
	b.ClusterAcked = d.Ledger.AckedSince(o.FaultAt)
	d.Event("observe", m.Name()+": "+b.Reaction())
	State[diskState](d).done = true
	return d.Log.Do(record.PhaseObserve, "the other members keep acknowledging writes", "", func() (record.Action, error) {
		n, err := d.WaitAcks(ctx, o.FaultAt, 1)
		return record.Action{Output: fmt.Sprintf("%d writes acknowledged since the disk filled", n)}, err
	})
}

// watchFullDisk polls the member: has its process exited, is a write
// through it refused? It returns at the first reaction, or after
// DiskReaction with none.
func watchFullDisk(ctx context.Context, d *Drill, m *harness.Member, full time.Time, b *DiskBehaviour) (record.Action, error) {
	a := record.Action{Command: fmt.Sprintf("docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' %s  # every %s, and a put through %s", m.ContainerName(), diskProbe, m.Name())}
	if l, err := d.Cluster.Leader(ctx); err == nil && l == m {
		b.WasLeader = true
	}
	cli, err := d.Cluster.Client(m)
	if err != nil {
		return a, err
	}
	defer cli.Close()
	wctx, cancel := context.WithTimeout(ctx, DiskReaction)
	defer cancel()
	var l workload.Ledger
	i := 0
	err = harness.Poll(wctx, diskProbe, func(ctx context.Context) error {
		st, err := m.State(ctx)
		if err != nil {
			return harness.Permanent(err)
		}
		if !st.Running {
			b.Crashed, b.ExitCode = true, st.ExitCode
			b.After = time.Since(full)
			if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil {
				b.After = max(t.Sub(full), 0) // 0: it died while dd was still filling
			}
			return nil
		}
		i++
		w, err := workload.Put(ctx, cli, &l, d.Config.Timeouts.Request, fmt.Sprintf("/etcdrill-probe/full-disk/%d", i), []byte("probe"))
		if err != nil && w.Outcome == workload.Failed {
			b.WriteRefused, b.After = err.Error(), time.Since(full)
			return nil
		}
		return fmt.Errorf("%s still running and accepting writes", m.Name())
	})
	b.Watched = time.Since(full)
	// Only the watch's own budget running out means "no reaction"; the
	// drill's deadline or a failed inspect is an error.
	if err != nil && (wctx.Err() == nil || ctx.Err() != nil) {
		return a, err
	}
	if b.Crashed {
		logs, _ := m.Logs(ctx)
		b.CrashLine = crashLine(logs)
	}
	a.Output = fmt.Sprintf("etcd %s on %s: %s", b.Version, m.Name(), b.Reaction())
	return a, nil
}

// crashLine picks the log line that says why etcd stopped: the last one
// naming ENOSPC, else the last fatal or panic line, else the last line;
// etcd's JSON log lines are shortened to level, message, error and
// caller, and anything longer than 400 bytes is cut.
func crashLine(logs string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	pick := ""
	for _, want := range []string{"no space left on device", "\"level\":\"fatal\"", "panic"} {
		for i := len(lines) - 1; i >= 0 && pick == ""; i-- {
			if strings.Contains(lines[i], want) {
				pick = lines[i]
			}
		}
		if pick != "" {
			break
		}
	}
	if pick == "" && len(lines) > 0 {
		pick = lines[len(lines)-1]
	}
	pick = strings.TrimSpace(pick)
	var z struct{ Level, Caller, Msg, Error string }
	if json.Unmarshal([]byte(pick), &z) == nil && z.Msg != "" {
		pick = fmt.Sprintf("%s %q", z.Level, z.Msg)
		if z.Error != "" {
			pick += ": " + z.Error
		}
		if z.Caller != "" {
			pick += " (" + z.Caller + ")"
		}
	}
	if len(pick) > 400 {
		pick = pick[:400] + "…"
	}
	return pick
}

// FreeDisk undoes the full disk (remove the fill file, start etcd again
// if it stopped) and waits until every member is healthy.
func FreeDisk(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if o.Undo == nil {
		return fmt.Errorf("nothing to free: the last fault cannot be undone")
	}
	if err := o.Undo(ctx); err != nil {
		return err
	}
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, o.Victims[0])
}

// VerifyDisk records what etcd did with the full disk, then checks
// members and keys.
func VerifyDisk(ctx context.Context, d *Drill) error {
	b, err := DiskObserved(d)
	if err != nil {
		return err
	}
	return VerifyWith(ctx, d, DiskCheck(b))
}

// DiskObserved is what ObserveFullDisk recorded, or an error when it did
// not run.
func DiskObserved(d *Drill) (DiskBehaviour, error) {
	st := State[diskState](d)
	if !st.done {
		return DiskBehaviour{}, fmt.Errorf("the full disk was not observed")
	}
	return st.behaviour, nil
}
