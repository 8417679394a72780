package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// MemberReplaceLearner is member-replace the safer way (seed 002's
// procedure with the learner step etcd recommends since 3.4): the lost
// member is added back with `member add --learner`, so it does not count
// toward quorum while its empty data dir catches up, and is promoted with
// `member promote` once etcd says it is in sync.
var MemberReplaceLearner = register(&Scenario{
	Name:    "member-replace-learner",
	Summary: "a follower loses its data dir; member remove, member add --learner, start it empty, member promote once in sync; it rejoins with a new ID",
	Seeds:   []string{"002", "004"},
	Labels:  []string{"fault", "membership", "learner"},
	Members: 3,
	TLS:     true,
	Steps: append(replaceUntilRemoved(),
		Step{"add the member back as a learner", addLostLearner},
		Step{"start it with an empty data dir, joining the existing cluster", startReplacement},
		Step{"promote the learner once it is in sync", promoteLearner},
		Step{"wait until every member is healthy", waitReplaced},
		Step{"the replaced member takes writes", writeMore},
		Step{"stop the load", stopLoad},
		Step{"verify members, keys and the new member ID", verifyReplaced},
	),
})

func addLostLearner(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	a, err := addMember(ctx, d, record.PhaseRecovery, "add "+st.lost.Name()+" back as a learner", st.ops, st.lost.Name(), st.lost.PeerURL(), true)
	st.added = a
	return err
}

// promoteLearner polls `member promote` until etcd accepts it: etcd
// refuses while the learner's log is behind the leader's, and that refusal
// is the only one retried, within the catch-up budget. The recorded step
// is the accepted attempt, with how many it took.
func promoteLearner(ctx context.Context, d *Drill) error {
	st := State[replaceState](d)
	id := recovery.HexID(st.added.ID)
	return d.Log.Do(record.PhaseRecovery, "promote "+st.lost.Name()+" ("+id+") to a voting member", st.ops.Name(), func() (record.Action, error) {
		ctx, cancel := context.WithTimeout(ctx, d.timeouts().CatchUp)
		defer cancel()
		start := time.Now()
		var e record.Action
		attempts, refused := 0, ""
		err := harness.Poll(ctx, 250*time.Millisecond, func(ctx context.Context) error {
			attempts++
			var err error
			e, err = st.ops.Etcdctl(ctx, "member", "promote", id)
			if err == nil {
				return nil
			}
			if !strings.Contains(e.Output, recovery.LearnerNotReady) {
				return harness.Permanent(err)
			}
			refused = lastOutputLine(e.Output)
			return err
		})
		note := fmt.Sprintf("accepted on attempt %d, %s after the first attempt", attempts, time.Since(start).Round(time.Millisecond))
		if attempts > 1 {
			note += fmt.Sprintf("; etcd refused the %d before it: %s", attempts-1, refused)
		}
		if err != nil {
			return e, fmt.Errorf("promote %s on %s after %d attempts: %w", st.lost.Name(), st.ops.Name(), attempts, err)
		}
		e.Output = note + "\n" + e.Output
		return e, nil
	})
}

// lastOutputLine is the last non-empty line of out, trimmed.
func lastOutputLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
