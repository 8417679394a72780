package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// acctRecord encodes one acct_v3 record as the kernel writes it on a
// little-endian machine (times of life left zero: cpubudget reads none).
func acctRecord(comm string, pid, ppid int, utime, stime uint16) []byte {
	rec := make([]byte, acctRecordSize)
	rec[1] = 3
	le := binary.LittleEndian
	le.PutUint32(rec[16:], uint32(pid))
	le.PutUint32(rec[20:], uint32(ppid))
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
	b.Write(acctRecord("iptables", 40, 10, 1, 2))
	b.Write(acctRecord("exactly16charsxx", 41, 10, 1<<13|3, 0))
	b.Write(make([]byte, 20)) // the kernel is still writing the next one
	recs, err := parseAcct(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Comm != "iptables" || r.PID != 40 || r.PPID != 10 || r.Ticks != 3 {
		t.Errorf("first record: %+v", r)
	}
	if recs[1].Comm != "exactly16charsxx" || recs[1].Ticks != 24 {
		t.Errorf("second record: %+v", recs[1])
	}
	bad := acctRecord("x", 1, 0, 0, 0)
	bad[1] = 2
	if _, err := parseAcct(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("an acct_v2 file: got %v, want a version error", err)
	}
}

func TestByParentNamesParents(t *testing.T) {
	recs := []exited{
		{Comm: "exe", PID: 100, PPID: 1451, Ticks: 20},
		{Comm: "exe", PID: 101, PPID: 1451, Ticks: 24},
		// a process that ran a child, then exited: its child is named
		// under it, not under whoever held the pid before
		{Comm: "iptables", PID: 300, PPID: 200, Ticks: 1},
		{Comm: "exe", PID: 200, PPID: 1451, Ticks: 19},
		// pid 200 reused later by another process under containerd-shim
		{Comm: "etcdctl", PID: 200, PPID: 77, Ticks: 16},
		// a parent nobody saw
		{Comm: "sh", PID: 400, PPID: 999, Ticks: 1},
	}
	names := map[int]string{1451: "dockerd", 77: "containerd-shim", 200: "old-name"}
	rows := byParent(recs, names)
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

// The records of processes that exited before the command started are
// in the file too: only those it gained while the command ran count.
func TestRunCountsOnlyTheRecordsWrittenWhileTheCommandRan(t *testing.T) {
	dir := t.TempDir()
	pacct, during := filepath.Join(dir, "pacct"), filepath.Join(dir, "during")
	if err := os.WriteFile(pacct, acctRecord("before", 5, 1, 5000, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(during, acctRecord("during", 6, 1, 300, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	code, err := run([]string{"sh", "-c", `cat "$0" >> "$1"`, during, pacct}, time.Second, 10, pacct, &b)
	if err != nil || code != 0 {
		t.Fatalf("got %d, %v:\n%s", code, err, b.String())
	}
	out := b.String()
	if !strings.Contains(out, "1 processes, 3 CPU-s in all") || !strings.Contains(out, "→ during") || strings.Contains(out, "before") {
		t.Errorf("want the one record written while the command ran:\n%s", out)
	}
}

func TestRunRefusesAnAcctFileOfAnotherFormat(t *testing.T) {
	pacct := filepath.Join(t.TempDir(), "pacct")
	v2 := acctRecord("x", 1, 0, 0, 0)
	v2[1] = 2
	if err := os.WriteFile(pacct, v2, 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := run([]string{"true"}, time.Second, 5, pacct, &b); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("got %v, want a format error before the command runs", err)
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
