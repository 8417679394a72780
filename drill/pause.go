package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// ResumeReadWindow is how long, from the unpause, the resumed old leader
// is read in a tight loop: the stale-read window of etcd issue 20418 is
// the time the old leader takes to learn it was deposed, well under a
// second.
const ResumeReadWindow = 3 * time.Second

// ResumeReadTimeout bounds one read of the resumed old leader.
const ResumeReadTimeout = time.Second

// WriteOnNewLeader marks the pause on the timeline and, while the old
// leader is frozen, has the majority overwrite the probe key.
func WriteOnNewLeader(ctx context.Context, d *Drill) error {
	frozen := State[Outage](d).Victims
	markFault(d, "pause", names(frozen)+" frozen")
	key := probeKey(d)
	p := State[ProbeKey](d)
	alive := Survivors(d)
	return d.Log.Do(record.PhaseObserve, "the new leader takes a write while the old one is frozen", alive[0].Name(), func() (record.Action, error) {
		act := record.Action{Command: harness.ShellJoin(d.Cluster.EtcdctlArgs(urlsOf(alive), "put", key, "while-the-old-leader-was-frozen"))}
		cli, err := d.Cluster.Client(alive...)
		if err != nil {
			return act, err
		}
		defer cli.Close()
		w := probePut(ctx, cli, names(alive), key, "while-the-old-leader-was-frozen", d.Config.Timeouts.Request)
		act.Output = w.String()
		if !w.OK() {
			return act, errors.New(w.Err)
		}
		p.History.Add(w)
		p.Newest = w
		return act, nil
	})
}

// ResumeAndRead unpauses the old leader (the fault's undo) while reads of
// the probe key, each sent to the old leader only and linearizable, are
// already in flight, and keeps reading in a tight loop for
// ResumeReadWindow; right after the unpause it also sends the old leader
// a write. No read may be stale; the write is checked in VerifyPause.
func ResumeAndRead(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if o.Undo == nil {
		return errors.New("nothing to resume: the last fault cannot be undone")
	}
	old := o.Victims[0]
	key := probeKey(d)
	p := State[ProbeKey](d)
	var check record.Check
	err := d.Log.Do(record.PhaseObserve, "the resumed old leader serves no stale read", old.Name(), func() (record.Action, error) {
		act := record.Action{Command: fmt.Sprintf("docker unpause %s & while :; do %s; done  # for %s",
			old.ContainerName(), etcdctlOn(d.Cluster, old, "--command-timeout="+ResumeReadTimeout.String(), "get", key), ResumeReadWindow)}
		cli, err := d.Cluster.Client(old)
		if err != nil {
			return act, err
		}
		defer cli.Close()
		frozen := time.Since(o.FaultAt)
		var mu sync.Mutex
		var reads []verify.Access
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				a := probeGet(ctx, cli, old.Name(), key, false, ResumeReadTimeout)
				p.History.Add(a)
				mu.Lock()
				reads = append(reads, a)
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
			}
		})
		err = o.Undo(ctx)
		resumed := time.Now()
		var w verify.Access
		if err == nil {
			d.Event("resume", fmt.Sprintf("%s resumed after %s frozen", old.Name(), frozen.Round(time.Millisecond)))
			w = probePut(ctx, cli, old.Name(), key+"/to-the-resumed-leader", "sent-right-after-resume", ResumeReadTimeout)
			p.History.Add(w)
			State[resumeWrite](d).Access = w
			t := time.NewTimer(time.Until(resumed.Add(ResumeReadWindow)))
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		close(stop)
		wg.Wait()
		if err != nil {
			return act, err
		}
		check = verify.StaleReads(p.History.Accesses()).Check("stale-read")
		act.Output = fmt.Sprintf("%s was frozen for %s (etcd's default election timeout: 1s)\n", old.Name(), frozen.Round(time.Millisecond)) +
			readsSummary(p, reads, resumed) + "\nwrite right after the unpause: " + w.String()
		return act, CheckErr(check)
	})
	if check.Name != "" {
		d.AddChecks(check)
	}
	return err
}

// resumeWrite is the write sent to the old leader right after it resumed.
type resumeWrite struct{ verify.Access }

// readsSummary counts the reads of the resumed old leader and lists the
// first few, timed from the unpause.
func readsSummary(p *ProbeKey, reads []verify.Access, resumed time.Time) string {
	stale := map[time.Time]bool{}
	for _, s := range verify.StaleReads(p.History.Accesses()).Stale {
		stale[s.Read.Call] = true
	}
	var failed, nstale int
	var sample []string
	for _, a := range reads {
		if !a.OK() {
			failed++
		}
		if stale[a.Call] {
			nstale++
		}
		if len(sample) < 6 {
			sample = append(sample, fmt.Sprintf("%+.3fs %s", a.Call.Sub(resumed).Seconds(), a))
		}
	}
	return fmt.Sprintf("%d linearizable reads, the first %s before the unpause, the last %s after: %d answered, %d failed or timed out, %d stale\nfirst reads (time from the unpause):\n%s",
		len(reads), firstBefore(reads, resumed), ResumeReadWindow, len(reads)-failed, failed, nstale, strings.Join(sample, "\n"))
}

func firstBefore(reads []verify.Access, resumed time.Time) time.Duration {
	if len(reads) == 0 || !reads[0].Call.Before(resumed) {
		return 0
	}
	return resumed.Sub(reads[0].Call).Round(time.Millisecond)
}

// WaitHealthyAfterResume waits until every member, the resumed one among
// them, is healthy with one leader.
func WaitHealthyAfterResume(ctx context.Context, d *Drill) error {
	return recovery.WaitHealthy(ctx, d.Log, d.Cluster, State[Outage](d).Victims[0])
}

// VerifyPause is VerifyProbe plus the write sent to the resumed old
// leader: when it was acknowledged, it must be in the cluster at the
// revision acknowledged (an acknowledgement from the old term would be
// lost); when not, it proves nothing and passes.
func VerifyPause(ctx context.Context, d *Drill) error {
	w := State[resumeWrite](d).Access
	var after verify.Access
	if w.OK() && w.Key != "" {
		cli, err := d.Cluster.Client()
		if err != nil {
			return err
		}
		after = probeGet(ctx, cli, "any", w.Key, false, d.Config.Timeouts.Request)
		cli.Close()
	}
	return VerifyWith(ctx, d, resumedWriteCheck(w, after), verify.StaleReads(State[ProbeKey](d).History.Accesses()).Check("stale-read-all"))
}

// resumedWriteCheck judges the write sent to the resumed old leader by
// what a linearizable read of its key returned after recovery.
func resumedWriteCheck(w, after verify.Access) record.Check {
	c := record.Check{Name: "resumed-leader-write", Verdict: record.Pass}
	switch {
	case w.Key == "":
		c.Verdict, c.Summary = record.Fail, "no write was sent to the resumed old leader"
	case !w.OK():
		c.Summary = "not acknowledged: " + w.Err
	case after.OK() && after.Value == w.Value && after.Revision == w.Revision:
		c.Summary = fmt.Sprintf("acknowledged at revision %d and present at it after recovery: committed in the new term", w.Revision)
	default:
		c.Verdict, c.Summary = record.Fail, fmt.Sprintf("acknowledged at revision %d but after recovery: %s", w.Revision, after)
	}
	return c
}
