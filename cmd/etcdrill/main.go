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
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `etcdrill proves etcd disaster recovery works: it starts real etcd clusters in
containers, injects faults, runs the operator's recovery procedure, verifies
every key and member, and writes a drill report.

Usage:
  etcdrill list                      list the drill catalogue
  etcdrill run [flags] [NAME...]     run drills (default: leader-kill quorum-loss)
  etcdrill report DIR                re-render report.md from DIR/report.json
  etcdrill images [--version V]      build (if needed) and list etcd images
  etcdrill reap                      remove leftovers of killed runs

Run 'etcdrill run -h' for the run flags.

Exit codes: 0 all drills passed, 1 a drill failed, 2 usage or environment error.
`

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, a ...any) error {
	return &exitError{2, fmt.Errorf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 2
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "etcdrill:", err)
		os.Exit(code)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command given")
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "list":
		return list(stdout)
	case "run":
		return (&runCmd{}).run(ctx, args[1:], stdout, stderr, lg)
	case "report":
		return report(args[1:], stdout)
	case "images":
		return images(ctx, args[1:], stdout, stderr, lg)
	case "reap":
		return reap(ctx, stdout, lg)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageErr("unknown command %q", args[0])
}
