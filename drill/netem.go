package drill

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/workload"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// How long each window of a peer-link drill measures the load. A window
// is time under load, not a wait for a state: it ends when its time is up.
const (
	// LinkBaseline is the window before the fault.
	LinkBaseline = 5 * time.Second
	// LinkDuring is the window with the links degraded.
	LinkDuring = 15 * time.Second
	// LinkAfter is the window after the links are healed.
	LinkAfter = 5 * time.Second
	// leaderSample is how often a window asks every member who leads.
	leaderSample = 250 * time.Millisecond
)

// LinkWindow is the load and the leadership seen in one window.
type LinkWindow struct {
	Name                          string
	From, To                      time.Time
	Acked, Failed, Indeterminate  int
	P50, P99                      time.Duration
	Leaders                       []string // each leader in turn, as the samples saw them
	TermFrom, TermTo              uint64   // the highest raft term at the window's start and end
	Samples, SamplesWithoutLeader int
}

// LeaderChanges counts the elections the window saw: the raft term's
// increase, which also counts elections no sample caught.
func (w LinkWindow) LeaderChanges() int {
	if w.TermTo > w.TermFrom {
		return int(w.TermTo - w.TermFrom)
	}
	return 0
}

// PeerLinks is what a peer-link drill measured, kept with State.
type PeerLinks struct{ Windows []LinkWindow }

// MeasureLinks is the step that measures the load for dur as window name.
func MeasureLinks(name string, dur time.Duration) Step {
	return Step{"measure write latency and leadership " + name, func(ctx context.Context, d *Drill) error {
		return d.Log.Do(record.PhaseObserve, fmt.Sprintf("measure write latency and leadership %s (%s)", name, dur), "", func() (record.Action, error) {
			w, err := measure(ctx, d, name, dur)
			if err != nil {
				return record.Action{}, err
			}
			pl := State[PeerLinks](d)
			pl.Windows = append(pl.Windows, w)
			d.Event("observe", fmt.Sprintf("%s: p50 %s, p99 %s, %d elections", name, w.P50, w.P99, w.LeaderChanges()))
			return record.Action{Output: windowRow(w)}, nil
		})
	}}
}

// measure samples every member's status every leaderSample for dur, then
// reads the writes of the load that ended within the window.
func measure(ctx context.Context, d *Drill, name string, dur time.Duration) (LinkWindow, error) {
	w := LinkWindow{Name: name, From: time.Now()}
	cli, err := d.Cluster.Client()
	if err != nil {
		return w, err
	}
	defer cli.Close()
	tick := time.NewTicker(leaderSample)
	defer tick.Stop()
	end := time.NewTimer(dur)
	defer end.Stop()
	for first := true; ; first = false {
		leader, term := sampleLeader(ctx, d, cli)
		w.Samples++
		if leader == "" {
			w.SamplesWithoutLeader++
		} else if len(w.Leaders) == 0 || w.Leaders[len(w.Leaders)-1] != leader {
			w.Leaders = append(w.Leaders, leader)
		}
		if first || term < w.TermFrom && term > 0 {
			w.TermFrom = term
		}
		w.TermTo = max(w.TermTo, term)
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-end.C:
			w.To = time.Now()
			fillWindow(&w, d.Ledger.Writes())
			return w, nil
		case <-tick.C:
		}
	}
}

// sampleLeader asks every member for its status once, within the request
// budget, and returns the leader's name ("" when none answered as one)
// and the highest term any member reported.
func sampleLeader(ctx context.Context, d *Drill, cli *clientv3.Client) (string, uint64) {
	ctx, cancel := context.WithTimeout(ctx, d.Config.Timeouts.Request)
	defer cancel()
	var term uint64
	leader := ""
	for _, m := range d.Cluster.Members() {
		st, err := d.Cluster.Status(ctx, cli, m)
		if err != nil || st.Header == nil {
			continue
		}
		term = max(term, st.RaftTerm)
		if st.Leader == st.Header.MemberId {
			leader = m.Name()
		}
	}
	return leader, term
}

// fillWindow counts the writes that ended within w and the latency
// percentiles of the acknowledged ones.
func fillWindow(w *LinkWindow, writes []workload.Write) {
	var lat []time.Duration
	for _, x := range writes {
		if x.End.Before(w.From) || !x.End.Before(w.To) {
			continue
		}
		switch x.Outcome {
		case workload.Acknowledged:
			w.Acked++
			lat = append(lat, x.End.Sub(x.Start))
		case workload.Failed:
			w.Failed++
		default:
			w.Indeterminate++
		}
	}
	w.P50, w.P99 = Percentile(lat, 0.50), Percentile(lat, 0.99)
}

// Percentile is the nearest-rank percentile p (0 to 1) of xs; 0 for none.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func windowRow(w LinkWindow) string {
	leaders := strings.Join(w.Leaders, "→")
	if leaders == "" {
		leaders = "none"
	}
	return fmt.Sprintf("%-8s | %6d acked | %4d failed | %4d indeterminate | p50 %8s | p99 %8s | %d elections (term %d→%d) | leaders %s | %d of %d samples without a leader",
		w.Name, w.Acked, w.Failed, w.Indeterminate, w.P50.Round(100*time.Microsecond), w.P99.Round(100*time.Microsecond),
		w.LeaderChanges(), w.TermFrom, w.TermTo, leaders, w.SamplesWithoutLeader, w.Samples)
}

// LinkEffect is what a peer-link drill expects its windows to show.
type LinkEffect struct {
	// AddedP50 is the least the median write latency must grow by while
	// the links are degraded; 0 expects no particular growth.
	AddedP50 time.Duration
	// AddedP99 is the same for the 99th percentile: packet loss shows
	// in the tail, as TCP retransmits (200 ms at the least on Linux).
	AddedP99 time.Duration
}

// LinkCheck is the "peer-links" check: the windows before, during and
// after, in that order. It fails when a window is missing, when the
// cluster acknowledged no write while degraded or after (it must stay
// available: a slow or lossy link costs latency, not quorum), when no
// write was measured before, or when the median did not grow by AddedP50
// or the 99th percentile by AddedP99: a fault that did nothing proves
// nothing.
func LinkCheck(ws []LinkWindow, want LinkEffect) record.Check {
	c := record.Check{Name: "peer-links", Verdict: record.Pass}
	for _, w := range ws {
		c.Details = append(c.Details, windowRow(w))
	}
	if len(ws) != 3 {
		c.Verdict, c.Summary = record.Fail, fmt.Sprintf("%d windows measured, want before, during and after", len(ws))
		return c
	}
	before, during, after := ws[0], ws[1], ws[2]
	var problems []string
	if before.Acked == 0 {
		problems = append(problems, "no write acknowledged before the fault")
	}
	if during.Acked == 0 {
		problems = append(problems, "no write acknowledged while the links were degraded")
	}
	if after.Acked == 0 {
		problems = append(problems, "no write acknowledged after the links were healed")
	}
	if added := during.P50 - before.P50; want.AddedP50 > 0 && added < want.AddedP50 {
		problems = append(problems, fmt.Sprintf("median write latency grew by %s while degraded, want at least %s: the fault did not act", added.Round(time.Millisecond), want.AddedP50))
	}
	if added := during.P99 - before.P99; want.AddedP99 > 0 && added < want.AddedP99 {
		problems = append(problems, fmt.Sprintf("99th percentile write latency grew by %s while degraded, want at least %s: the fault did not act", added.Round(time.Millisecond), want.AddedP99))
	}
	c.Summary = fmt.Sprintf("write latency p50/p99 before %s/%s, during %s/%s, after %s/%s; %d elections during, %d after",
		ms(before.P50), ms(before.P99), ms(during.P50), ms(during.P99), ms(after.P50), ms(after.P99), during.LeaderChanges(), after.LeaderChanges())
	if len(problems) > 0 {
		c.Verdict = record.Fail
		c.Summary = strings.Join(problems, "; ") + " (" + c.Summary + ")"
	}
	return c
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

// HealLinks undoes the last fault (removes its netem sidecars).
func HealLinks(ctx context.Context, d *Drill) error {
	o := State[Outage](d)
	if o.Undo == nil {
		return fmt.Errorf("nothing to heal: the last fault cannot be undone")
	}
	err := o.Undo(ctx)
	d.Event("recovery", "peer links healed")
	return err
}

// VerifyLinks checks the windows against want, then members and keys.
func VerifyLinks(want LinkEffect) Step {
	return Step{"verify latency, members and keys", func(ctx context.Context, d *Drill) error {
		return VerifyWith(ctx, d, LinkCheck(State[PeerLinks](d).Windows, want))
	}}
}
