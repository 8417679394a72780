package reports

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// state is one `endpoint status` plus `member list` table.
type state struct {
	When, At, ClusterID string
	Rows                []memberRow
}

type memberRow struct {
	Leader bool
	Cells  []string
}

// stateColumns follow `etcdctl endpoint status -w table`, with the member
// name first and the peer URLs of `member list` added.
var stateColumns = []string{"NAME", "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER",
	"RAFT TERM", "RAFT INDEX", "REVISION", "PEER URLS", "ERRORS"}

func newState(s *record.ClusterState, at func(time.Time) string) state {
	st := state{When: s.When, At: at(s.T), ClusterID: s.ClusterID}
	for _, m := range s.Members {
		st.Rows = append(st.Rows, memberRow{Leader: m.IsLeader, Cells: []string{
			m.Name, m.Endpoint, m.ID, m.Version, humanBytes(m.DBSize),
			strconv.FormatBool(m.IsLeader), strconv.FormatBool(m.IsLearner),
			strconv.FormatUint(m.RaftTerm, 10), strconv.FormatUint(m.RaftIndex, 10),
			strconv.FormatInt(m.Revision, 10), m.PeerURLs, m.Error,
		}})
	}
	return st
}

// humanBytes formats n as etcdctl's table does (go-humanize Bytes: SI
// units, "20 kB", "2.1 GB").
func humanBytes(n int64) string {
	if n < 10 {
		return strconv.FormatInt(n, 10) + " B"
	}
	sizes := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	v := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, sizes[int(e)])
	}
	return fmt.Sprintf("%.0f %s", v, sizes[int(e)])
}
