package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// SlowLinks delays every packet the target's members send to their peers
// by delay ± jitter (netem on each victim's peer interface, set by a
// sidecar; see harness.Member.StartNetem). Client traffic is not shaped.
// Undo removes the sidecars, and the shaping with them.
func SlowLinks(t Target, delay, jitter time.Duration) Fault {
	return &netem{t: t, kind: "slow-links", n: harness.Netem{Delay: delay, Jitter: jitter}}
}

// LossyLinks drops loss percent (0 to 100) of the packets the target's
// members send to their peers, at random. Undo as SlowLinks.
func LossyLinks(t Target, loss float64) Fault {
	return &netem{t: t, kind: "lossy-links", n: harness.Netem{Loss: loss}}
}

type netem struct {
	t    Target
	kind string
	n    harness.Netem
}

func (f *netem) Name() string   { return f.kind + "-" + targetSlug(f.t) }
func (f *netem) Target() Target { return f.t }

// ClusterOptions: the shaping is of the peer interface alone.
func (f *netem) ClusterOptions() []harness.Option {
	return []harness.Option{harness.WithPeerNetwork()}
}

// Netem is the shaping the fault applies.
func (f *netem) Netem() harness.Netem { return f.n }

// Available refuses figures netem cannot apply, then asks the target.
func (f *netem) Available(env Env) error {
	if err := CheckNetem(f.n); err != nil {
		return err
	}
	return f.t.Available(env)
}

// targetSlug is t's name fit for a fault name: "every-member".
func targetSlug(t Target) string { return strings.ReplaceAll(t.Name(), " ", "-") }

// CheckNetem says why n is not a shaping netem can apply, or nil.
func CheckNetem(n harness.Netem) error {
	switch {
	case n == (harness.Netem{}):
		return errors.New("netem: no delay and no loss: nothing to inject")
	case n.Delay < 0 || n.Jitter < 0:
		return fmt.Errorf("netem: negative delay %s or jitter %s", n.Delay, n.Jitter)
	case n.Jitter > n.Delay:
		return fmt.Errorf("netem: jitter %s larger than the delay %s", n.Jitter, n.Delay)
	case n.Loss < 0 || n.Loss > 100:
		return fmt.Errorf("netem: loss %g%%: want 0 to 100", n.Loss)
	}
	return nil
}

// Inject starts one sidecar per victim and returns once every victim's
// peer interface is shaped. It costs no availability by itself, so the
// injection's At is zero. A victim that fails leaves the ones already
// shaped to Undo, which the returned injection carries.
func (f *netem) Inject(ctx context.Context, c *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := f.t.Pick(ctx, c)
	if err != nil {
		return Injection{}, err
	}
	var shaped []*harness.Shaping
	undo := func(ctx context.Context) error {
		var errs []error
		for _, sh := range shaped {
			errs = append(errs, log.Do(record.PhaseRecovery, "remove the netem sidecar of "+sh.Member().Name(), sh.Member().Name(), func() (record.Action, error) {
				return sh.Stop(ctx)
			}))
		}
		shaped = nil
		return errors.Join(errs...)
	}
	for _, m := range ms {
		err := log.Do(record.PhaseFault, fmt.Sprintf("%s on %s's peer link", f.n, m.Name()), m.Name(), func() (record.Action, error) {
			sh, err := m.StartNetem(ctx, f.n, c.Members())
			if sh == nil {
				return record.Action{}, err
			}
			if err == nil {
				shaped = append(shaped, sh)
			}
			return sh.Started, err
		})
		if err != nil {
			return Injection{Victims: ms, Undo: undo}, err
		}
	}
	return Injection{Victims: ms, Undo: undo}, nil
}
