package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// defaultParallel is how many drills `run` runs at once without
// --parallel.
const defaultParallel = 1

// forEach calls do(i) for every i from 0 to n-1, starting them in that
// order with at most parallel calls running at a time, and returns once
// every call it started has returned. It starts no more calls once ctx
// is done (the running ones see ctx themselves) or once a call has
// returned false. Each call runs on a goroutine of its own, so do must
// not share unguarded state between calls; what a call writes for its own
// i can be read after forEach returns.
func forEach(ctx context.Context, n, parallel int, do func(i int) bool) {
	parallel = max(parallel, 1)
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var stop atomic.Bool
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || stop.Load() {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if !do(i) {
				stop.Store(true)
			}
		}()
	}
	wg.Wait()
}

// parseShard reads --shard "i/n" (1 ≤ i ≤ n); "" is no sharding (0, 0).
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if !ok || ierr != nil || nerr != nil || n < 1 || i < 1 || i > n {
		return 0, 0, usageErr("--shard %q: want i/n, shard i of n counting from 1 (e.g. 2/3)", s)
	}
	return i, n, nil
}

// shardNote says which shard of the matrix a run covers, for stderr.
func shardNote(i, n, of, total int) string {
	return fmt.Sprintf("shard %d/%d: %d of the matrix's %d drills", i, n, of, total)
}
