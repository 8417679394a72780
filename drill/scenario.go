package drill

import (
	"context"
	"fmt"
	"slices"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Scenario is one catalogue entry: what a drill breaks and how it
// recovers, declared as data. The engine runs the common prologue (start
// the cluster, enable auth when asked, write under load), then Prepare,
// injects Fault, then Observe, Recover and Verify, in that order; the
// first error ends the drill.
type Scenario struct {
	Name    string
	Summary string
	// Seeds are the runbooks in shared/seeds the drill follows.
	Seeds []string
	// Labels select scenarios in Ginkgo (--label-filter) and the CLI.
	Labels []string
	// Members is the default cluster size.
	Members int
	// TLS is the default for client and peer certificates.
	TLS bool
	// Auth is the default for etcd auth (root user and a role).
	Auth bool
	// AlsoWithAuth adds an auth-on variant to `run --all` and the suite.
	AlsoWithAuth bool
	// MinMinor and MaxMinor bound the etcd 3.x minor versions the drill
	// applies to; 0 means unbounded. VersionNote says why; it is the
	// reason a drill reports when it does not apply.
	MinMinor, MaxMinor int
	VersionNote        string
	// MinMembers and MaxMembers bound the cluster sizes the procedure
	// works on, beyond what the faults need (Available); 0 means
	// unbounded.
	MinMembers, MaxMembers int
	// ClusterOptions are appended to the harness options the engine builds
	// from the Config and the faults' needs (fault.Needs), so they win,
	// e.g. harness.WithQuota.
	ClusterOptions []harness.Option

	// Prepare runs after the load starts and before the fault: a
	// precautionary snapshot, say.
	Prepare []Step
	// Fault is the failure the drill recovers from; nil when the drill
	// has none of its own (the engine then injects nothing).
	Fault fault.Fault
	// Also are further faults the steps inject themselves with Inject;
	// they are listed and checked for availability like Fault.
	Also []fault.Fault
	// Observe shows the cluster failing as the scenario expects.
	Observe []Step
	// Recover is the operator's procedure.
	Recover []Step
	// RunbookBefore and RunbookAfter run around an operator's runbook
	// when one replaces Recover (Config.Runbook): read-only notes the
	// checks compare against before it (the lost member's ID, database
	// sizes), and the engine's own steps after it (a probe write, the
	// load stopped). With neither set, the load is stopped after it.
	RunbookBefore, RunbookAfter []Step
	// Verify checks members and keys; it should end with VerifyAll, VerifyWith or a
	// step that calls it.
	Verify []Step
}

// Step is one titled action of a drill, written as a runbook line.
type Step struct {
	Title string
	Do    func(ctx context.Context, d *Drill) error
}

// Steps is the whole drill in order, the engine's prologue included.
func (s *Scenario) Steps() []Step { return s.StepsFor(Config{}) }

// StepsFor is Steps for a configuration: a drill from the operator's
// snapshot restores it after starting the cluster, and a drill with a
// data profile loads it before the load starts.
func (s *Scenario) StepsFor(cfg Config) []Step {
	steps := []Step{{"start the cluster", StartCluster}}
	if cfg.FromSnapshot != "" {
		steps = append(steps, Step{"start from the operator's snapshot", StartFromSnapshot})
	}
	if !cfg.Data.IsZero() {
		steps = append(steps, Step{"load " + cfg.Data.String() + " of data", LoadData})
	}
	steps = append(steps, Step{"write under load", StartLoad})
	steps = append(steps, s.Prepare...)
	if s.Fault != nil {
		steps = append(steps, Inject(s.Fault))
	}
	steps = append(steps, s.Observe...)
	steps = append(steps, s.RecoverFor(cfg)...)
	return append(steps, s.Verify...)
}

// Procedure is an operator's own recovery procedure that replaces a
// scenario's Recover steps (package runbook reads one from a file).
type Procedure interface {
	// Steps are the procedure's steps, run in order.
	Steps() []Step
	// Explain turns the checks that failed into pointers at the
	// procedure's lines; nil when nothing failed.
	Explain(d *Drill) []record.Check
}

// RecoverFor is the recovery procedure for cfg: Recover, or the
// operator's runbook between RunbookBefore and RunbookAfter.
func (s *Scenario) RecoverFor(cfg Config) []Step {
	if cfg.Runbook == nil {
		return s.Recover
	}
	after := s.RunbookAfter
	if s.RunbookBefore == nil && after == nil {
		after = []Step{{Title: "stop the load", Do: StopLoad}}
	}
	steps := append(slices.Clone(s.RunbookBefore), cfg.Runbook.Steps()...)
	return append(steps, after...)
}

// Faults lists Fault and Also.
func (s *Scenario) Faults() []fault.Fault {
	var fs []fault.Fault
	if s.Fault != nil {
		fs = append(fs, s.Fault)
	}
	return append(fs, s.Also...)
}

// Applies reports whether the drill applies to etcd version v, and why
// not when it does not.
func (s *Scenario) Applies(v harness.Version) (bool, string) {
	why := func(def string) string {
		if s.VersionNote != "" {
			return fmt.Sprintf("%s on etcd %s: %s", s.Name, v, s.VersionNote)
		}
		return def
	}
	if s.MinMinor != 0 && v.Minor < s.MinMinor {
		return false, why(fmt.Sprintf("%s needs etcd 3.%d or later", s.Name, s.MinMinor))
	}
	if s.MaxMinor != 0 && v.Minor > s.MaxMinor {
		return false, why(fmt.Sprintf("%s applies to etcd 3.%d and earlier only", s.Name, s.MaxMinor))
	}
	return true, ""
}

// Available says why the drill cannot run on a cluster of env, before
// anything starts: a cluster too small for the procedure or for one of
// its faults.
func (s *Scenario) Available(env fault.Env) error {
	switch {
	case s.MinMembers == s.MaxMembers && s.MinMembers != 0 && env.Members != s.MinMembers:
		return fmt.Errorf("%s runs on exactly %d members, not %d", s.Name, s.MinMembers, env.Members)
	case env.Members < s.MinMembers:
		return fmt.Errorf("%s needs at least %d members, not %d", s.Name, s.MinMembers, env.Members)
	case s.MaxMembers != 0 && env.Members > s.MaxMembers:
		return fmt.Errorf("%s runs on at most %d members, not %d", s.Name, s.MaxMembers, env.Members)
	}
	for _, f := range s.Faults() {
		if err := f.Available(env); err != nil {
			return fmt.Errorf("%s: fault %s: %w", s.Name, f.Name(), err)
		}
	}
	return nil
}
