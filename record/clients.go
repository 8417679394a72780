package record

import "time"

// Clients summarises what the drill's clients saw, beside the
// linearizable and watch checks that judged it.
type Clients struct {
	// Ops counts the operations on the hot keyset by kind and outcome.
	Ops []OpCount `json:"ops"`
	// Keys is the number of hot keys.
	Keys int `json:"keys"`
	// Epochs are the clusters that answered, in order: more than one
	// means a restore started a new cluster, whose keyspace legitimately
	// rolled back.
	Epochs []ClientEpoch `json:"epochs,omitempty"`
	// Visualization names porcupine's HTML rendering of the first key
	// history that is not linearizable, a file beside the report.
	Visualization string `json:"visualization,omitempty"`
	// Watchers is the number of watchers; WatchSessions the streams they
	// opened (a resumed stream is a new session), WatchEvents the events
	// received, WatchRefused the resumes refused as compacted.
	Watchers      int `json:"watchers"`
	WatchSessions int `json:"watch_sessions"`
	WatchEvents   int `json:"watch_events"`
	WatchRefused  int `json:"watch_refused"`
	// Writes the clients gave up on, settled from what the watchers and
	// the reads saw: found applied (their value was seen), never applied
	// (the watchers delivered every change and none was theirs), or left
	// indeterminate.
	IndeterminateApplied      int `json:"indeterminate_applied,omitempty"`
	IndeterminateNeverApplied int `json:"indeterminate_never_applied,omitempty"`
	IndeterminateUnresolved   int `json:"indeterminate_unresolved,omitempty"`
}

// OpCount is how many operations of one kind ended each way.
type OpCount struct {
	Kind          string `json:"kind"`
	Acknowledged  int    `json:"acknowledged"`
	Failed        int    `json:"failed"`
	Indeterminate int    `json:"indeterminate"`
}

// ClientEpoch is the part of the history one cluster answered.
type ClientEpoch struct {
	Cluster string    `json:"cluster"`
	From    time.Time `json:"from"`
	Ops     int       `json:"ops"`
}
