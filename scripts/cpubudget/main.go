// Command cpubudget runs a command and says how much CPU the whole
// machine spent while it ran, and on what: the floor under the command's
// wall time on this many cores. `make cpu-budget` runs the test suite
// under it; the README quotes the figures.
//
//	go run ./scripts/cpubudget [-interval 2s] [-top 15] [-acct FILE] -- CMD [ARGS...]
//
// It reads /proc (Linux only): the machine's busy time from /proc/stat,
// and, every interval, each process's CPU time from /proc/PID/stat,
// summed by command name. A process that starts and exits between two
// samples (runc, a docker exec, an etcdctl) is not seen, but its parent's
// children's time grows when it is reaped: it is counted as "children
// of" the parent. With -acct FILE, the file process accounting writes to
// (turned on by the caller: `accton FILE`), those processes are listed
// one by one instead, summed by parent and command (acct.go). The
// command's exit status is cpubudget's.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	interval := flag.Duration("interval", 2*time.Second, "how often to read every process's CPU time")
	top := flag.Int("top", 15, "how many command names to list")
	acct := flag.String("acct", "", "a process accounting file you turned on (accton FILE): also list the processes that exited while CMD ran, by parent and command")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cpubudget [-interval 2s] [-top 15] [-acct FILE] -- CMD [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *interval <= 0 {
		fmt.Fprintln(os.Stderr, "cpubudget: -interval must be above 0")
		os.Exit(2)
	}
	code, err := run(flag.Args(), *interval, *top, *acct, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpubudget:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// run runs args, sampling the machine until it exits, and writes the
// budget to w, with the accounting file acctPath's records if it is not
// empty. It returns the command's exit code.
func run(args []string, interval time.Duration, top int, acctPath string, w io.Writer) (int, error) {
	if runtime.GOOS != "linux" {
		return 2, fmt.Errorf("reads /proc: Linux only, not %s", runtime.GOOS)
	}
	var acctFrom int64
	if acctPath != "" {
		var err error
		if acctFrom, err = acctSize(acctPath); err != nil {
			return 2, err
		}
	}
	before, err := readMachine()
	if err != nil {
		return 2, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 2, err
	}
	// Ctrl-C reaches the command (same process group); cpubudget waits
	// for it and still prints what it saw.
	signal.Ignore(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	acc := newAccount()
	acc.sample(readProcs())
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var waitErr error
loop:
	for {
		select {
		case <-tick.C:
			acc.sample(readProcs())
		case waitErr = <-done:
			acc.sample(readProcs())
			break loop
		}
	}
	wall := time.Since(start)
	after, err := readMachine()
	if err != nil {
		return 2, err
	}
	b := budget{
		Wall:    wall,
		Cores:   runtime.NumCPU(),
		Machine: after.sub(before),
		ByComm:  acc.byComm,
	}
	report(w, b, top)
	if acctPath != "" {
		reportAcct(w, acctPath, acctFrom, acc.names, float64(b.Machine.Busy())/userHZ, top)
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(waitErr, &ee):
		code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			code = 128 + int(st.Signal())
		}
	case waitErr != nil:
		return 2, waitErr
	}
	return code, nil
}

// userHZ is USER_HZ, the unit of /proc's CPU times: 100 on every
// architecture Linux and Go share.
const userHZ = 100

// machine is the first line of /proc/stat, in clock ticks.
type machine struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

func (a machine) sub(b machine) machine {
	return machine{a.User - b.User, a.Nice - b.Nice, a.System - b.System, a.Idle - b.Idle,
		a.IOWait - b.IOWait, a.IRQ - b.IRQ, a.SoftIRQ - b.SoftIRQ, a.Steal - b.Steal}
}

// Busy is every tick the CPUs spent on something: user, system and
// interrupt time, and time stolen by the hypervisor.
func (a machine) Busy() uint64 {
	return a.User + a.Nice + a.System + a.IRQ + a.SoftIRQ + a.Steal
}

func readMachine() (machine, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machine{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseMachine(line)
}

// parseMachine reads the "cpu  user nice system idle iowait irq softirq
// steal ..." line of /proc/stat.
func parseMachine(line string) (machine, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machine{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return machine{}, fmt.Errorf("/proc/stat: field %d of %q: %w", i+1, line, err)
		}
		v[i] = n
	}
	return machine{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
}

// proc is one process's command name, parent, CPU time (user + system
// ticks) and the CPU time of its children that it has waited for
// (cutime + cstime): a process that lives between two samples shows
// there.
type proc struct {
	Comm     string
	PPid     int
	Ticks    uint64
	Children uint64
}

// parseProcStat reads /proc/PID/stat: "pid (comm) state ppid ...", where
// comm may itself hold spaces and parentheses, so it ends at the last
// ")"; ppid is field 4, utime, stime, cutime and cstime fields 14 to 17.
func parseProcStat(s string) (proc, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("no (comm) in %q", s)
	}
	rest := strings.Fields(s[end+1:]) // rest[0] is field 3 (state)
	if len(rest) < 15 {
		return proc{}, fmt.Errorf("short stat line %q", s)
	}
	var v [5]uint64
	var errs []error
	for i, f := range []int{4, 14, 15, 16, 17} {
		n, err := strconv.ParseInt(rest[f-3], 10, 64)
		if n < 0 {
			n = 0 // ppid 0: a kernel thread's parent
		}
		v[i] = uint64(n)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return proc{}, fmt.Errorf("stat line %q: %w", s, err)
	}
	return proc{Comm: group(s[open+1 : end]), PPid: int(v[0]), Ticks: v[1] + v[2], Children: v[3] + v[4]}, nil
}

// group folds the kernel's per-CPU and per-task worker threads into one
// name each: "kworker/u8:2-ext4-rsv-conversion" is kernel work, whatever
// the worker's number and current task.
func group(comm string) string {
	for _, p := range []string{"kworker/", "ksoftirqd/", "migration/", "rcu_", "jbd2/"} {
		if strings.HasPrefix(comm, p) {
			return strings.TrimSuffix(p, "/") + " (kernel)"
		}
	}
	if strings.HasPrefix(comm, "runc") {
		return "runc"
	}
	return comm
}

func readProcs() map[int]proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	ps := make(map[int]proc, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // it exited
		}
		if p, err := parseProcStat(string(b)); err == nil {
			ps[pid] = p
		}
	}
	return ps
}

// account sums, by command name, the CPU time processes spent between
// samples. The first sample is the baseline: what processes spent before
// it is not counted; so is the sample after one where /proc could not be
// listed, rather than count every process's whole life again. A process
// first seen later counts from its start.
// A process that exits is reaped by its parent, whose children's time
// then grows by the child's whole life. Less what was seen of the child
// already, that is "children of" the parent: mostly processes that lived
// between two samples (runc, a docker exec, an etcdctl), which are not
// otherwise seen, and the last moments of those that were.
type account struct {
	last   map[int]proc // nil: the next sample is a baseline
	byComm map[string]uint64
	names  map[int]string // every pid seen, by its latest name
}

func newAccount() *account {
	return &account{byComm: map[string]uint64{}, names: map[int]string{}}
}

func (a *account) sample(ps map[int]proc) {
	for pid, p := range ps {
		a.names[pid] = p.Comm
	}
	if a.last == nil || ps == nil {
		a.last = ps
		return
	}
	// Each parent's growth in children's time, less what its children
	// that exited since the last sample had already spent when last
	// seen (counted then, or before the baseline).
	reaped := map[int]uint64{}
	for pid, p := range ps {
		prev, seen := a.last[pid]
		switch {
		case seen && p.Ticks >= prev.Ticks:
			// the same process, perhaps exec'd under a new name since
			a.byComm[p.Comm] += p.Ticks - prev.Ticks
			if p.Children >= prev.Children {
				reaped[pid] = p.Children - prev.Children
			}
		default:
			// new since the last sample (or its pid was reused)
			a.byComm[p.Comm] += p.Ticks
			reaped[pid] = p.Children
		}
	}
	// Exited processes by parent. What was seen of an exited process is
	// its time and its children's when last sampled, and what was seen of
	// its own children that exited since: a chain that ends within one
	// interval (make, then the go command it ran) reaches the survivor at
	// its top whole.
	gone := map[int][]int{}
	for pid, prev := range a.last {
		if _, ok := ps[pid]; !ok {
			gone[prev.PPid] = append(gone[prev.PPid], pid)
		}
	}
	var seen func(pid int, depth int) uint64
	seen = func(pid int, depth int) uint64 {
		c := a.last[pid]
		n := c.Ticks + c.Children
		if depth < 64 { // a pid reused within the interval cannot loop us
			for _, g := range gone[pid] {
				n += seen(g, depth+1)
			}
		}
		return n
	}
	for ppid, grown := range reaped {
		for _, c := range gone[ppid] {
			grown -= min(grown, seen(c, 0))
		}
		if grown > 0 {
			a.byComm["children of "+ps[ppid].Comm] += grown
		}
	}
	a.last = ps
}

type budget struct {
	Wall    time.Duration
	Cores   int
	Machine machine
	ByComm  map[string]uint64
}

func report(w io.Writer, b budget, top int) {
	sec := func(t uint64) float64 { return float64(t) / userHZ }
	busy := sec(b.Machine.Busy())
	fmt.Fprintf(w, "\ncpubudget: wall %s on %d cores\n", b.Wall.Round(time.Second), b.Cores)
	fmt.Fprintf(w, "  machine busy %.0f CPU-s (user %.0f, system %.0f, interrupts %.0f, stolen %.0f), idle %.0f, waiting on I/O %.0f\n",
		busy, sec(b.Machine.User+b.Machine.Nice), sec(b.Machine.System), sec(b.Machine.IRQ+b.Machine.SoftIRQ), sec(b.Machine.Steal),
		sec(b.Machine.Idle), sec(b.Machine.IOWait))
	if b.Cores > 0 {
		fmt.Fprintf(w, "  floor: %.0f CPU-s on %d cores is at least %s of wall time, with every core busy all along\n",
			busy, b.Cores, (time.Duration(busy/float64(b.Cores)) * time.Second).Round(time.Second))
	}
	type row struct {
		comm string
		t    uint64
	}
	var rows []row
	var tracked uint64
	for c, t := range b.ByComm {
		rows = append(rows, row{c, t})
		tracked += t
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].t != rows[j].t {
			return rows[i].t > rows[j].t
		}
		return rows[i].comm < rows[j].comm
	})
	for i, r := range rows {
		if i == top || sec(r.t) < 0.5 {
			break
		}
		fmt.Fprintf(w, "  %8.0f CPU-s %4.1f%%  %s\n", sec(r.t), pct(sec(r.t), busy), r.comm)
	}
	if un := busy - sec(tracked); un > 0 {
		fmt.Fprintf(w, "  %8.0f CPU-s %4.1f%%  not attributed (interrupts, processes whose parent exited first)\n", un, pct(un, busy))
	}
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}
