// Command etcdrill runs etcd disaster-recovery drills against real etcd
// clusters in containers and writes a report per drill.
//
// Exit codes: 0 every drill passed (or did not apply), 1 a drill failed,
// 2 usage or environment error (no Docker, unknown version or scenario),
// 130 interrupted (Ctrl-C or SIGTERM).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Version is etcdrill's own version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "dev"

// exitInterrupted is the exit code of a run stopped by Ctrl-C, as shells
// report a process killed by SIGINT (128+2).
const exitInterrupted = 130

// errInterrupted is the cause of the run's context after the first
// Ctrl-C or SIGTERM; drills record it as their reason.
var errInterrupted = errors.New("stopped by the operator (Ctrl-C or SIGTERM)")

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{2, fmt.Errorf(format, a...)}
}

// memoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT is
// not set: etcdrill streams snapshots and keyspaces, so its live heap is
// small whatever the data's size, and the limit keeps the garbage
// collector from letting the heap double past it on a small machine.
const memoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go interrupts(sigs, cancel, os.Stderr, func() { os.Exit(exitInterrupted) })
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(exitCode(err, os.Stderr, jsonWanted(os.Args[1:])))
}

// interrupts handles Ctrl-C: the first cancels the run, which stops the
// drill, records it as interrupted and tears down; the second stops
// waiting for the teardown (the next run reaps what is left).
func interrupts(sigs <-chan os.Signal, cancel context.CancelCauseFunc, stderr io.Writer, exit func()) {
	<-sigs
	fmt.Fprintln(stderr, "etcdrill: interrupted: tearing down; press Ctrl-C again to stop waiting (the next run reaps what is left)")
	cancel(errInterrupted)
	<-sigs
	fmt.Fprintln(stderr, "etcdrill: stopped without waiting for teardown")
	exit()
}

// exitCode prints err as one line (a JSON object with asJSON) and maps
// it to the documented exit code: a drill failure is 1, an interrupt
// 130, everything else (usage, environment) 2.
func exitCode(err error, stderr io.Writer, asJSON bool) int {
	if err == nil {
		return 0
	}
	code := 2
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if asJSON {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
			Exit  int    `json:"exit_code"`
		}{err.Error(), code})
		fmt.Fprintln(stderr, string(b))
	} else {
		fmt.Fprintln(stderr, "etcdrill:", err)
	}
	return code
}

// jsonWanted reports whether args ask for -o json, so that even an error
// found while parsing them comes out as JSON.
func jsonWanted(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "-ojson" || a == "--output=json" || a == "-o=json":
			return true
		case (a == "-o" || a == "--output") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

// run executes the command line args; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = usageErr("%v", err) // cobra's own errors: unknown command, bad args
	}
	return err
}
