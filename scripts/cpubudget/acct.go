package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Process accounting (acct(2), Debian's `acct`: `accton FILE`) writes one
// record for every process that exits, with its whole CPU time, however
// short it lived: what the /proc samples see only as "children of" a
// parent. cpubudget never turns accounting on or off (that is the
// machine's setting, perhaps someone else's file); with -acct it reads
// the records the file the caller turned on gained while the command
// ran: those between its size before the command started and its size
// when the command had exited.

// acctRecordSize is sizeof(struct acct_v3) in <linux/acct.h>.
const acctRecordSize = 64

// ahz is AHZ, the unit of acct_v3's times: 100 on every architecture.
const ahz = 100

// exited is one acct_v3 record.
type exited struct {
	Comm      string
	PID, PPID int
	Ticks     uint64 // user and system time, in AHZ ticks
}

// parseAcct reads acct_v3 records (little-endian, as on amd64 and arm64);
// a partial record at the end (the kernel still writing) is ignored.
func parseAcct(r io.Reader) ([]exited, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []exited
	for off := 0; off+acctRecordSize <= len(b); off += acctRecordSize {
		rec := b[off : off+acctRecordSize]
		if v := rec[1]; v != 3 {
			return nil, fmt.Errorf("record %d: accounting format version %d, want 3 (little-endian acct_v3)", off/acctRecordSize, v)
		}
		le := binary.LittleEndian
		comm := string(rec[48:64])
		if i := strings.IndexByte(comm, 0); i >= 0 {
			comm = comm[:i]
		}
		out = append(out, exited{
			Comm:  group(comm),
			PID:   int(le.Uint32(rec[16:])),
			PPID:  int(le.Uint32(rec[20:])),
			Ticks: compT(le.Uint16(rec[32:])) + compT(le.Uint16(rec[34:])),
		})
	}
	return out, nil
}

// compT decodes a comp_t: a 13-bit mantissa and a 3-bit base-8 exponent.
func compT(v uint16) uint64 {
	return uint64(v&0x1fff) << (3 * (v >> 13))
}

// exitedRow is the processes of one command name under one parent name.
type exitedRow struct {
	Parent, Comm string
	N            int
	Ticks        uint64
}

// byParent sums the records by parent and command name. A parent is
// named by the next record of its pid (parents exit after their children,
// and a pid is reused only after its process exits), else by names, the
// live processes cpubudget saw, else "?".
func byParent(recs []exited, names map[int]string) []exitedRow {
	parent := make([]string, len(recs))
	next := map[int]string{}
	for i := len(recs) - 1; i >= 0; i-- {
		p, ok := next[recs[i].PPID]
		if !ok {
			p, ok = names[recs[i].PPID]
		}
		if !ok {
			p = "?"
		}
		parent[i] = p
		next[recs[i].PID] = recs[i].Comm
	}
	sums := map[[2]string]*exitedRow{}
	for i, r := range recs {
		k := [2]string{parent[i], r.Comm}
		row := sums[k]
		if row == nil {
			row = &exitedRow{Parent: k[0], Comm: k[1]}
			sums[k] = row
		}
		row.N++
		row.Ticks += r.Ticks
	}
	rows := make([]exitedRow, 0, len(sums))
	for _, r := range sums {
		rows = append(rows, *r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Ticks != rows[j].Ticks {
			return rows[i].Ticks > rows[j].Ticks
		}
		return rows[i].Parent+rows[i].Comm < rows[j].Parent+rows[j].Comm
	})
	return rows
}

// acctSize is the size of the accounting file path, rounded down to
// whole records: where the records of a command about to start begin. A
// file whose first record is of another format is refused.
func acctSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("-acct: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("-acct: %w", err)
	}
	first := make([]byte, acctRecordSize)
	if _, err := io.ReadFull(f, first); err == nil {
		if _, err := parseAcct(bytes.NewReader(first)); err != nil {
			return 0, fmt.Errorf("-acct %s: %w", path, err)
		}
	}
	return fi.Size() - fi.Size()%acctRecordSize, nil
}

// readExited reads the records the accounting file path holds from byte
// from to its end: those of a command that has just exited, when from is
// acctSize before it started.
func readExited(path string, from int64) ([]exited, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-acct: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("-acct: %w", err)
	}
	recs, err := parseAcct(io.NewSectionReader(f, from, max(fi.Size()-from, 0)))
	if err != nil {
		return nil, fmt.Errorf("-acct %s: %w", path, err)
	}
	return recs, nil
}

// reportAcct lists the records path gained from byte from on (see
// reportExited). The command has run by then: a file it cannot read
// costs these lines, not the command's exit code.
func reportAcct(w io.Writer, path string, from int64, names map[int]string, busy float64, top int) {
	recs, err := readExited(path, from)
	if err != nil {
		fmt.Fprintln(w, "  cpubudget:", err)
		return
	}
	reportExited(w, path, byParent(recs, names), busy, top)
}

// reportExited lists rows as shares of the machine's busy time, busy
// CPU-seconds.
func reportExited(w io.Writer, path string, rows []exitedRow, busy float64, top int) {
	var n int
	var t uint64
	for _, r := range rows {
		n += r.N
		t += r.Ticks
	}
	sec := func(t uint64) float64 { return float64(t) / ahz }
	fmt.Fprintf(w, "  exited while it ran (process accounting, %s): %d processes, %.0f CPU-s in all, by parent → command:\n", path, n, sec(t))
	if n == 0 {
		fmt.Fprintln(w, "    none: was accounting on (accton FILE) while the command ran?")
	}
	for i, r := range rows {
		if i == top || sec(r.Ticks) < 0.5 {
			break
		}
		fmt.Fprintf(w, "  %8.0f CPU-s %4.1f%%  %6d × %6.0f ms  %s → %s\n",
			sec(r.Ticks), pct(sec(r.Ticks), busy), r.N, 1000*sec(r.Ticks)/float64(r.N), r.Parent, r.Comm)
	}
}
