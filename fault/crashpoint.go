package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// Named waits of the crash-point faults.
const (
	// CrashTimeout bounds the wait, after a crash point is armed and the
	// path driven, for the member's container to exit with the
	// failpoint's panic in its log.
	CrashTimeout = 60 * time.Second
	// CrashLogTimeout bounds the wait, once the member's container has
	// exited, for the failpoint's panic to show in its log. Docker copies
	// a container's output to its log asynchronously; on a loaded 2-core
	// machine the panic has been seen to take more than 10 s to appear.
	CrashLogTimeout = 30 * time.Second
	// FailpointEndpointTimeout bounds the wait for gofail's endpoint of a
	// restarted member to answer.
	FailpointEndpointTimeout = 30 * time.Second
	// driveTimeout is etcdctl's --command-timeout for the defrag or the
	// compaction that drives a crash point: the command may die with the
	// member.
	driveTimeout = 10 * time.Second
	// putDriveTimeout is etcdctl's --command-timeout for the put that
	// drives a crash point on the write path. Through a live member it
	// takes milliseconds; under the drill's load the member has often
	// crashed before the put starts (its name no longer resolves), and the
	// put then fails only when this runs out: 10 s would wait for nothing.
	putDriveTimeout = 2 * time.Second
)

// compactFill is how many key revisions the compaction crash point writes
// before it compacts: etcd compacts in batches of 1000 revisions
// (--compaction-batch-limit), and compactBeforeCommitBatch is reached
// only after a full batch.
const compactFill = 1000

// drive is what makes etcd run through a crash point.
type drive int

const (
	byWrites  drive = iota // a write: members save raft entries and commit their backend
	byDefrag               // etcdctl defrag of the victim
	byCompact              // etcdctl compact: every member compacts its backend in batches
)

// Crashpoint is a gofail failpoint inside etcd where a member is made to
// panic, with what drives etcd through it. Every one exists in etcd 3.5,
// 3.6 and 3.7 (checked in the sources of 3.5.35, 3.6.16 and 3.7.3; the
// failpoints image build checks again and fails when one is missing).
type Crashpoint struct {
	// Failpoint is gofail's name for it in etcd's source.
	Failpoint string
	// Where says where it is, in words, for reports.
	Where string
	drive drive
	// unwind, when set, is the log messages that start and end the
	// operation the crash point is inside, for a crash point whose
	// operation holds etcd's backend locks with deferred unlocks (see
	// unwound).
	unwind *[2]string
}

// The crash points, in the order of a write's way through etcd.
var (
	RaftBeforeSave = Crashpoint{"raftBeforeSave",
		"in the raft loop, before the WAL saves the new entries and hard state (leaders send entries to followers before that save)", byWrites, nil}
	RaftAfterSave = Crashpoint{"raftAfterSave",
		"in the raft loop, after the WAL saved the entries, before the loop goes on", byWrites, nil}
	BeforeCommit = Crashpoint{"beforeCommit",
		"in the backend, before a batch of applied writes is committed to bbolt (the consistent index with them)", byWrites, nil}
	DefragBeforeRename = Crashpoint{"defragBeforeRename",
		"in defrag, after the compacted copy db.tmp is written, before it replaces the db file", byDefrag,
		&[2]string{"defragmenting", "finished defragmenting directory"}}
	CompactBeforeCommitBatch = Crashpoint{"compactBeforeCommitBatch",
		"in compaction, after a batch of old revisions is deleted, before that batch is committed", byCompact, nil}
)

// Crashpoints lists every crash point.
func Crashpoints() []Crashpoint {
	return []Crashpoint{RaftBeforeSave, RaftAfterSave, BeforeCommit, DefragBeforeRename, CompactBeforeCommitBatch}
}

// PanicMessage is the message the armed failpoint panics with; the
// member's log then says "failpoint panic: <message>".
func (p Crashpoint) PanicMessage() string { return "etcdrill crash at " + p.Failpoint }

// Term is gofail's term that arms the panic.
func (p Crashpoint) Term() string { return "panic(" + strconv.Quote(p.PanicMessage()) + ")" }

// CrashAt crashes the target's members inside etcd at p: it arms a panic
// at the failpoint through gofail's endpoint (the cluster must run the
// failpoints image, harness.WithFailpoints), drives etcd through it (a
// write, a defrag, a compaction), and returns once each member's
// container exited with the failpoint's panic in its log. Undo starts
// them again; a restarted member has no failpoint armed.
func CrashAt(t Target, p Crashpoint) Fault { return crash{t, p} }

type crash struct {
	t Target
	p Crashpoint
}

func (c crash) Name() string   { return "crash-" + c.t.Name() + "-at-" + c.p.Failpoint }
func (c crash) Target() Target { return c.t }

func (c crash) Available(env Env) error {
	if env.Version.Major == 3 && env.Version.Minor < 5 {
		return fmt.Errorf("failpoint %s: etcdrill builds failpoints for etcd 3.5 and later, not %s", c.p.Failpoint, env.Version)
	}
	return c.t.Available(env)
}

func (c crash) Inject(ctx context.Context, cl *harness.Cluster, log *record.Log) (Injection, error) {
	ms, err := c.t.Pick(ctx, cl)
	if err != nil {
		return Injection{}, err
	}
	in := Injection{Victims: ms, Undo: c.undo(cl, ms, log)}
	for _, m := range ms {
		if err := log.Do(record.PhaseFault, "the etcd of "+m.Name()+" has failpoint "+c.p.Failpoint, m.Name(), func() (record.Action, error) {
			return listed(ctx, m, c.p.Failpoint, false)
		}); err != nil {
			return in, err
		}
		if err := log.Do(record.PhaseFault, "arm a panic at "+c.p.Failpoint+" on "+m.Name(), m.Name(), func() (record.Action, error) {
			return m.Failpoint(ctx, http.MethodPut, c.p.Failpoint, c.p.Term())
		}); err != nil {
			return in, err
		}
	}
	armed := time.Now()
	if err := c.drive(ctx, cl, ms, log); err != nil {
		return in, errors.Join(err, c.disarm(ctx, ms, log))
	}
	for _, m := range ms {
		var at time.Time
		if err := log.Do(record.PhaseFault, m.Name()+" crashes at "+c.p.Failpoint, m.Name(), func() (record.Action, error) {
			var a record.Action
			var err error
			a, at, err = c.waitCrash(ctx, m, armed)
			return a, err
		}); err != nil {
			return in, errors.Join(err, c.disarm(ctx, ms, log))
		}
		// The outage began when the first member died, which can be well
		// before this check saw it (a leader dies at once under load).
		if in.At.IsZero() || at.Before(in.At) {
			in.At = at
		}
	}
	return in, nil
}

// drive makes the victims run through the crash point, from a member
// that is not a victim where there is one: the command may die with the
// member it runs against, so its failure is recorded, not returned.
func (c crash) drive(ctx context.Context, cl *harness.Cluster, ms []*harness.Member, log *record.Log) error {
	from := bystander(cl, ms)
	timeout := "--command-timeout=" + driveTimeout.String()
	switch c.p.drive {
	case byDefrag:
		for _, m := range ms {
			if err := log.Do(record.PhaseFault, "defragment "+m.Name(), from.Name(), func() (record.Action, error) {
				return tolerate(from.Exec(ctx, cl.EtcdctlArgs([]string{m.ClientURL()}, timeout, "defrag")...))
			}); err != nil {
				return err
			}
		}
		return nil
	case byCompact:
		var rev int64
		if err := log.Do(record.PhaseFault, fmt.Sprintf("write %d key revisions, a full compaction batch", compactFill), from.Name(), func() (record.Action, error) {
			var err error
			rev, err = fill(ctx, cl, from, compactFill)
			return record.Action{
				Command: fmt.Sprintf("for i in $(seq %d); do etcdctl put /etcdrill-crashpoint/fill/$i x; done", compactFill),
				Output:  fmt.Sprintf("%d keys written, in transactions of 100 puts: %d revisions in the backend for compaction to go through; revision %d", compactFill, compactFill, rev),
			}, err
		}); err != nil {
			return err
		}
		return log.Do(record.PhaseFault, "compact at revision "+strconv.FormatInt(rev, 10), from.Name(), func() (record.Action, error) {
			return tolerate(from.Etcdctl(ctx, timeout, "compact", strconv.FormatInt(rev, 10)))
		})
	default:
		// Through the victim itself: a follower forwards the write and
		// saves its entries, a leader proposes it; etcdctl then sees the
		// connection drop instead of waiting out a leader election.
		for _, m := range ms {
			if err := log.Do(record.PhaseFault, "write a key through "+m.Name(), from.Name(), func() (record.Action, error) {
				return tolerate(from.Exec(ctx, cl.EtcdctlArgs([]string{m.ClientURL()}, "--command-timeout="+putDriveTimeout.String(), "put", "/etcdrill-crashpoint/"+c.p.Failpoint, "written")...))
			}); err != nil {
				return err
			}
		}
		return nil
	}
}

// tolerate records a driving command's failure in its output instead of
// failing the step: the member it drives is meant to crash under it.
func tolerate(e harness.Exec, err error) (record.Action, error) {
	var ee *harness.ExitError
	if errors.As(err, &ee) {
		e.Output += "\n(a failure is expected here: the member this drives is meant to crash under it; the next step checks that it did)"
		e.Exit = 0
		return e, nil
	}
	return e, err
}

// bystander is the first member that is not one of ms, or the first
// member when every member is one.
func bystander(cl *harness.Cluster, ms []*harness.Member) *harness.Member {
	all := cl.Members()
	for _, m := range all {
		victim := false
		for _, v := range ms {
			victim = victim || v == m
		}
		if !victim {
			return m
		}
	}
	return all[0]
}

// fill writes n keys outside the workload's prefix through from, in
// transactions of 100 puts (etcd's --max-txn-ops is 128), so that the
// backend holds at least n revisions; it returns the revision after.
func fill(ctx context.Context, cl *harness.Cluster, from *harness.Member, n int) (int64, error) {
	cli, err := cl.Client(from)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	var rev int64
	for i := 0; i < n; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(i+100, n); j++ {
			ops = append(ops, clientv3.OpPut("/etcdrill-crashpoint/fill/"+strconv.Itoa(j+1), "x"))
		}
		rctx, cancel := context.WithTimeout(ctx, cl.Config().Timeouts.Request)
		res, err := cli.Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return rev, fmt.Errorf("fill through %s: %w", from.Name(), err)
		}
		rev = res.Header.Revision
	}
	return rev, nil
}

// waitCrash polls until m's container exited, then requires the panic of
// the crash point in its log; it returns when the member died.
func (c crash) waitCrash(ctx context.Context, m *harness.Member, armed time.Time) (record.Action, time.Time, error) {
	wctx, cancel := context.WithTimeout(ctx, CrashTimeout)
	defer cancel()
	var st harness.ExitState
	err := harness.Poll(wctx, 200*time.Millisecond, func(ctx context.Context) error {
		var err error
		if st, err = m.Exited(ctx); err != nil {
			return harness.Permanent(err)
		}
		if !st.Exited {
			return fmt.Errorf("%s still running (CrashTimeout %s)", m.Name(), CrashTimeout)
		}
		return nil
	})
	if err != nil {
		return record.Action{Command: "docker wait " + m.ContainerName()}, time.Time{}, fmt.Errorf("%s did not crash at %s: %w", m.Name(), c.p.Failpoint, err)
	}
	at := st.FinishedAt
	if at.IsZero() {
		at = time.Now()
	}
	// Docker can report the container exited before its log copier has
	// written the last of the process's stderr (the panic), so the log is
	// read again until it holds the panic or CrashLogTimeout passes.
	lctx, cancel := context.WithTimeout(ctx, CrashLogTimeout)
	defer cancel()
	var a, seen record.Action
	var last, notYet error // Crashed's own error; the last that wraps ErrNotCrashed
	err = harness.Poll(lctx, 500*time.Millisecond, func(ctx context.Context) error {
		a, last = Crashed(ctx, m, c.p)
		switch {
		case errors.Is(last, ErrNotCrashed):
			seen, notYet = a, last
		case last != nil && lctx.Err() == nil:
			return harness.Permanent(last)
		}
		return last
	})
	if err != nil && notYet != nil {
		// What the member's log said last, not the Docker call the
		// deadline cut short.
		a, last = seen, notYet
	}
	if err != nil && last != nil {
		err = fmt.Errorf("%w (waited CrashLogTimeout %s for the log)", last, CrashLogTimeout)
	}
	a.Output = fmt.Sprintf("died %s after the panic was armed\n%s", at.Sub(armed).Round(time.Millisecond), a.Output)
	return a, at, err
}

// ErrNotCrashed is returned by Crashed when a member did not crash at its
// crash point: it runs, or it exited without the failpoint's panic.
var ErrNotCrashed = errors.New("not crashed at the crash point")

// Crashed checks that m's container has exited and that its log holds
// the panic of p; the action shows the exit code and the panic with the
// stack frames under it.
func Crashed(ctx context.Context, m *harness.Member, p Crashpoint) (record.Action, error) {
	a := record.Action{Command: fmt.Sprintf("docker inspect -f '{{.State.ExitCode}}' %[1]s; docker logs %[1]s 2>&1 | grep -A8 'failpoint panic'", m.ContainerName())}
	st, err := m.Exited(ctx)
	if err != nil {
		return a, err
	}
	code := st.Code
	if !st.Exited {
		return a, fmt.Errorf("%s is running: %w %s", m.Name(), ErrNotCrashed, p.Failpoint)
	}
	logs, err := m.Logs(ctx)
	if err != nil {
		return a, err
	}
	ev, ok := CrashEvidence(logs, p)
	if !ok {
		a.Output = fmt.Sprintf("exit code %d; the log ends:\n%s", code, tail(logs, 5))
		return a, fmt.Errorf("%s exited (code %d) without the panic of %s in its log: %w", m.Name(), code, p.Failpoint, ErrNotCrashed)
	}
	a.Output = fmt.Sprintf("exit code %d\n%s", code, ev)
	return a, nil
}

// tail returns the last n non-empty lines of s, each cut at 300 bytes.
func tail(s string, n int) string {
	var out []string
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append([]string{l[:min(len(l), 300)]}, out...)
		}
	}
	return strings.Join(out, "\n")
}

// disarm deletes the armed failpoint on members still running, after a
// crash that did not come, so they do not crash later in the drill.
func (c crash) disarm(ctx context.Context, ms []*harness.Member, log *record.Log) error {
	var errs []error
	for _, m := range ms {
		if !m.Running(ctx) {
			continue
		}
		errs = append(errs, log.Do(record.PhaseFault, "disarm "+c.p.Failpoint+" on "+m.Name(), m.Name(), func() (record.Action, error) {
			return m.Failpoint(ctx, http.MethodDelete, c.p.Failpoint, "")
		}))
	}
	return errors.Join(errs...)
}

// undo starts the crashed members again and shows, from gofail's
// endpoint of each, that no failpoint is armed after the restart.
func (c crash) undo(cl *harness.Cluster, ms []*harness.Member, log *record.Log) Undo {
	return func(ctx context.Context) error {
		for _, m := range ms {
			if err := log.Do(record.PhaseRecovery, "start etcd on "+m.Name(), m.Name(), func() (record.Action, error) {
				return record.Action{Command: "docker start " + m.ContainerName()}, m.Start(ctx)
			}); err != nil {
				return err
			}
			if err := log.Do(record.PhaseRecovery, c.p.Failpoint+" is not armed on the restarted "+m.Name(), m.Name(), func() (record.Action, error) {
				return unarmed(ctx, m, c.p.Failpoint)
			}); err != nil {
				return err
			}
		}
		return nil
	}
}

// unarmed polls gofail's endpoint on m until it answers, and requires
// failpoint to be listed and not armed.
func unarmed(ctx context.Context, m *harness.Member, failpoint string) (record.Action, error) {
	ctx, cancel := context.WithTimeout(ctx, FailpointEndpointTimeout)
	defer cancel()
	var a record.Action
	err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		var err error
		if a, err = listed(ctx, m, failpoint, true); errors.Is(err, errArmed) {
			return harness.Permanent(err)
		}
		return err
	})
	if err != nil {
		return a, fmt.Errorf("failpoint endpoint of %s (FailpointEndpointTimeout %s): %w", m.Name(), FailpointEndpointTimeout, err)
	}
	return a, nil
}

var errArmed = errors.New("armed")

// listed reads gofail's list of failpoints on m and requires failpoint in
// it, and not armed when unarmed is set. The action shows the one line,
// as `curl ... | grep` does.
func listed(ctx context.Context, m *harness.Member, failpoint string, unarmed bool) (record.Action, error) {
	e, err := m.Failpoint(ctx, http.MethodGet, "", "")
	e.Command += " | grep '^" + failpoint + "='"
	if err != nil {
		return e, err
	}
	n := strings.Count(e.Output, "=")
	term, ok := FailpointTerm(e.Output, failpoint)
	e.Output = failpoint + "=" + term
	switch {
	case !ok:
		e.Output, e.Exit = fmt.Sprintf("(not among the %d failpoints the binary has)", n), 1
		return e, fmt.Errorf("etcd on %s has no failpoint %s", m.Name(), failpoint)
	case unarmed && term != "":
		return e, fmt.Errorf("%s: failpoint %s is %w: %s", m.Name(), failpoint, errArmed, term)
	}
	return e, nil
}

// FailpointTerm finds name in gofail's list ("name=term" lines) and
// returns its term, "" when it is not armed.
func FailpointTerm(list, name string) (string, bool) {
	for _, line := range strings.Split(list, "\n") {
		if term, ok := strings.CutPrefix(strings.TrimSpace(line), name+"="); ok {
			return term, true
		}
	}
	return "", false
}

// CrashEvidence returns the lines of a member's log that prove it
// panicked at p, or false. Go's own panic line ("panic: failpoint panic:
// <p's message>") proves it, shown with the stack frame that called into
// gofail: the etcd function that holds the failpoint, with its file and
// line. Where etcd recovers the panic and logs it as fatal instead (defrag
// does), the log entry whose "panic" field has the message proves it,
// shown as its level, caller, message and panic. The message alone,
// quoted elsewhere, proves nothing.
func CrashEvidence(logs string, p Crashpoint) (string, bool) {
	want := "failpoint panic: " + p.PanicMessage()
	lines := strings.Split(logs, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "panic: "+want); ok && (rest == "" || strings.HasPrefix(rest, " [")) {
			return strings.Join(append([]string{strings.TrimSpace(l)}, failpointCaller(lines[i+1:])...), "\n"), true
		}
	}
	for _, l := range lines {
		var e struct{ Level, Caller, Msg, Panic string }
		if strings.HasPrefix(strings.TrimSpace(l), "{") && json.Unmarshal([]byte(l), &e) == nil && e.Panic == want {
			return fmt.Sprintf("%s at %s: %s: %s", e.Level, e.Caller, e.Msg, e.Panic), true
		}
	}
	return unwound(lines, p)
}

// unwound proves a crash at p, when p is inside an operation that holds
// etcd's backend locks with deferred unlocks (Crashpoint.unwind), from a
// second panic: the log says the operation started and never says it
// finished, and a Go panic follows. At defragBeforeRename the db is
// closed; while the failpoint's panic unwinds defrag, its defers release
// the locks, and on a loaded machine the apply loop can take them and
// panic on the closed backend before the runtime prints the first panic.
// Seen on 3.5.35 under two parallel suites: exit code 2, the apply loop's
// panic in the log, not the failpoint's.
func unwound(lines []string, p Crashpoint) (string, bool) {
	if p.unwind == nil {
		return "", false
	}
	op := *p.unwind
	start := -1
	for i, l := range lines {
		switch {
		case strings.Contains(l, `"msg":"`+op[0]+`"`):
			start = i
		case strings.Contains(l, `"msg":"`+op[1]+`"`):
			start = -1
		}
	}
	if start < 0 {
		return "", false
	}
	for i := start + 1; i < len(lines); i++ {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "panic: ") {
			return fmt.Sprintf("%q logged, never %q: the member died inside it, with another goroutine's panic printed first "+
				"(the failpoint's panic unwound it, releasing the backend's locks with its db closed):\n%s", op[0], op[1], l), true
		}
	}
	return "", false
}

// failpointCaller returns, from the goroutine trace that follows a panic
// line, the frame below the last gofail frame (its function, then its
// file and line), or nil when the trace has no gofail frame.
func failpointCaller(trace []string) []string {
	var frames [][2]string // function, file:line
	for i := 0; i < len(trace); i++ {
		l := strings.TrimRight(trace[i], "\r ")
		if l == "" {
			if len(frames) > 0 {
				break
			}
			continue
		}
		if strings.HasPrefix(l, "goroutine ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "panic: ") {
			continue
		}
		file := ""
		if i+1 < len(trace) && strings.HasPrefix(trace[i+1], "\t") {
			file = strings.TrimSpace(trace[i+1])
		}
		frames = append(frames, [2]string{l, file})
	}
	last := -1
	for i, f := range frames {
		if strings.HasPrefix(f[0], "go.etcd.io/gofail/") {
			last = i
		}
	}
	if last < 0 || last+1 >= len(frames) {
		return nil
	}
	return []string{frames[last+1][0], "\t" + frames[last+1][1]}
}
