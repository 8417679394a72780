package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/record"
)

// Chaos bounds.
const (
	// ChaosMinHold and ChaosMaxHold bound how long a fault lasts before
	// its recovery; ChaosCalm is the quiet time between a recovery and the
	// next fault, under load.
	ChaosMinHold = 2 * time.Second
	ChaosMaxHold = 8 * time.Second
	ChaosCalm    = 2 * time.Second
	// ChaosMaxDuration caps --duration.
	ChaosMaxDuration = 24 * time.Hour
)

// ChaosConfig shapes a chaos run.
type ChaosConfig struct {
	// Duration is how long faults are injected; the checks come after.
	Duration time.Duration
	// Seed draws the faults and their durations: the same seed, the
	// same sequence.
	Seed int64
	// Faults names the faults to draw from (ChaosFaults); all when empty.
	Faults []string
}

// chaosFault is one fault chaos can draw, with the recovery that ends it:
// its Undo, or the steps of an operator's procedure when it has none.
type chaosFault struct {
	name    string
	fault   fault.Fault
	recover []drill.Step
}

// chaosMenu is every fault chaos draws from, in a fixed order (the seed
// indexes it).
func chaosMenu() []chaosFault {
	return []chaosFault{
		{name: "kill-leader", fault: fault.Kill(fault.Leader())},
		{name: "kill-follower", fault: fault.Kill(fault.Follower())},
		{name: "pause-leader", fault: fault.Pause(fault.Leader())},
		{name: "partition-leader", fault: fault.Partition(fault.Leader())},
		{name: "partition-follower", fault: fault.Partition(fault.Follower())},
		{name: "slow-links", fault: fault.SlowLinks(fault.Every(), slowDelay, slowJitter)},
		{name: "replace-follower", fault: fault.Destroy(fault.Follower()), recover: []drill.Step{
			{Title: "find the lost member's ID", Do: findLostMember},
			{Title: "remove the lost member from the cluster", Do: removeLostMember},
			{Title: "add the member back under its name", Do: addLostMember(false)},
			{Title: "start it with an empty data dir, joining the existing cluster", Do: startReplacement},
		}},
	}
}

// ChaosFaults names the faults chaos can draw.
func ChaosFaults() []string {
	var out []string
	for _, f := range chaosMenu() {
		out = append(out, f.name)
	}
	return out
}

// Chaos is the scenario of one chaos run: the usual cluster and load,
// then faults drawn at random from the menu for cfg.Duration, each held
// for a few seconds, recovered and followed by a health check, and at the
// end every check a drill makes: members, keys, linearizability, watches.
func Chaos(cfg ChaosConfig) (*drill.Scenario, error) {
	switch {
	case cfg.Duration <= 0:
		return nil, fmt.Errorf("chaos --duration %s: want a positive duration", cfg.Duration)
	case cfg.Duration > ChaosMaxDuration:
		return nil, fmt.Errorf("chaos --duration %s: at most %s", cfg.Duration, ChaosMaxDuration)
	}
	menu := chaosMenu()
	if len(cfg.Faults) > 0 {
		var picked []chaosFault
		for _, n := range cfg.Faults {
			i := slices.IndexFunc(menu, func(f chaosFault) bool { return f.name == n })
			if i < 0 {
				return nil, fmt.Errorf("chaos --faults: unknown fault %q (known: %s)", n, strings.Join(ChaosFaults(), ", "))
			}
			picked = append(picked, menu[i])
		}
		menu = picked
	}
	var also []fault.Fault
	for _, f := range menu {
		also = append(also, f.fault)
	}
	return &drill.Scenario{
		Name:    "chaos",
		Summary: fmt.Sprintf("faults drawn at random for %s under load (%s), each recovered and followed by a health check; then every check", cfg.Duration, names(menu)),
		Labels:  []string{"chaos"},
		Members: 3,
		TLS:     true,
		Also:    also,
		Recover: []drill.Step{
			{Title: fmt.Sprintf("inject faults for %s", cfg.Duration), Do: chaosLoop(cfg, menu)},
			{Title: "stop the load", Do: drill.StopLoad},
		},
		Verify: []drill.Step{{Title: "verify members, keys, linearizability and watches", Do: drill.VerifyAll}},
	}, nil
}

func names(menu []chaosFault) string {
	var out []string
	for _, f := range menu {
		out = append(out, f.name)
	}
	return strings.Join(out, ", ")
}

// chaosLoop draws a fault, injects it, holds it, recovers, waits for the
// cluster to be healthy and writes to be acknowledged again, and rests,
// until the duration is over.
func chaosLoop(cfg ChaosConfig, menu []chaosFault) func(context.Context, *drill.Drill) error {
	return func(ctx context.Context, d *drill.Drill) error {
		next := chaosDraws(cfg.Seed, menu)
		end := time.Now().Add(cfg.Duration)
		for round := 1; time.Now().Before(end); round++ {
			f, hold := next()
			d.Event("chaos", fmt.Sprintf("round %d: %s for %s", round, f.name, hold.Round(100*time.Millisecond)))
			if err := drill.Inject(f.fault).Do(ctx, d); err != nil {
				return fmt.Errorf("round %d: %s: %w", round, f.name, err)
			}
			if err := wait(ctx, hold); err != nil {
				return err
			}
			if err := chaosRecover(ctx, d, f); err != nil {
				return fmt.Errorf("round %d: recover from %s: %w", round, f.name, err)
			}
			since := time.Now()
			if err := d.Log.Do(record.PhaseObserve, fmt.Sprintf("round %d: writes are acknowledged again", round), "", func() (record.Action, error) {
				n, err := d.WaitAcks(ctx, since, 20)
				return record.Action{Output: fmt.Sprintf("%d writes acknowledged after recovering from %s", n, f.name)}, err
			}); err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
			if err := wait(ctx, ChaosCalm); err != nil {
				return err
			}
		}
		return nil
	}
}

// chaosDraws returns the sequence of faults and hold times a seed draws
// from menu: the same seed, the same sequence.
func chaosDraws(seed int64, menu []chaosFault) func() (chaosFault, time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc4a05))
	return func() (chaosFault, time.Duration) {
		f := menu[rng.IntN(len(menu))]
		return f, ChaosMinHold + time.Duration(rng.Int64N(int64(ChaosMaxHold-ChaosMinHold)))
	}
}

// chaosRecover ends a fault: its Undo and a wait for every member to be
// healthy, or its procedure.
func chaosRecover(ctx context.Context, d *drill.Drill, f chaosFault) error {
	if f.recover == nil {
		return drill.RestartVictims(ctx, d)
	}
	for _, st := range append(f.recover, drill.Step{Title: "wait until every member is healthy", Do: waitReplaced}) {
		if err := st.Do(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", st.Title, err)
		}
	}
	return nil
}

// wait holds for d, or until ctx ends: holding a fault for a while is not
// waiting for a state.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
