package recovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// ListMembers records `etcdctl member list -w json` on m as one step and
// picks a member out of it with pick, whose note is shown above the
// output.
func ListMembers(ctx context.Context, log *record.Log, phase record.Phase, title string, m *harness.Member, pick func([]Member) (Member, string, error)) (Member, error) {
	var got Member
	err := log.Do(phase, title, m.Name(), func() (record.Action, error) {
		e, err := m.Etcdctl(ctx, "member", "list", "--write-out=json")
		if err != nil {
			return e, err
		}
		ms, err := ParseMemberList(e.Output)
		if err != nil {
			return e, err
		}
		p, note, err := pick(ms)
		if err != nil {
			return e, err
		}
		got = p
		e.Output = note + "\n" + e.Output
		return e, nil
	})
	return got, err
}

// RemoveMember runs `etcdctl member remove <hex id>` on m; what names the
// member removed in the step's title.
func RemoveMember(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, what string, id uint64) error {
	return log.Do(record.PhaseRecovery, "remove "+what+" ("+HexID(id)+")", m.Name(), func() (record.Action, error) {
		e, _, err := reconfigure(ctx, c, m, removed(id), "member", "remove", HexID(id))
		return e, err
	})
}

// AddMember runs `etcdctl member add name [--learner] --peer-urls=url` on
// m as one step in phase (a mistaken add is a fault), and parses what it
// printed.
func AddMember(ctx context.Context, log *record.Log, phase record.Phase, title string, c *harness.Cluster, m *harness.Member, name, url string, learner bool) (Added, error) {
	args := []string{"member", "add", name}
	if learner {
		args = append(args, "--learner")
	}
	args = append(args, "--peer-urls="+url)
	var a Added
	err := log.Do(phase, title, m.Name(), func() (record.Action, error) {
		e, list, err := reconfigure(ctx, c, m, added(url), args...)
		if err != nil {
			return e, err
		}
		if list != nil {
			a, err = AddedFromList(list, name, url)
			return e, err
		}
		a, err = ParseMemberAdd(e.Output)
		return e, err
	})
	return a, err
}

// removed is in effect once no member has ID id.
func removed(id uint64) func([]Member) bool {
	return func(ms []Member) bool {
		return !slices.ContainsFunc(ms, func(m Member) bool { return m.ID == id })
	}
}

// added is in effect once one member has peer URL url.
func added(url string) func([]Member) bool {
	return func(ms []Member) bool {
		_, err := FindByPeerURL(ms, url)
		return err == nil
	}
}

// reconfigure runs a membership change with etcdctl on m, retrying the
// two answers that do not settle it, within the election budget:
//   - "unhealthy cluster": etcd refuses the change until the member asked
//     has been connected to its peers for 5 s (right after a restart, say);
//   - a timeout (etcdctl's "context deadline exceeded", or etcd's "request
//     timed out"): etcd may or may not have applied the change (a proposal
//     slow to commit, or one raft dropped), so reconfigure reads `member
//     list` on m. When done says the change is in effect, the step passes
//     on that list, which reconfigure returns; otherwise it tries again.
//     After a timeout, any error of a later try ("member not found",
//     "peerURL exists", "raft proposal dropped") is settled by the list
//     the same way.
//
// Every attempt is noted in the recorded output; the list is nil when
// etcdctl itself reported the change.
func reconfigure(ctx context.Context, c *harness.Cluster, m *harness.Member, done func([]Member) bool, args ...string) (record.Action, []Member, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Config().Timeouts.Election)
	defer cancel()
	var (
		e       record.Action
		notes   []string
		list    []Member
		unknown bool // a try timed out: its outcome is for member list to tell
	)
	attempts := 0
	err := harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) error {
		attempts++
		var err error
		e, err = m.Etcdctl(ctx, args...)
		if err == nil {
			return nil
		}
		unknown = unknown || timedOut(e.Output)
		switch {
		case strings.Contains(e.Output, Unhealthy):
			notes = append(notes, fmt.Sprintf("attempt %d: etcd answered %q", attempts, Unhealthy))
			return err
		case !unknown:
			return harness.Permanent(err)
		}
		notes = append(notes, fmt.Sprintf("attempt %d: %s; etcd may have applied it, so member list tells", attempts, lastLine(e.Output)))
		l, lerr := m.Etcdctl(ctx, "member", "list", "--write-out=json")
		if lerr != nil {
			notes = append(notes, "member list: "+lastLine(l.Output))
			return err
		}
		ms, lerr := ParseMemberList(l.Output)
		if lerr != nil {
			notes = append(notes, lerr.Error())
			return err
		}
		if !done(ms) {
			notes = append(notes, "member list: not applied; trying again")
			return err
		}
		notes = append(notes, "member list: applied")
		list = ms
		e = record.Action{Command: e.Command + "\n" + l.Command, Output: l.Output, Exit: l.Exit}
		return nil
	})
	if len(notes) > 0 {
		e.Output = strings.Join(notes, "\n") + "\n" + e.Output
	}
	if err != nil {
		return e, nil, fmt.Errorf("%s on %s: %w", strings.Join(args[:2], " "), m.Name(), err)
	}
	return e, list, nil
}

// PromoteLearner polls `member promote <id>` on m until etcd accepts it:
// etcd refuses while the learner's log is behind the leader's, and that
// refusal is the only one retried, within the catch-up budget. The
// recorded step is the accepted attempt, with how many it took.
func PromoteLearner(ctx context.Context, log *record.Log, c *harness.Cluster, m *harness.Member, name string, id uint64) error {
	hex := HexID(id)
	return log.Do(record.PhaseRecovery, "promote "+name+" ("+hex+") to a voting member", m.Name(), func() (record.Action, error) {
		ctx, cancel := context.WithTimeout(ctx, harness.Budget(ctx, c.Config().Timeouts.CatchUp))
		defer cancel()
		start := time.Now()
		var e record.Action
		attempts, refused := 0, ""
		err := harness.Poll(ctx, 250*time.Millisecond, func(ctx context.Context) error {
			attempts++
			var err error
			e, err = m.Etcdctl(ctx, "member", "promote", hex)
			if err == nil {
				return nil
			}
			if !strings.Contains(e.Output, LearnerNotReady) {
				return harness.Permanent(err)
			}
			refused = lastLine(e.Output)
			return err
		})
		note := fmt.Sprintf("accepted on attempt %d, %s after the first attempt", attempts, time.Since(start).Round(time.Millisecond))
		if attempts > 1 {
			note += fmt.Sprintf("; etcd refused the %d before it: %s", attempts-1, refused)
		}
		if err != nil {
			return e, fmt.Errorf("promote %s on %s after %d attempts: %w", name, m.Name(), attempts, err)
		}
		e.Output = note + "\n" + e.Output
		return e, nil
	})
}

// lastLine is the last non-empty line of out, trimmed.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// OnlyUnhealthy checks `endpoint health` output: n endpoints reported,
// want the only unhealthy one.
func OnlyUnhealthy(out, want string, n int) error {
	hs := ParseEndpointHealth(out)
	var bad []string
	for _, h := range hs {
		if !h.Healthy {
			bad = append(bad, h.Endpoint)
		}
	}
	if len(hs) != n || len(bad) != 1 || bad[0] != want {
		return fmt.Errorf("endpoint health: want %s alone unhealthy among %d endpoints, got %d endpoints, unhealthy %v", want, n, len(hs), bad)
	}
	return nil
}
