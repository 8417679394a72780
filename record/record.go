// Package record holds the drill record: the data every stage of a drill
// writes and the reports package renders. It has no dependencies so that
// reports can read a record without pulling in Docker or etcd clients.
package record

import "time"

// Schema is the version of the JSON layout of Record. Bump it when a field
// changes meaning or is removed; adding a field does not need a bump.
const Schema = "etcdrill.drill-record/v1"

// Verdict is the outcome of a drill, a step or a check.
type Verdict string

const (
	Pass          Verdict = "pass"
	Fail          Verdict = "fail"
	NotApplicable Verdict = "not-applicable"
	// Expected marks a step whose failure was the point of the step, such as
	// a write that must be refused while quorum is lost.
	Expected Verdict = "expected-failure"
	// Interrupted marks a drill stopped by the operator (Ctrl-C) or by its
	// deadline's parent being cancelled: neither passed nor failed.
	Interrupted Verdict = "interrupted"
)

// Kinds of record: a drill, or one of the checks built on the drill
// engine that are not drills (no fault, so no RTO or RPO).
const (
	KindDrill          = "drill"
	KindSnapshotVerify = "snapshot-verify"
	KindUpgradeCheck   = "upgrade-check"
)

// Phase orders the steps of a drill as DESIGN.md describes a run.
type Phase string

const (
	PhaseSetup    Phase = "setup"
	PhaseWorkload Phase = "workload"
	PhaseFault    Phase = "fault"
	PhaseObserve  Phase = "observe"
	PhaseRecovery Phase = "recovery"
	PhaseVerify   Phase = "verify"
)

// Record is one drill run.
type Record struct {
	Schema string `json:"schema"`
	// Kind is KindDrill, KindSnapshotVerify or KindUpgradeCheck; records
	// written before the field existed have "" and are drills unless
	// Scenario says otherwise (see IsDrill).
	Kind     string    `json:"kind,omitempty"`
	RunID    string    `json:"run_id"`
	Scenario string    `json:"scenario"`
	Seeds    []string  `json:"seeds,omitempty"` // runbooks in shared/seeds the drill follows
	Config   Config    `json:"config"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Verdict  Verdict   `json:"verdict"`
	// Reason says why the verdict is not pass: the first failed step or
	// check, or why the drill does not apply.
	Reason  string  `json:"reason,omitempty"`
	Steps   []Step  `json:"steps"`
	Checks  []Check `json:"checks"`
	Metrics Metrics `json:"metrics"`
	// Timeline is the workload per second; Events mark the fault, leader
	// changes and recovery steps on it.
	Timeline []Sample `json:"timeline,omitempty"`
	Events   []Event  `json:"events,omitempty"`
	// Before and After are the cluster before the fault and after
	// recovery, as `endpoint status` and `member list` show it.
	Before *ClusterState `json:"before,omitempty"`
	After  *ClusterState `json:"after,omitempty"`
}

// Config is what the drill ran against.
type Config struct {
	// EtcdVersion is the version the cluster started on.
	EtcdVersion string `json:"etcd_version"`
	// TargetVersion is the version an upgrade-check moves to; "" for
	// drills.
	TargetVersion string `json:"target_version,omitempty"`
	Image         string `json:"image"`
	ImageID       string `json:"image_id"`
	Members       int    `json:"members"`
	TLS           bool   `json:"tls"`
	Auth          bool   `json:"auth"`
	Seed          int64  `json:"seed"`
	Writers       int    `json:"writers"`
}

// Step is one action of the drill, recorded as the command an operator
// would type on the member's host, with what it printed.
type Step struct {
	Phase   Phase     `json:"phase"`
	Name    string    `json:"name"`
	Member  string    `json:"member,omitempty"`
	Command string    `json:"command,omitempty"`
	Output  string    `json:"output,omitempty"`
	Exit    int       `json:"exit_code"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Verdict Verdict   `json:"verdict"`
	Error   string    `json:"error,omitempty"`
}

// Duration is End minus Start.
func (s Step) Duration() time.Duration { return s.End.Sub(s.Start) }

// Check is the result of one verification. Details lists the evidence,
// for example the first missing keys, one line each.
type Check struct {
	Name    string   `json:"name"`
	Verdict Verdict  `json:"verdict"`
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// Passed reports whether the check did not fail.
func (c Check) Passed() bool { return c.Verdict != Fail }

// Metrics are the numbers an operator asks for after a drill.
type Metrics struct {
	// RTOMillis is the time from the fault to the first acknowledged write
	// after it, in milliseconds; nil (JSON null) when it was not measured:
	// no fault was injected, or no write succeeded after it.
	RTOMillis *int64 `json:"rto_ms"`
	// RPOWrites counts acknowledged writes that the recovery lost by design,
	// such as writes after the snapshot revision of a restore; nil when it
	// was not measured (the key check did not run).
	RPOWrites *int `json:"rpo_writes"`
	// Writes by outcome, as the ledger recorded them.
	Acknowledged  int `json:"writes_acknowledged"`
	Failed        int `json:"writes_failed"`
	Indeterminate int `json:"writes_indeterminate"`
	// SnapshotRevision is the revision of the snapshot a restore used.
	SnapshotRevision int64 `json:"snapshot_revision,omitempty"`
	// ClusterIDBefore and ClusterIDAfter are hex cluster IDs around recovery.
	ClusterIDBefore string `json:"cluster_id_before,omitempty"`
	ClusterIDAfter  string `json:"cluster_id_after,omitempty"`
	// KeyCount and Digest describe the keyspace after recovery (see
	// verify.Digest for the definition).
	KeyCount int    `json:"key_count"`
	Digest   string `json:"keyspace_digest,omitempty"`
}

// IsDrill reports whether r is a drill record, the only kind with an RTO
// and an RPO.
func (r *Record) IsDrill() bool {
	switch r.Kind {
	case KindDrill:
		return true
	case "":
		return r.Scenario != KindSnapshotVerify && r.Scenario != KindUpgradeCheck
	}
	return false
}

// Millis returns a pointer to ms, for Metrics.RTOMillis.
func Millis(d time.Duration) *int64 {
	ms := d.Milliseconds()
	return &ms
}

// Count returns a pointer to n, for Metrics.RPOWrites.
func Count(n int) *int { return &n }

// Failed reports the first failed step or check, or "" when none failed.
func (r *Record) Failed() string {
	for _, s := range r.Steps {
		if s.Verdict == Fail {
			return "step " + s.Name + ": " + s.Error
		}
	}
	for _, c := range r.Checks {
		if c.Verdict == Fail {
			return "check " + c.Name + ": " + c.Summary
		}
	}
	return ""
}
