package recovery

import (
	"slices"
	"strings"
	"testing"
)

// epStatus36 is `etcdctl endpoint status -w json` from etcd 3.6.16 under
// NOSPACE (two of three endpoints kept).
const epStatus36 = `[{"Endpoint":"https://m1:2379","Status":{"header":{"cluster_id":10945839836699398515,"member_id":17935033129977525296,"revision":210,"raft_term":2},"version":"3.6.16","dbSize":5464064,"leader":14129267285633265866,"raftIndex":302,"raftTerm":2,"raftAppliedIndex":302,"errors":["memberID:14129267285633265866 alarm:NOSPACE "],"dbSizeInUse":5058560,"storageVersion":"3.6.0","dbSizeQuota":4194304,"downgradeInfo":{}}},{"Endpoint":"https://m3:2379","Status":{"header":{"cluster_id":10945839836699398515,"member_id":14129267285633265866,"revision":209,"raft_term":2},"version":"3.6.16","dbSize":5419008,"leader":14129267285633265866,"raftIndex":308,"raftTerm":2,"raftAppliedIndex":308,"dbSizeInUse":5058560,"storageVersion":"3.6.0","dbSizeQuota":4194304,"downgradeInfo":{}}}]`

// epStatus35 has the 3.5 fields only.
const epStatus35 = `[{"Endpoint":"https://m2:2379","Status":{"header":{"cluster_id":1,"member_id":784707157686075448,"revision":77,"raft_term":3},"version":"3.5.35","dbSize":733184,"leader":784707157686075448,"raftIndex":95,"raftTerm":3,"raftAppliedIndex":95,"dbSizeInUse":602112}}]`

const zapWarn = `{"level":"warn","ts":"2026-11-22T04:24:02.690030Z","logger":"etcd-client","msg":"retrying of unary invoker failed","revision":1}`

func TestParseEndpointStatus(t *testing.T) {
	m1 := EndpointStatus{Endpoint: "https://m1:2379", MemberID: 17935033129977525296, Revision: 210, RaftTerm: 2, Leader: 14129267285633265866, DBSize: 5464064, DBSizeInUse: 5058560}
	m3 := EndpointStatus{Endpoint: "https://m3:2379", MemberID: 14129267285633265866, Revision: 209, RaftTerm: 2, Leader: 14129267285633265866, DBSize: 5419008, DBSizeInUse: 5058560}
	m2 := EndpointStatus{Endpoint: "https://m2:2379", MemberID: 784707157686075448, Revision: 77, RaftTerm: 3, Leader: 784707157686075448, DBSize: 733184, DBSizeInUse: 602112}
	for _, tc := range []struct {
		name string
		out  string
		want []EndpointStatus
	}{
		{"3.6", epStatus36, []EndpointStatus{m1, m3}},
		{"3.5 with a trailing newline", epStatus35 + "\n", []EndpointStatus{m2}},
		{"after a zap warning", zapWarn + "\n" + epStatus35, []EndpointStatus{m2}},
		{"indented, crlf", "  " + epStatus35 + "\r\n", []EndpointStatus{m2}},
		{"no endpoints", "[]", []EndpointStatus{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEndpointStatus(tc.out)
			if err != nil {
				t.Fatalf("ParseEndpointStatus: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseEndpointStatus =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseEndpointStatusErrors(t *testing.T) {
	for _, tc := range []struct{ name, out, says string }{
		{"empty", "", "no JSON array"},
		{"only a log line", zapWarn, "no JSON array"},
		{"table output", "+-----+\n| ENDPOINT |\n+-----+\n", "no JSON array"},
		{"error text", "Error: context deadline exceeded\n", "no JSON array"},
		{"cut short", epStatus35[:80], "endpoint status"},
		{"entry without an endpoint", `[{"Status":{"header":{"revision":3}}}]`, "without an endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEndpointStatus(tc.out)
			if err == nil {
				t.Fatalf("ParseEndpointStatus = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestCompactRevision(t *testing.T) {
	st := func(revs ...int64) []EndpointStatus {
		var out []EndpointStatus
		for i, r := range revs {
			out = append(out, EndpointStatus{Endpoint: "m" + string(rune('1'+i)), Revision: r})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		st      []EndpointStatus
		want    int64
		wantErr bool
	}{
		{"members agree", st(210, 210, 210), 210, false},
		{"the lowest, so no member compacts past what it applied", st(211, 209, 210), 209, false},
		{"one member", st(5), 5, false},
		{"no status", nil, 0, true},
		{"a member without a revision", st(210, 0, 210), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CompactRevision(tc.st)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("CompactRevision = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
