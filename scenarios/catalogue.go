// Package scenarios is the drill catalogue: each drill is one file that
// declares its catalogue entry (a drill.Scenario: its faults and its
// procedure) and its own steps. The drill engine runs them; the Ginkgo
// suite and the CLI both go through drill.Run.
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
)

var catalogue = map[string]*drill.Scenario{}

func register(s *drill.Scenario) *drill.Scenario {
	if _, dup := catalogue[s.Name]; dup {
		panic("scenario registered twice: " + s.Name)
	}
	catalogue[s.Name] = s
	return s
}

// All returns the catalogue in name order.
func All() []*drill.Scenario {
	out := make([]*drill.Scenario, 0, len(catalogue))
	for _, s := range catalogue {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Entry is one entry of a drill matrix: a scenario on a version, possibly
// with auth forced on.
type Entry struct {
	Scenario *drill.Scenario
	Version  harness.Version
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
func Matrix(list []*drill.Scenario, versions []harness.Version, variants bool) []Entry {
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
func Lookup(name string) (*drill.Scenario, error) {
	if s, ok := catalogue[name]; ok {
		return s, nil
	}
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("unknown scenario %q; known: %s", name, strings.Join(names, ", "))
}
