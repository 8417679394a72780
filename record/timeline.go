package record

import (
	"sort"
	"time"
)

// Sample is one second of the workload as the client saw it.
type Sample struct {
	T             time.Time `json:"t"` // start of the second
	Acknowledged  int       `json:"acknowledged"`
	Failed        int       `json:"failed"`
	Indeterminate int       `json:"indeterminate"`
	// Latency percentiles of the acknowledged writes that ended in this
	// second, in milliseconds; 0 when there were none.
	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
}

// Event marks a moment on the drill's timeline.
type Event struct {
	T    time.Time `json:"t"`
	Kind string    `json:"kind"` // "fault", "leader", "recovery", "observe"
	Text string    `json:"text"`
}

// Op is one write's timing and outcome, the input of Timeline.
type Op struct {
	Start, End time.Time
	Outcome    string // "acknowledged", "failed" or "indeterminate"
}

// Timeline buckets ops by the second they ended in, from the first op's
// second to the last, with no gaps: a second without any answer (an
// outage) is a sample of zeros, which is what the chart must show.
func Timeline(ops []Op) []Sample {
	if len(ops) == 0 {
		return nil
	}
	first, last := ops[0].End, ops[0].End
	for _, o := range ops {
		if o.End.Before(first) {
			first = o.End
		}
		if o.End.After(last) {
			last = o.End
		}
	}
	base := first.Truncate(time.Second)
	n := int(last.Sub(base)/time.Second) + 1
	out := make([]Sample, n)
	lat := make([][]float64, n)
	for i := range out {
		out[i].T = base.Add(time.Duration(i) * time.Second)
	}
	for _, o := range ops {
		i := int(o.End.Sub(base) / time.Second)
		switch o.Outcome {
		case "acknowledged":
			out[i].Acknowledged++
			lat[i] = append(lat[i], float64(o.End.Sub(o.Start).Microseconds())/1000)
		case "failed":
			out[i].Failed++
		default:
			out[i].Indeterminate++
		}
	}
	for i, l := range lat {
		out[i].P50Millis, out[i].P99Millis = percentile(l, 0.50), percentile(l, 0.99)
	}
	return out
}

// percentile is the nearest-rank percentile of xs (0 for none).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(p*float64(len(s))+0.999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

// MemberState is one member's row of `endpoint status` and `member list`.
type MemberState struct {
	Name      string `json:"name"`
	Endpoint  string `json:"endpoint"`
	ID        string `json:"id"` // hex, as etcdctl prints it
	PeerURLs  string `json:"peer_urls,omitempty"`
	Version   string `json:"version,omitempty"`
	DBSize    int64  `json:"db_size"`
	IsLeader  bool   `json:"is_leader"`
	IsLearner bool   `json:"is_learner"`
	RaftTerm  uint64 `json:"raft_term"`
	RaftIndex uint64 `json:"raft_index"`
	Revision  int64  `json:"revision"`
	Error     string `json:"error,omitempty"`
}

// ClusterState is the cluster as seen at one moment of the drill.
type ClusterState struct {
	When      string        `json:"when"` // "before the fault", "after recovery"
	T         time.Time     `json:"t"`
	ClusterID string        `json:"cluster_id,omitempty"`
	Members   []MemberState `json:"members"`
}
