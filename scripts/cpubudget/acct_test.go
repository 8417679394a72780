package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// acctRecord encodes one acct_v3 record as the kernel writes it on a
// little-endian machine.
func acctRecord(comm string, pid, ppid int, btime int64, elapsedTicks float32, utime, stime uint16) []byte {
	rec := make([]byte, acctRecordSize)
	rec[1] = 3
	le := binary.LittleEndian
	le.PutUint32(rec[16:], uint32(pid))
	le.PutUint32(rec[20:], uint32(ppid))
	le.PutUint32(rec[24:], uint32(btime))
	le.PutUint32(rec[28:], math.Float32bits(elapsedTicks))
	le.PutUint16(rec[32:], utime)
	le.PutUint16(rec[34:], stime)
	copy(rec[48:], comm)
	return rec
}

func TestCompT(t *testing.T) {
	for _, c := range []struct {
		v    uint16
		want uint64
	}{{0, 0}, {25, 25}, {0x1fff, 8191}, {1<<13 | 3, 24}, {2<<13 | 5, 320}} {
		if got := compT(c.v); got != c.want {
			t.Errorf("compT(%#x) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestParseAcct(t *testing.T) {
	var b bytes.Buffer
	b.Write(acctRecord("iptables", 40, 10, 1000, 150, 1, 2))
	b.Write(acctRecord("exactly16charsxx", 41, 10, 1000, 0, 1<<13|3, 0))
	b.Write(make([]byte, 20)) // the kernel is still writing the next one
	recs, err := parseAcct(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Comm != "iptables" || r.PID != 40 || r.PPID != 10 || r.Ticks != 3 || !r.End.Equal(time.Unix(1001, 500e6)) {
		t.Errorf("first record: %+v", r)
	}
	if recs[1].Comm != "exactly16charsxx" || recs[1].Ticks != 24 {
		t.Errorf("second record: %+v", recs[1])
	}
	bad := acctRecord("x", 1, 0, 0, 0, 0, 0)
	bad[1] = 2
	if _, err := parseAcct(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("an acct_v2 file: got %v, want a version error", err)
	}
}

func TestByParentNamesParentsAndWindow(t *testing.T) {
	start := time.Unix(2000, 0)
	recs := []exited{
		{Comm: "exe", PID: 100, PPID: 1451, Ticks: 20, End: start.Add(time.Second)},
		{Comm: "exe", PID: 101, PPID: 1451, Ticks: 24, End: start.Add(2 * time.Second)},
		// a process that ran a child, then exited: its child is named
		// under it, not under whoever held the pid before
		{Comm: "iptables", PID: 300, PPID: 200, Ticks: 1, End: start.Add(3 * time.Second)},
		{Comm: "exe", PID: 200, PPID: 1451, Ticks: 19, End: start.Add(3 * time.Second)},
		// pid 200 reused later by another process under containerd-shim
		{Comm: "etcdctl", PID: 200, PPID: 77, Ticks: 16, End: start.Add(4 * time.Second)},
		// before the command started, and after it ended: not counted
		{Comm: "exe", PID: 102, PPID: 1451, Ticks: 500, End: start.Add(-5 * time.Second)},
		{Comm: "exe", PID: 103, PPID: 1451, Ticks: 500, End: start.Add(time.Minute)},
		// a parent nobody saw
		{Comm: "sh", PID: 400, PPID: 999, Ticks: 1, End: start.Add(time.Second)},
	}
	names := map[int]string{1451: "dockerd", 77: "containerd-shim", 200: "old-name"}
	rows := byParent(recs, start, start.Add(10*time.Second), names)
	got := map[string]exitedRow{}
	for _, r := range rows {
		got[r.Parent+" → "+r.Comm] = r
	}
	if r := got["dockerd → exe"]; r.N != 3 || r.Ticks != 63 {
		t.Errorf("dockerd → exe: %+v, want 3 processes, 63 ticks", r)
	}
	if r := got["exe → iptables"]; r.N != 1 {
		t.Errorf("the child of an exited parent: %+v; rows %+v", r, rows)
	}
	if r := got["containerd-shim → etcdctl"]; r.N != 1 || r.Ticks != 16 {
		t.Errorf("containerd-shim → etcdctl: %+v", r)
	}
	if r := got["? → sh"]; r.N != 1 {
		t.Errorf("unknown parent: %+v", r)
	}
	if rows[0].Parent != "dockerd" || rows[0].Comm != "exe" {
		t.Errorf("rows not sorted by CPU: %+v", rows)
	}
	var b strings.Builder
	reportExited(&b, "pacct", rows, 1, 10)
	if !strings.Contains(b.String(), "6 processes, 1 CPU-s in all") || !strings.Contains(b.String(), "dockerd → exe") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestRunRefusesAnUnreadableAcctFileBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	var b strings.Builder
	_, err := run([]string{"touch", marker}, time.Second, 5, filepath.Join(dir, "missing"), &b)
	if err == nil || !strings.Contains(err.Error(), "-acct") {
		t.Fatalf("got %v, want an -acct error", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although the accounting file could not be read")
	}
}
