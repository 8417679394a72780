//go:build ignore

// readfile reads a snapshot file offline as `etcdrill snapshot verify`
// does before it starts anything (recovery.ReadSnapshotFile), then walks
// its live keys in order (SnapshotFile.Keys), and prints what it found
// and how long each took, and the process's peak RSS after each (Linux's
// VmHWM): a process of its own, to measure its memory.
//
//	go build -o /tmp/readfile recovery/testdata/verifyfile/readfile.go
//	/usr/bin/time -v /tmp/readfile FILE
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/recovery"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: readfile FILE")
	}
	start := time.Now()
	f, err := recovery.ReadSnapshotFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	read := time.Since(start)
	fmt.Printf("%s: %d bytes\nintegrity: %s\n", f.Path, f.Size, f.Integrity)
	if f.Status == nil {
		log.Fatalf("status: %v", f.StatusErr)
	}
	fmt.Printf("status: %s\ndigest: %s of %d keys\nread in %s (%.0f MB/s), peak RSS %s\n",
		f.Status, f.Digest, f.KeyCount, read.Round(time.Millisecond), float64(f.Size)/1e6/read.Seconds(), peakRSS())
	start = time.Now()
	n, bytes := 0, 0
	if err := f.Keys(func(k, v []byte) error { n, bytes = n+1, bytes+len(k)+len(v); return nil }); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("keys: %d keys, %d bytes of keys and values, in %s, peak RSS %s\n", n, bytes, time.Since(start).Round(time.Millisecond), peakRSS())
}

// peakRSS is the process's peak resident set size so far.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
