package scenarios

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
)

// Scenario is one catalogue entry.
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
	// applies to; 0 means unbounded.
	MinMinor, MaxMinor int
	// VersionNote says why the version bounds exist; it is the reason a
	// drill reports when it does not apply.
	VersionNote string
	// ClusterOptions are appended to the harness options the drill builds
	// from its Options (so they win), e.g. harness.WithQuota for a
	// quota drill.
	ClusterOptions []harness.Option
	// Steps run in order; the first error ends the drill.
	Steps []Step
}

// Step is one titled action of a drill, written as a runbook line.
type Step struct {
	Title string
	Do    func(ctx context.Context, d *Drill) error
}

func (s *Scenario) tls(o Options) bool { return pick(o.TLS, s.TLS) }

// Applies reports whether the drill applies to etcd version v, and why
// not when it does not.
func (s *Scenario) Applies(v string) (bool, string) {
	pv, err := harness.ParseVersion(v)
	if err != nil {
		return false, err.Error()
	}
	why := func(def string) string {
		if s.VersionNote != "" {
			return fmt.Sprintf("%s on etcd %s: %s", s.Name, pv, s.VersionNote)
		}
		return def
	}
	if s.MinMinor != 0 && pv.Minor < s.MinMinor {
		return false, why(fmt.Sprintf("%s needs etcd 3.%d or later", s.Name, s.MinMinor))
	}
	if s.MaxMinor != 0 && pv.Minor > s.MaxMinor {
		return false, why(fmt.Sprintf("%s applies to etcd 3.%d and earlier only", s.Name, s.MaxMinor))
	}
	return true, ""
}

var catalogue = map[string]*Scenario{}

func register(s *Scenario) *Scenario {
	if _, dup := catalogue[s.Name]; dup {
		panic("scenario registered twice: " + s.Name)
	}
	catalogue[s.Name] = s
	return s
}

// All returns the catalogue in name order.
func All() []*Scenario {
	out := make([]*Scenario, 0, len(catalogue))
	for _, s := range catalogue {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Entry is one entry of a drill matrix: a scenario on a version, possibly
// with auth forced on.
type Entry struct {
	Scenario *Scenario
	Version  string
	Auth     *bool // nil keeps the scenario's default
}

// Name reads "leader-kill", or "leader-kill+auth" for the auth variant.
func (r Entry) Name() string {
	if r.Auth != nil && *r.Auth && !r.Scenario.Auth {
		return r.Scenario.Name + "+auth"
	}
	return r.Scenario.Name
}

// Matrix lists the runs for scenarios on versions: every scenario on
// every version, plus the auth variant of those that ask for one when
// variants is true.
func Matrix(list []*Scenario, versions []string, variants bool) []Entry {
	on := true
	var out []Entry
	for _, v := range versions {
		for _, s := range list {
			out = append(out, Entry{Scenario: s, Version: v})
			if variants && s.AlsoWithAuth && !s.Auth {
				out = append(out, Entry{Scenario: s, Version: v, Auth: &on})
			}
		}
	}
	return out
}

// Default lists the drills `make drill` and `etcdrill run` without names run.
var Default = []string{"leader-kill", "quorum-loss"}

// Lookup returns the scenario called name, or an error naming the ones
// that exist.
func Lookup(name string) (*Scenario, error) {
	if s, ok := catalogue[name]; ok {
		return s, nil
	}
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("unknown scenario %q; known: %s", name, strings.Join(names, ", "))
}
