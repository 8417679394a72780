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

// Shard returns shard i of n (counting from 1) of entries, so that n CI
// runners, each building the same matrix and running its own shard, run
// every entry exactly once between them. The split depends only on
// entries: each entry lands in exactly one shard, the shards differ in
// size by at most one, and within a shard the entries keep their matrix
// order. Entries are dealt out by a static cost estimate, costliest first
// and in snake order (shard 1 to n, then n to 1, ...), so the drills that
// start a cluster are spread as evenly as the count, and the ones that do
// not apply to their version (they only write a record) fill up the
// rest. With n larger than len(entries) some shards are empty. i outside
// 1..n or n below 1 is an error.
func Shard(entries []Entry, i, n int) ([]Entry, error) {
	switch {
	case n < 1:
		return nil, fmt.Errorf("shard %d/%d: want at least 1 shard", i, n)
	case i < 1 || i > n:
		return nil, fmt.Errorf("shard %d/%d: want a shard from 1 to %d", i, n, n)
	}
	order := make([]int, len(entries))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return cost(entries[order[a]]) > cost(entries[order[b]]) })
	var mine []int
	for k, idx := range order {
		round, pos := k/n, k%n
		if round%2 == 1 {
			pos = n - 1 - pos
		}
		if pos == i-1 {
			mine = append(mine, idx)
		}
	}
	sort.Ints(mine)
	out := make([]Entry, 0, len(mine))
	for _, idx := range mine {
		out = append(out, entries[idx])
	}
	return out, nil
}

// cost is Shard's static estimate of what running e takes: 1 for a drill
// that starts a cluster, 0 for one that does not apply to e's version and
// only writes its record.
func cost(e Entry) int {
	if ok, _ := e.Scenario.Applies(e.Version); !ok {
		return 0
	}
	return 1
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
