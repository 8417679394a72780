package recovery

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Refusals etcd gives while a membership change would be unsafe for a
// moment, and that a procedure waits out by retrying. etcdctl only prints
// them, so procedures look for them in its output; nothing else is
// retried.
const (
	// LearnerNotReady: `member promote` while the learner's log is still
	// behind the leader's.
	LearnerNotReady = "can only promote a learner member which is in sync with leader"
	// Unhealthy: a `member add` or `member remove` while the member asked
	// has not been connected to enough peers for etcd's health interval
	// (5 s), such as right after a member restarted.
	Unhealthy = "etcdserver: unhealthy cluster"
	// TimedOut: etcdctl's --command-timeout (5 s by default) passed before
	// etcd answered. A membership change that timed out may still be
	// applied, so it is retried only after `member list` says it was not.
	TimedOut = "context deadline exceeded"
	// ServerTimedOut: etcd's own answer when the same wait ends on its
	// side first ("etcdserver: request timed out", possibly "due to
	// previous leader failure"); it means the same.
	ServerTimedOut = "etcdserver: request timed out"
)

// timedOut reports whether etcdctl's output says the request timed out,
// on either side, leaving its outcome unknown.
func timedOut(out string) bool {
	return strings.Contains(out, TimedOut) || strings.Contains(out, ServerTimedOut)
}

// Member is one member as `etcdctl member list -w json` prints it. A member
// that was added but never started has no name and no client URLs yet.
type Member struct {
	ID         uint64   `json:"ID"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs,omitempty"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// Started reports whether the member has ever started: etcd learns its
// name when it first joins.
func (m Member) Started() bool { return m.Name != "" }

// HexID renders a member ID the way etcdctl's table prints it and `member
// remove` and `member promote` take it: lower-case hex, no padding.
func HexID(id uint64) string { return strconv.FormatUint(id, 16) }

// ParseMemberList reads `etcdctl member list -w json`. The JSON object may
// follow warning or log lines; member IDs in it are decimal numbers.
func ParseMemberList(out string) ([]Member, error) {
	var resp struct {
		Members *[]Member `json:"members"`
	}
	lines := strings.SplitAfter(out, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "{") {
			continue
		}
		// The object may span lines (a pretty printer); decode one value
		// from here on and ignore what follows it.
		dec := json.NewDecoder(strings.NewReader(strings.Join(lines[i:], "")))
		if err := dec.Decode(&resp); err != nil {
			if strings.Contains(line, `"members"`) {
				return nil, fmt.Errorf("member list: %w", err)
			}
			continue
		}
		if resp.Members == nil {
			continue // a JSON log line, not the response
		}
		return *resp.Members, nil
	}
	return nil, fmt.Errorf("member list: no members in output %q", strings.TrimSpace(out))
}

// FindByName returns the one member called name. It fails when there is
// none or more than one.
func FindByName(ms []Member, name string) (Member, error) {
	return findOne(ms, "name "+name, func(m Member) bool { return m.Name == name })
}

// FindByPeerURL returns the one member with peer URL url. It fails when
// there is none or more than one.
func FindByPeerURL(ms []Member, url string) (Member, error) {
	return findOne(ms, "peer URL "+url, func(m Member) bool { return slices.Contains(m.PeerURLs, url) })
}

func findOne(ms []Member, what string, match func(Member) bool) (Member, error) {
	var found []Member
	for _, m := range ms {
		if match(m) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return Member{}, fmt.Errorf("no member with %s among %d members", what, len(ms))
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, m := range found {
		ids[i] = HexID(m.ID)
	}
	return Member{}, fmt.Errorf("%d members with %s: %s", len(found), what, strings.Join(ids, ", "))
}

// Voters counts the voting members (learners do not vote) and the started
// ones among them.
func Voters(ms []Member) (voters, started int) {
	for _, m := range ms {
		if !m.IsLearner {
			voters++
			if m.Started() {
				started++
			}
		}
	}
	return voters, started
}

// Added is what `etcdctl member add` prints: the new member's ID and the
// settings the new member must start with.
type Added struct {
	ID, ClusterID uint64
	// Learner is set when etcdctl says "added as learner", which 3.6 and
	// later do; 3.5 prints the same line for a learner as for a voter.
	Learner bool
	// Name, InitialCluster, AdvertisePeerURLs and State are the values of
	// ETCD_NAME, ETCD_INITIAL_CLUSTER, ETCD_INITIAL_ADVERTISE_PEER_URLS and
	// ETCD_INITIAL_CLUSTER_STATE.
	Name, InitialCluster, AdvertisePeerURLs, State string
}

// ParseMemberAdd reads `etcdctl member add` output:
//
//	Member 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8
//
//	ETCD_NAME="m3"
//	ETCD_INITIAL_CLUSTER="m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380"
//	ETCD_INITIAL_ADVERTISE_PEER_URLS="https://m3:2380"
//	ETCD_INITIAL_CLUSTER_STATE="existing"
//
// etcdctl pads the hex IDs to 16 characters with spaces, and 3.6 and
// later say "added as learner to cluster" for a learner. It fails when the
// ID or ETCD_INITIAL_CLUSTER is missing.
func ParseMemberAdd(out string) (Added, error) {
	var a Added
	haveID := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "Member" && f[2] == "added" {
			id, err := strconv.ParseUint(f[1], 16, 64)
			if err != nil {
				return a, fmt.Errorf("member add: id %q: %w", f[1], err)
			}
			a.ID, haveID = id, true
			a.Learner = slices.Contains(f, "learner")
			if cid, err := strconv.ParseUint(f[len(f)-1], 16, 64); err == nil {
				a.ClusterID = cid
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "ETCD_") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		switch k {
		case "ETCD_NAME":
			a.Name = v
		case "ETCD_INITIAL_CLUSTER":
			a.InitialCluster = v
		case "ETCD_INITIAL_ADVERTISE_PEER_URLS":
			a.AdvertisePeerURLs = v
		case "ETCD_INITIAL_CLUSTER_STATE":
			a.State = v
		}
	}
	switch {
	case !haveID:
		return a, fmt.Errorf("member add: no \"Member <id> added\" line in output %q", strings.TrimSpace(out))
	case a.InitialCluster == "":
		return a, fmt.Errorf("member add: no ETCD_INITIAL_CLUSTER in output %q", strings.TrimSpace(out))
	}
	return a, nil
}

// AddedFromList is what `etcdctl member add name --peer-urls=url` would
// have printed, rebuilt from a member list that holds the added member:
// etcdctl builds ETCD_INITIAL_CLUSTER from the members in the list's
// order, every peer URL of each, under the new member's name for the new
// member. Used when the add timed out but etcd applied it.
func AddedFromList(ms []Member, name, url string) (Added, error) {
	nm, err := FindByPeerURL(ms, url)
	if err != nil {
		return Added{}, fmt.Errorf("member add: %w", err)
	}
	var cluster []string
	for _, m := range ms {
		n := m.Name
		if m.ID == nm.ID {
			n = name
		}
		for _, u := range m.PeerURLs {
			cluster = append(cluster, n+"="+u)
		}
	}
	return Added{ID: nm.ID, Learner: nm.IsLearner, Name: name, InitialCluster: strings.Join(cluster, ","),
		AdvertisePeerURLs: strings.Join(nm.PeerURLs, ","), State: "existing"}, nil
}

// Health is one endpoint's line of `etcdctl endpoint health`.
type Health struct {
	Endpoint string
	Healthy  bool
	// Detail is the rest of the line: the time taken, or the error.
	Detail string
}

// ParseEndpointHealth reads the default output of `etcdctl endpoint
// health`, one "<endpoint> is healthy: ..." or "<endpoint> is unhealthy:
// ..." line per endpoint; other lines, such as "Error: unhealthy
// cluster", are skipped.
func ParseEndpointHealth(out string) []Health {
	var hs []Health
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		for _, v := range []struct {
			sep     string
			healthy bool
		}{{" is healthy", true}, {" is unhealthy", false}} {
			ep, rest, ok := strings.Cut(line, v.sep)
			if !ok || strings.ContainsAny(ep, " \t") || (rest != "" && rest[0] != ':') {
				continue
			}
			hs = append(hs, Health{Endpoint: ep, Healthy: v.healthy, Detail: strings.TrimSpace(strings.TrimPrefix(rest, ":"))})
			break
		}
	}
	return hs
}
