package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/verify"
)

// Waits of the corruption drills. Each is long enough for a 2-core
// machine running other drills: a refusal comes within seconds, an alarm
// within a few check periods.
const (
	// CorruptStartTimeout bounds a damaged member's start: it either exits
	// (etcd refused to start it) or serves.
	CorruptStartTimeout = 60 * time.Second
	// CorruptAlarmTimeout bounds the wait for a CORRUPT alarm once a
	// damaged member serves with etcd's checks on: eight check periods.
	CorruptAlarmTimeout = 8 * harness.DefaultCorruptCheckPeriod
)

// Detection is what etcd did with a damaged member.
type Detection string

const (
	Refused Detection = "refused to start"
	Alarmed Detection = "raised a CORRUPT alarm"
	Missed  Detection = "nothing"
)

// Corrupt is what the corruption drills learn as they go, kept with State.
type Corrupt struct {
	Detection Detection
	// Line is etcd's own words: the log line it refused with, or the
	// alarm list. Evidence are the damaged member's log lines about its
	// start; AlarmEvidence the other members' about the alarm.
	Line          string
	Evidence      []string
	AlarmEvidence []string
	// Caught says etcdrill's own checks found the damaged member diverged;
	// How says which.
	Caught bool
	How    string
	// File is the damaged member's db read offline before it started:
	// its revision and keyspace digest.
	File verify.MemberDigest
}

// refusalSays are the log messages in which etcd refuses a damaged member
// (the initial corruption check, a WAL it cannot read) or says why.
var refusalSays = []string{"found data inconsistency with peers", "found different hash values", "failed to read WAL", "crc mismatch", "wal: ", "repair",
	"initial corruption check", "cannot fetch hash", "compact revision values", "hashKV", "HashKV"}

// alarmSays are the log messages in which a leader's periodic or
// compaction hash check reports a member whose hash differs, just before
// it raises the CORRUPT alarm (3.5 to 3.7).
var alarmSays = []string{"same compact revision then hashes must match", "found hash mismatch",
	"failed compaction hash check", "Detected compaction hash mismatch"}

// RefusalLine picks from a member's log the line that says why etcd
// refused to start it: the last fatal or error line quoting a corruption
// message (etcd logs the fatal error last), else recovery.ServerReason's
// account of the log. A JSON line is shortened as Evidence shortens it.
func RefusalLine(logs string) string {
	ev := Evidence(logs)
	for i := len(ev) - 1; i >= 0; i-- {
		for _, lvl := range []string{"fatal: ", "panic: ", "error: "} {
			if strings.HasPrefix(ev[i], lvl) {
				return ev[i]
			}
		}
	}
	return recovery.ServerReason(logs)
}

// Evidence are the lines of a member's log that quote a corruption
// message, in order, each shortened to its level, message, error and the
// fields that name hashes, revisions and peers (no stack trace).
func Evidence(logs string) []string { return evidence(logs, refusalSays) }

func evidence(logs string, says []string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		for _, s := range says {
			if strings.Contains(line, s) {
				out = append(out, shortLogLine(strings.TrimSpace(line)))
				break
			}
		}
	}
	return out
}

// shortLogLine renders a zap JSON line as "level: msg: error (k=v ...)";
// a line that is not JSON is returned as it is.
func shortLogLine(line string) string {
	var e map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber() // hashes are uint32: no exponents
	if dec.Decode(&e) != nil {
		return line
	}
	out := fmt.Sprintf("%v: %v", e["level"], e["msg"])
	if err, ok := e["error"]; ok {
		out += fmt.Sprintf(": %v", err)
	}
	var fields []string
	for k, v := range e {
		if strings.Contains(k, "hash") || strings.Contains(k, "revision") || strings.HasSuffix(k, "-id") {
			fields = append(fields, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if len(fields) > 0 {
		slices.Sort(fields)
		out += " (" + strings.Join(fields, " ") + ")"
	}
	return out
}

// damaged is the member a corruption fault damaged, and a healthy one the
// operator works on.
func damaged(d *Drill) (victim, ops *harness.Member) {
	return State[Outage](d).Victims[0], Survivors(d)[0]
}

// checksOn says whether etcd's corruption checks are on, in words for
// the report.
func checksOn(d *Drill) (bool, string) {
	if d.Cluster.Config().CorruptCheck {
		return true, "on"
	}
	return false, "off"
}

// StartDamaged starts the damaged member as it is and records what etcd
// did, as the check "etcd-detection": it refused to start (the log line
// that says why), raised a CORRUPT alarm (after a compaction, so the
// compaction hash check has a revision to compare; the periodic check
// needs none), or nothing. A miss is a finding, reported plainly, not a
// failure.
func StartDamaged(ctx context.Context, d *Drill) error {
	m, ops := damaged(d)
	on, words := checksOn(d)
	st := State[Corrupt](d)
	if err := readDamagedDB(ctx, d, m); err != nil {
		return err
	}
	if err := d.Log.Do(record.PhaseObserve, "start etcd on "+m.Name()+" with etcd's corruption checks "+words, m.Name(), func() (record.Action, error) {
		a := record.Action{Command: "docker start " + m.ContainerName() + "  # etcd " + corruptFlags(m)}
		if err := m.Start(ctx); err != nil {
			return a, err
		}
		running, err := awaitStartOutcome(ctx, d, m)
		if err != nil {
			return a, err
		}
		logs, err := m.Logs(ctx)
		if running {
			a.Output = m.Name() + " started and serves"
			if ev := Evidence(logs); len(ev) > 0 {
				st.Evidence = ev
				a.Output += "; its log says:\n" + strings.Join(ev, "\n")
			}
			return a, err
		}
		st.Detection, st.Line, st.Evidence = Refused, RefusalLine(logs), Evidence(logs)
		a.Output = m.Name() + " exited; its log says:\n" + strings.Join(st.Evidence, "\n")
		if len(st.Evidence) == 0 {
			a.Output = m.Name() + " exited: " + st.Line
		}
		return a, err
	}); err != nil {
		return err
	}
	if st.Detection == "" && on {
		if err := awaitCorruptAlarm(ctx, d, ops); err != nil {
			return err
		}
	}
	if st.Detection == "" {
		st.Detection = Missed
	}
	d.Event("detect", fmt.Sprintf("etcd %s: %s", d.Cluster.Version(), st.Detection))
	d.AddChecks(detectionCheck(d, m, on))
	return nil
}

// corruptFlags are the corruption check flags in the member's command
// line, for the record.
func corruptFlags(m *harness.Member) string {
	args, err := harness.Flags(m.Version(), m.Spec())
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var out []string
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if strings.HasSuffix(name, "corrupt-check") || strings.HasSuffix(name, "check-time") || strings.HasSuffix(name, "hash-check-enabled") ||
			(name == "--feature-gates" && strings.Contains(a, "CorruptCheck")) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return "without corruption checks"
	}
	return strings.Join(out, " ")
}

// awaitStartOutcome polls until m's container has exited (false) or m
// answers `endpoint status` (true), within CorruptStartTimeout. etcd runs
// its initial check before it serves, so a member that answers passed it.
func awaitStartOutcome(ctx context.Context, d *Drill, m *harness.Member) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, CorruptStartTimeout)
	defer cancel()
	cli, err := d.Cluster.Client(m)
	if err != nil {
		return false, err
	}
	defer cli.Close()
	running := false
	err = harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		if !m.Running(ctx) {
			return nil
		}
		if _, err := d.Cluster.Status(ctx, cli, m); err != nil {
			return fmt.Errorf("%s neither exited nor serves: %w", m.Name(), err)
		}
		running = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("start damaged member %s (%s timeout): %w", m.Name(), CorruptStartTimeout, err)
	}
	return running, nil
}

// awaitCorruptAlarm compacts the history, so the leader's compaction hash
// check has a revision to compare (the periodic check needs none), then polls the alarm list for a
// CORRUPT alarm within CorruptAlarmTimeout, and records `alarm list`.
func awaitCorruptAlarm(ctx context.Context, d *Drill, ops *harness.Member) error {
	c := d.Cluster
	cli, err := c.Client(ops)
	if err != nil {
		return err
	}
	defer cli.Close()
	// Compact at the damaged file's revision: the flipped value is the
	// newest of its key there, so compaction keeps it for the hash check
	// to see, and each member's keyspace stays readable there.
	rev := State[Corrupt](d).File.Revision
	if rev <= 0 {
		s, err := c.Status(ctx, cli, ops)
		if err != nil {
			return err
		}
		rev = s.Header.Revision
	}
	if err := compactUnlessCorrupt(ctx, d, cli, ops, rev); err != nil {
		return err
	}
	st := State[Corrupt](d)
	wctx, cancel := context.WithTimeout(ctx, CorruptAlarmTimeout)
	defer cancel()
	var alarms []verify.Alarm
	perr := harness.Poll(wctx, time.Second, func(ctx context.Context) error {
		alarms, err = verify.AlarmList(ctx, cli, c.Config().Timeouts.Request)
		if corruptRaised(alarms) {
			// The cluster refuses every request from here until the
			// alarm is disarmed: an outage, whose end is the RTO's.
			State[Outage](d).FaultAt = time.Now()
			return nil
		}
		return errors.New("no CORRUPT alarm")
	})
	return d.Log.Do(record.PhaseObserve, fmt.Sprintf("wait up to %s for a CORRUPT alarm", CorruptAlarmTimeout), ops.Name(), func() (record.Action, error) {
		a, err := ops.Exec(ctx, c.EtcdctlArgs(c.ClientURLs(), "alarm", "list")...)
		if perr == nil {
			st.Detection, st.Line = Alarmed, strings.TrimSpace(a.Output)
			// Which check raised it, in the words of the member that did.
			var ev []string
			for _, x := range Survivors(d) {
				if logs, err := x.Logs(ctx); err == nil {
					for _, l := range evidence(logs, alarmSays) {
						ev = append(ev, x.Name()+": "+l)
					}
				}
			}
			if len(ev) > 0 {
				a.Output += "# the leader's log:\n" + strings.Join(ev, "\n")
			}
			st.AlarmEvidence = ev
		} else {
			a.Output += fmt.Sprintf("(no CORRUPT alarm within %s)", CorruptAlarmTimeout)
		}
		return a, err
	})
}

// compactUnlessCorrupt compacts at rev, for the compaction hash check,
// unless etcd's periodic check has already raised the CORRUPT alarm: a
// corrupt cluster refuses the compaction, and on a loaded machine the
// periodic check can come first. An alarm raised between the alarm list
// and the compaction shows as that refusal, recorded as it is.
func compactUnlessCorrupt(ctx context.Context, d *Drill, cli *clientv3.Client, ops *harness.Member, rev int64) error {
	c := d.Cluster
	alarms, err := verify.AlarmList(ctx, cli, c.Config().Timeouts.Request)
	if err == nil && corruptRaised(alarms) {
		return nil
	}
	_, err = recovery.CompactMayBeRefused(ctx, d.Log, c, ops, rev, recovery.CorruptCluster())
	return err
}

// corruptRaised says whether a CORRUPT alarm is among alarms.
func corruptRaised(alarms []verify.Alarm) bool {
	return slices.ContainsFunc(alarms, func(a verify.Alarm) bool { return a.Alarm == "CORRUPT" })
}

// detectionCheck says in plain words what etcd did.
func detectionCheck(d *Drill, m *harness.Member, on bool) record.Check {
	st := State[Corrupt](d)
	v := d.Cluster.Version()
	c := record.Check{Name: "etcd-detection", Verdict: record.Pass, Details: append(slices.Clone(st.Evidence), st.AlarmEvidence...)}
	switch st.Detection {
	case Refused:
		c.Summary = fmt.Sprintf("etcd %s refused to start %s: %s", v, m.Name(), st.Line)
	case Alarmed:
		// The initial check let the member in: said plainly, then what
		// caught it.
		c.Summary = fmt.Sprintf("etcd %s did not refuse to start %s (its initial corruption check passed); then it raised a CORRUPT alarm (%s)", v, m.Name(), st.Line)
		if len(st.AlarmEvidence) > 0 {
			c.Summary += ": " + st.AlarmEvidence[0]
		}
	default:
		// Not a failure of the drill: the finding is that etcd served the
		// damaged member.
		c.Verdict = record.Expected
		c.Summary = fmt.Sprintf("etcd %s did not detect the damage to %s: it started and served, and raised no alarm", v, m.Name())
		if !on {
			c.Summary += " (its corruption checks were off)"
		} else {
			c.Summary += fmt.Sprintf(" within %s with its corruption checks on", CorruptAlarmTimeout)
		}
	}
	return c
}
