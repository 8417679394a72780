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
	// Clients is what the clients saw while the drill ran: their
	// operations on a hot keyset and their watch streams.
	Clients *Clients `json:"clients,omitempty"`
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
	// Data is the data profile loaded before the fault (see
	// workload.DataSpec), such as "k8s 1GiB"; "" for none.
	Data string `json:"data,omitempty"`
	// FromSnapshot is the operator's snapshot file the cluster started
	// from; "" for none.
	FromSnapshot string `json:"from_snapshot,omitempty"`
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
	// Concurrent names the group of steps this one ran at the same time
	// as, such as "restore" for the restore on every member; "" for a
	// step that ran alone.
	Concurrent string `json:"concurrent,omitempty"`
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

	// Phases split the recovery time into what it is made of, in order:
	// PhaseTransfer, PhaseRestore, PhaseBoot, PhaseLeader, PhaseFirstWrite.
	// Only the phases a drill's procedure has appear (a leader kill has
	// no transfer and no restore).
	Phases []RTOPhase `json:"rto_phases,omitempty"`
	// RPORevisions is the number of revisions a restore lost by design
	// (the last revision acknowledged before the fault minus the
	// snapshot's), and RPOMillis the time between the snapshot and the
	// last acknowledged write it lost; nil when not measured.
	RPORevisions *int64 `json:"rpo_revisions,omitempty"`
	RPOMillis    *int64 `json:"rpo_ms,omitempty"`
	// DBSizeBefore, KeysBefore, DBSizeAfter and KeysAfter are the largest
	// member's database size in bytes and the number of keys in the
	// whole keyspace before the fault and after recovery; 0 when not
	// observed.
	DBSizeBefore int64 `json:"db_size_before,omitempty"`
	KeysBefore   int   `json:"key_count_before,omitempty"`
	DBSizeAfter  int64 `json:"db_size_after,omitempty"`
	KeysAfter    int   `json:"key_count_after,omitempty"`
	// SnapshotBytes is the size of the snapshot file a restore used.
	SnapshotBytes int64 `json:"snapshot_bytes,omitempty"`
	// Load is the bulk data loading of the setup, reported apart from the
	// drill's own timings; nil when no data profile was loaded.
	Load *Load `json:"load,omitempty"`
	// PeakRSSBytes is the etcdrill process's peak resident memory at the
	// end of the run (getrusage maxrss); 0 when unknown.
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
}

// The RTO phases, in the order a restore goes through them.
const (
	// PhaseTransfer: copying the snapshot off the member it was saved on
	// and onto the hosts that restore it.
	PhaseTransfer = "snapshot transfer"
	// PhaseRestore: `etcdutl snapshot restore` (copy, hash check, new
	// membership, fsync) on each member.
	PhaseRestore = "restore"
	// PhaseBoot: from starting the restored members until every one
	// answers on its client port (etcd opens the database and rebuilds
	// its index before serving).
	PhaseBoot = "member boot"
	// PhaseLeader: from every member answering until a leader is
	// elected (the cluster has quorum).
	PhaseLeader = "first leader"
	// PhaseFirstWrite: from the leader until the first write is
	// acknowledged.
	PhaseFirstWrite = "first acknowledged write"
)

// RTOPhase is one phase of the recovery time. Bytes is the data it
// moved, for throughput; 0 when the phase moves no data.
type RTOPhase struct {
	Name   string    `json:"name"`
	Member string    `json:"member,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Bytes  int64     `json:"bytes,omitempty"`
}

// Duration is End minus Start.
func (p RTOPhase) Duration() time.Duration { return p.End.Sub(p.Start) }

// MBps is the phase's throughput in megabytes (10^6 bytes) per second; 0
// when it moved no data or took no time.
func (p RTOPhase) MBps() float64 { return MBps(p.Bytes, p.Duration()) }

// Load is the bulk loading of a data profile before the drill: setup,
// not part of the drill's timings.
type Load struct {
	// Profile describes the data, such as "k8s 1GiB".
	Profile string    `json:"profile"`
	Keys    int       `json:"keys"`
	Bytes   int64     `json:"bytes"` // keys and values written
	Txns    int       `json:"txns"`
	Clients int       `json:"clients"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// Duration is End minus Start.
func (l Load) Duration() time.Duration { return l.End.Sub(l.Start) }

// MBps is the loading throughput in megabytes per second.
func (l Load) MBps() float64 { return MBps(l.Bytes, l.Duration()) }

// MBps is n bytes over d in megabytes (10^6 bytes) per second; 0 when
// nothing moved or no time passed.
func MBps(n int64, d time.Duration) float64 {
	if n == 0 || d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
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
