// Command etcdrill runs etcd disaster-recovery drills against real etcd
// clusters in containers and writes a report per drill.
//
// Exit codes: 0 every drill passed (or did not apply), 1 a drill failed,
// 2 usage or environment error (no Docker, unknown version or scenario).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is etcdrill's own version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "dev"

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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err as one line and maps it to the documented exit
// code: a drill failure is 1, everything else (usage, environment) is 2.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "etcdrill:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2
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
