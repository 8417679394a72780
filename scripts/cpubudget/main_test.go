package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A comm with spaces and a ")" of its own; utime 1234, stime 56.
	line := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 1 0 100 0 0"
	p, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if p.Comm != "my (odd) proc" || p.Ticks != 1290 || p.PPid != 1 {
		t.Fatalf("got %+v, want comm %q, parent 1 and 1290 ticks", p, "my (odd) proc")
	}
	if p, err := parseProcStat("99 (containerd-shim) S 1 9 9 0 -1 0 0 0 0 0 5 6 300 45 20 0"); err != nil || p.Children != 345 || p.Ticks != 11 {
		t.Fatalf("children's time: got %+v, %v; want 345 ticks of children", p, err)
	}
	if p, err := parseProcStat("7 (kworker/u8:2-ext4-rsv-conversion) I 2 0 0 0 -1 0 0 0 0 0 30 70 0 0"); err != nil || p.Comm != "kworker (kernel)" || p.Ticks != 100 {
		t.Fatalf("kworker: got %+v, %v", p, err)
	}
	for _, bad := range []string{"", "12 no-parens S", "12 (x) S 1 2"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseMachine(t *testing.T) {
	m, err := parseMachine("cpu  253289 149 220691 144076 3212 0 13373 7 0 0")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(253289 + 149 + 220691 + 13373 + 7); m.Busy() != want || m.Idle != 144076 || m.IOWait != 3212 {
		t.Fatalf("got %+v busy %d, want busy %d", m, m.Busy(), want)
	}
	if _, err := parseMachine("intr 1 2 3"); err == nil {
		t.Error("a line that is not the cpu line: want an error")
	}
}

func TestAccountCountsOnlyTimeAfterTheBaseline(t *testing.T) {
	a := newAccount()
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 500}, 2: {Comm: "dockerd", Ticks: 50}})
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 700}, 3: {Comm: "etcdctl", Ticks: 20}}) // 2 exited, 3 is new
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 760}, 3: {Comm: "etcd", Ticks: 25}})    // 3 exec'd under a new name
	want := map[string]uint64{"etcd": 200 + 60 + 5, "etcdctl": 20}
	for c, n := range want {
		if a.byComm[c] != n {
			t.Errorf("%s: %d ticks, want %d", c, a.byComm[c], n)
		}
	}
	if _, ok := a.byComm["dockerd"]; ok {
		t.Error("dockerd spent nothing after the baseline, yet is counted")
	}
}

func TestAccountTakesANewBaselineAfterAFailedListing(t *testing.T) {
	a := newAccount()
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 500}})
	a.sample(nil) // /proc could not be listed
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 510}})
	a.sample(map[int]proc{1: {Comm: "etcd", Ticks: 530}})
	if got := a.byComm["etcd"]; got != 20 {
		t.Errorf("etcd: %d ticks, want the 20 after the new baseline, not its whole life again", got)
	}
}

func TestAccountGivesReapedChildrenToTheirParent(t *testing.T) {
	a := newAccount()
	a.sample(map[int]proc{1: {Comm: "containerd-shim", Ticks: 10}, 5: {Comm: "etcd", PPid: 1, Ticks: 100}})
	a.sample(map[int]proc{1: {Comm: "containerd-shim", Ticks: 12}, 5: {Comm: "etcd", PPid: 1, Ticks: 150}})
	// etcd exits with 160 ticks and is reaped, as is a runc of 27 ticks
	// that lived between two samples: the shim's children grow by 187.
	a.sample(map[int]proc{1: {Comm: "containerd-shim", Ticks: 13, Children: 187}})
	want := map[string]uint64{"etcd": 50, "containerd-shim": 3, "children of containerd-shim": 10 + 27}
	for c, n := range want {
		if a.byComm[c] != n {
			t.Errorf("%s: %d ticks, want %d (all: %v)", c, a.byComm[c], n, a.byComm)
		}
	}
}

func TestAccountCountsAChainThatExitsInOneIntervalOnce(t *testing.T) {
	a := newAccount()
	a.sample(map[int]proc{1: {Comm: "cpubudget"}, 2: {Comm: "bash", PPid: 1}, 3: {Comm: "make", PPid: 2}, 4: {Comm: "go", PPid: 3}})
	a.sample(map[int]proc{1: {Comm: "cpubudget"}, 2: {Comm: "bash", PPid: 1, Ticks: 1}, 3: {Comm: "make", PPid: 2, Ticks: 2, Children: 500}, 4: {Comm: "go", PPid: 3, Ticks: 300}})
	// go (300 + 5 more), make (2) and bash (1) exit one after another,
	// each reaped by its parent: cpubudget's children grow by all of it.
	a.sample(map[int]proc{1: {Comm: "cpubudget", Children: 305 + 2 + 500 + 1}})
	if got := a.byComm["children of cpubudget"]; got != 5 {
		t.Errorf("children of cpubudget: %d ticks, want the 5 not seen before (all: %v)", got, a.byComm)
	}
}

func TestReportFloorAndUnattributed(t *testing.T) {
	var b strings.Builder
	report(&b, budget{
		Wall:    10 * time.Minute,
		Cores:   2,
		Machine: machine{User: 60000, System: 36000, Idle: 24000},
		ByComm:  map[string]uint64{"etcd": 48000, "dockerd": 24000},
	}, 10)
	out := b.String()
	for _, want := range []string{"machine busy 960 CPU-s", "at least 8m0s of wall time", "480 CPU-s 50.0%  etcd", "240 CPU-s 25.0%  not attributed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestRunPassesTheExitCode(t *testing.T) {
	var b strings.Builder
	code, err := run([]string{"sh", "-c", "exit 3"}, 10*time.Millisecond, 5, "", &b)
	if err != nil || code != 3 {
		t.Fatalf("got %d, %v; want exit 3", code, err)
	}
	if !strings.Contains(b.String(), "cpubudget: wall") {
		t.Errorf("no budget printed:\n%s", b.String())
	}
	if _, err := run([]string{"/nonexistent/command"}, time.Second, 5, "", &b); err == nil {
		t.Error("a command that cannot start: want an error")
	}
}
