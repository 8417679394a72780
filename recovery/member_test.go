package recovery

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/etcdrill/etcdrill/harness"
)

// memberListJSON is `etcdctl member list -w json` of a 3-member TLS
// cluster plus an unstarted learner; IDs are decimal, one above 2^63.
const memberListJSON = `{"header":{"cluster_id":11588568905070377092,"member_id":10276657743932975437,"raft_term":2},"members":[` +
	`{"ID":10276657743932975437,"name":"m1","peerURLs":["https://m1:2380"],"clientURLs":["https://m1:2379"]},` +
	`{"ID":6593218722429286219,"name":"m2","peerURLs":["https://m2:2380"],"clientURLs":["https://m2:2379"]},` +
	`{"ID":1,"name":"m3","peerURLs":["https://m3:2380"],"clientURLs":["https://m3:2379"]},` +
	`{"ID":18446744073709551615,"peerURLs":["https://m4-wrong:2380"],"isLearner":true}]}`

func TestParseMemberList(t *testing.T) {
	want := []Member{
		{ID: 10276657743932975437, Name: "m1", PeerURLs: []string{"https://m1:2380"}, ClientURLs: []string{"https://m1:2379"}},
		{ID: 6593218722429286219, Name: "m2", PeerURLs: []string{"https://m2:2380"}, ClientURLs: []string{"https://m2:2379"}},
		{ID: 1, Name: "m3", PeerURLs: []string{"https://m3:2380"}, ClientURLs: []string{"https://m3:2379"}},
		{ID: 18446744073709551615, PeerURLs: []string{"https://m4-wrong:2380"}, IsLearner: true},
	}
	pretty := strings.ReplaceAll(memberListJSON, `,"members":[`, ",\n  \"members\": [\n    ")
	for _, tc := range []struct{ name, out string }{
		{"bare", memberListJSON},
		{"trailing newline", memberListJSON + "\n"},
		{"after a warning", "{\"level\":\"warn\",\"msg\":\"something\",\"revision\":3}\nWARNING: a text warning\n" + memberListJSON + "\n"},
		{"spans lines", pretty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMemberList(tc.out)
			if err != nil {
				t.Fatalf("ParseMemberList: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseMemberList =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestParseMemberListErrors(t *testing.T) {
	for _, tc := range []struct{ name, out string }{
		{"empty", ""},
		{"table output", "+------------------+---------+------+\n|        ID        | STATUS  | NAME |\n"},
		{"error text", "Error: context deadline exceeded\n"},
		{"only a log line", `{"level":"info","msg":"hello"}`},
		{"truncated", memberListJSON[:80]},
		{"hex ids", `{"members":[{"ID":"8e9e05c52164694d","name":"m1"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := ParseMemberList(tc.out); err == nil {
				t.Fatalf("ParseMemberList = %+v, want an error", got)
			}
		})
	}
}

func TestFind(t *testing.T) {
	ms, err := ParseMemberList(memberListJSON)
	if err != nil {
		t.Fatal(err)
	}
	twice := append(ms, Member{ID: 7, Name: "m2", PeerURLs: []string{"https://m2:2380"}})
	for _, tc := range []struct {
		name   string
		find   func() (Member, error)
		wantID uint64
		errHas string
	}{
		{"by name", func() (Member, error) { return FindByName(ms, "m2") }, 6593218722429286219, ""},
		{"by peer url", func() (Member, error) { return FindByPeerURL(ms, "https://m4-wrong:2380") }, 18446744073709551615, ""},
		{"name missing", func() (Member, error) { return FindByName(ms, "m9") }, 0, "no member with name m9"},
		{"unstarted has no name", func() (Member, error) { return FindByName(ms, "") }, 18446744073709551615, ""},
		{"peer url missing", func() (Member, error) { return FindByPeerURL(ms, "https://m9:2380") }, 0, "no member with peer URL"},
		{"name twice", func() (Member, error) { return FindByName(twice, "m2") }, 0, "2 members with name m2: 5b7fd17ee4da374b, 7"},
		{"peer url twice", func() (Member, error) { return FindByPeerURL(twice, "https://m2:2380") }, 0, "2 members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.find()
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("got %+v, %v; want an error containing %q", m, err, tc.errHas)
				}
				return
			}
			if err != nil || m.ID != tc.wantID {
				t.Fatalf("got %+v, %v; want id %d", m, err, tc.wantID)
			}
		})
	}
}

func TestVoters(t *testing.T) {
	ms, _ := ParseMemberList(memberListJSON)
	unstarted := Member{ID: 9, PeerURLs: []string{"https://m5-wrong:2380"}}
	for _, tc := range []struct {
		name            string
		ms              []Member
		voters, started int
	}{
		{"none", nil, 0, 0},
		{"learner does not vote", ms, 3, 3},
		{"unstarted voter", append(ms[:3:3], unstarted), 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, s := Voters(tc.ms)
			if v != tc.voters || s != tc.started {
				t.Fatalf("Voters = %d, %d started; want %d, %d", v, s, tc.voters, tc.started)
			}
		})
	}
}

func TestHexID(t *testing.T) {
	for id, want := range map[uint64]string{
		1:                    "1",
		6593218722429286219:  "5b7fd17ee4da374b",
		18446744073709551615: "ffffffffffffffff",
		0x0a:                 "a",
	} {
		if got := HexID(id); got != want {
			t.Errorf("HexID(%d) = %q, want %q", id, got, want)
		}
	}
}

func TestParseMemberAdd(t *testing.T) {
	const env = `
ETCD_NAME="m3"
ETCD_INITIAL_CLUSTER="m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380"
ETCD_INITIAL_ADVERTISE_PEER_URLS="https://m3:2380"
ETCD_INITIAL_CLUSTER_STATE="existing"
`
	voter := Added{ID: 0x5a1b2c3d4e5f6071, ClusterID: 0x9b0a6a5e2a53d8b8, Name: "m3",
		InitialCluster:    "m1=https://m1:2380,m2=https://m2:2380,m3=https://m3:2380",
		AdvertisePeerURLs: "https://m3:2380", State: "existing"}
	learner := voter
	learner.Learner = true
	short := voter
	short.ID, short.ClusterID = 0x2be8f9a0d8b0f8, 0xa53d8b8
	for _, tc := range []struct {
		name string
		out  string
		want Added
	}{
		{"voter", "Member 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8\n" + env, voter},
		{"learner 3.6", "Member 5a1b2c3d4e5f6071 added as learner to cluster 9b0a6a5e2a53d8b8\n" + env, learner},
		{"space-padded ids", "Member   2be8f9a0d8b0f8 added to cluster          a53d8b8\n" + env, short},
		{"crlf", strings.ReplaceAll("Member 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8\n"+env, "\n", "\r\n"), voter},
		{"after a log line", `{"level":"warn","msg":"x"}` + "\nMember 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8\n" + env, voter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMemberAdd(tc.out)
			if err != nil {
				t.Fatalf("ParseMemberAdd: %v", err)
			}
			if got != tc.want {
				t.Errorf("ParseMemberAdd =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseMemberAddErrors(t *testing.T) {
	for _, tc := range []struct{ name, out, errHas string }{
		{"empty", "", "no \"Member <id> added\""},
		{"refused", "{\"level\":\"warn\"}\nError: etcdserver: unhealthy cluster\n", "no \"Member <id> added\""},
		{"no env (json output)", "Member 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8\n", "no ETCD_INITIAL_CLUSTER"},
		{"bad id", "Member zz added to cluster 1\nETCD_INITIAL_CLUSTER=\"m1=https://m1:2380\"\n", "id \"zz\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMemberAdd(tc.out)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("ParseMemberAdd = %+v, %v; want an error containing %q", got, err, tc.errHas)
			}
		})
	}
}

func TestParseEndpointHealth(t *testing.T) {
	out := `https://m1:2379 is healthy: successfully committed proposal: took = 2.064338ms
https://m3:2379 is healthy: successfully committed proposal: took = 2.7ms
{"level":"warn","ts":"2025-06-01T10:00:00Z","msg":"retrying of unary invoker failed","target":"etcd-endpoints://0xc0/m2:2379","error":"rpc error: code = DeadlineExceeded desc = context deadline exceeded"}
https://m2:2379 is unhealthy: failed to commit proposal: context deadline exceeded
Error: unhealthy cluster
`
	want := []Health{
		{"https://m1:2379", true, "successfully committed proposal: took = 2.064338ms"},
		{"https://m3:2379", true, "successfully committed proposal: took = 2.7ms"},
		{"https://m2:2379", false, "failed to commit proposal: context deadline exceeded"},
	}
	if got := ParseEndpointHealth(out); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseEndpointHealth =\n%+v\nwant\n%+v", got, want)
	}
	for _, none := range []string{"", "Error: unhealthy cluster", "Error: context deadline exceeded\n", "the endpoint is healthy enough"} {
		if got := ParseEndpointHealth(none); len(got) != 0 {
			t.Errorf("ParseEndpointHealth(%q) = %+v, want nothing", none, got)
		}
	}
}

func TestNoQuorum(t *testing.T) {
	const warn = `{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = DeadlineExceeded desc = context deadline exceeded"}` + "\n"
	for _, v := range []string{"3.5.35", "3.6.16", "3.7.3"} {
		r := NoQuorum(harness.MustVersion(v))
		for _, tc := range []struct {
			out  string
			want bool
		}{
			{"Error: context deadline exceeded\n", true},
			{warn + "Error: context deadline exceeded\n", true},
			{"Error: etcdserver: request timed out\n", true},
			{"Error: etcdserver: request timed out, possibly due to previous leader failure\n", true},
			{"Error: etcdserver: no leader\n", true},
			{"Error: etcdserver: leader changed\n", true},
			{warn + "Error: etcdserver: permission denied\n", false},
			{"Error: etcdserver: user name is empty\n", false},
			{"Error: x509: certificate signed by unknown authority\n", false},
			{"OCI runtime exec failed: exec failed: unable to start container process\n", false},
			{"OK\n", false},
			{"", false},
		} {
			if got := r.Match(tc.out) != ""; got != tc.want {
				t.Errorf("etcd %s: NoQuorum.Match(%q) = %v, want %v", v, tc.out, got, tc.want)
			}
		}
	}
}

// TestAddedFromList rebuilds what `member add` printed from the member list
// etcd holds after the add, for an add that timed out but was applied: the
// same Added as ParseMemberAdd reads from etcdctl's own output (less the
// cluster ID, which the list's members do not carry).
func TestAddedFromList(t *testing.T) {
	list := []Member{
		{ID: 0x176ce823694e84e, Name: "m1", PeerURLs: []string{"https://m1:2380"}, ClientURLs: []string{"https://m1:2379"}},
		{ID: 0x5a1b2c3d4e5f6071, PeerURLs: []string{"https://m3:2380"}},
		{ID: 0xe9ce470e9f41a186, Name: "m2", PeerURLs: []string{"https://m2:2380", "https://m2b:2380"}, ClientURLs: []string{"https://m2:2379"}},
	}
	out := "Member 5a1b2c3d4e5f6071 added to cluster 9b0a6a5e2a53d8b8\n\n" +
		"ETCD_NAME=\"m3\"\nETCD_INITIAL_CLUSTER=\"m1=https://m1:2380,m3=https://m3:2380,m2=https://m2:2380,m2=https://m2b:2380\"\n" +
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=\"https://m3:2380\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"
	want, err := ParseMemberAdd(out)
	if err != nil {
		t.Fatal(err)
	}
	want.ClusterID = 0
	got, err := AddedFromList(list, "m3", "https://m3:2380")
	if err != nil {
		t.Fatalf("AddedFromList: %v", err)
	}
	if got != want {
		t.Errorf("AddedFromList =\n%+v\nwant\n%+v", got, want)
	}

	learner := slices.Clone(list)
	learner[1].IsLearner = true
	if got, err := AddedFromList(learner, "m3", "https://m3:2380"); err != nil || !got.Learner {
		t.Errorf("AddedFromList of a learner = %+v, %v; want Learner", got, err)
	}
	if _, err := AddedFromList(list, "m4", "https://m4:2380"); err == nil || !strings.Contains(err.Error(), "no member with peer URL https://m4:2380") {
		t.Errorf("AddedFromList without the member: err = %v", err)
	}
}

// TestChangeInEffect: the checks reconfigure reads a member list with
// after a timed-out change.
func TestChangeInEffect(t *testing.T) {
	ms, err := ParseMemberList(memberListJSON)
	if err != nil {
		t.Fatal(err)
	}
	if removed(1)(ms) {
		t.Error("removed(1): member 1 is still listed, want false")
	}
	if !removed(2)(ms) {
		t.Error("removed(2): no member 2 is listed, want true")
	}
	if !added("https://m4-wrong:2380")(ms) {
		t.Error("added(m4-wrong): listed (unstarted), want true")
	}
	if added("https://m4:2380")(ms) {
		t.Error("added(m4): not listed, want false")
	}
}
