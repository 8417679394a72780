package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// Every case here stops before run's Docker preflight: an unknown scenario,
// a bad --tls or an unparsable --version are rejected first.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int      // 0: run returns nil
		errHas     []string // substrings of the error
		stdoutHas  []string
		stderrHas  []string
		stdoutNone bool // nothing on stdout
	}{
		{name: "no args prints help", args: nil, code: 0, stdoutHas: []string{"Usage:", "Exit codes"}},
		{name: "unknown command", args: []string{"nope"}, code: 2, errHas: []string{`"nope"`}, stdoutNone: true},
		{name: "unknown scenario", args: []string{"run", "nope-scenario"}, code: 2,
			errHas: []string{"nope-scenario", "leader-kill", "quorum-loss"}, stdoutNone: true},
		{name: "unknown scenario after a known one", args: []string{"run", "leader-kill", "nope-scenario"}, code: 2,
			errHas: []string{"nope-scenario"}, stdoutNone: true},
		{name: "bad tls", args: []string{"run", "--tls=maybe", "leader-kill"}, code: 2, errHas: []string{"maybe"}, stdoutNone: true},
		{name: "bad tls after name", args: []string{"run", "leader-kill", "--tls", "maybe"}, code: 2, errHas: []string{"maybe"}, stdoutNone: true},
		{name: "old version", args: []string{"run", "--version", "3.4.1", "leader-kill"}, code: 2, errHas: []string{"3.4.1", "3.5"}, stdoutNone: true},
		{name: "malformed version", args: []string{"run", "--version=abc", "leader-kill"}, code: 2, errHas: []string{"abc"}, stdoutNone: true},
		{name: "unknown flag", args: []string{"run", "--nope", "leader-kill"}, code: 2, errHas: []string{"nope"}, stdoutNone: true},
		{name: "run help", args: []string{"run", "-h"}, code: 0, stdoutHas: []string{"etcdrill run [NAME...]", "--tls", "--versions", "Examples:"}},
		{name: "version", args: []string{"version"}, code: 0, stdoutHas: []string{"etcdrill", "3.6.16"}},
		{name: "completion", args: []string{"completion", "bash"}, code: 0, stdoutHas: []string{"etcdrill"}},
		{name: "list", args: []string{"list"}, code: 0, stdoutHas: []string{"DRILL", "leader-kill", "quorum-loss", "FAULT", "destroy-majority", "kill-leader"}},
		// Defect 1: impossible sizes were a panic after containers started.
		{name: "quorum-loss on 1 member", args: []string{"run", "quorum-loss", "--members", "1"}, code: 2,
			errHas: []string{"quorum-loss", "majority of a 1-member cluster"}, stdoutNone: true},
		{name: "force-new-cluster on 1 member", args: []string{"run", "force-new-cluster", "--members", "1"}, code: 2, errHas: []string{"force-new-cluster"}, stdoutNone: true},
		{name: "snapshot-from-db-file on 1 member", args: []string{"run", "snapshot-from-db-file", "--members", "1"}, code: 2, errHas: []string{"snapshot-from-db-file", "of a 1-member cluster"}, stdoutNone: true},
		{name: "all on 1 member", args: []string{"run", "--all", "--members", "1"}, code: 2, stdoutNone: true},
		// Defect 6: bad load settings were recorded as one thing while another ran.
		{name: "zero writers", args: []string{"run", "leader-kill", "--writers", "0"}, code: 2, errHas: []string{"--writers 0"}, stdoutNone: true},
		{name: "negative rate", args: []string{"run", "leader-kill", "--rate", "-1"}, code: 2, errHas: []string{"--rate -1"}, stdoutNone: true},
		{name: "zero timeout", args: []string{"run", "leader-kill", "--timeout", "0s"}, code: 2, errHas: []string{"--timeout"}, stdoutNone: true},
		{name: "help", args: []string{"help"}, code: 0, stdoutHas: []string{"Exit codes", "etcdrill run"}},
		{name: "--help", args: []string{"--help"}, code: 0, stdoutHas: []string{"Exit codes"}},
		{name: "report missing dir", args: []string{"report", "/nonexistent"}, code: 2, errHas: []string{"/nonexistent"}, stdoutNone: true},
		{name: "report no dir", args: []string{"report"}, code: 2, errHas: []string{"accepts 1 arg"}, stdoutNone: true},
		{name: "report two dirs", args: []string{"report", "/a", "/b"}, code: 2, stdoutNone: true},
		{name: "zero parallel", args: []string{"run", "leader-kill", "--parallel", "0"}, code: 2, errHas: []string{"--parallel 0"}, stdoutNone: true},
		{name: "negative parallel", args: []string{"run", "--all", "--parallel=-2"}, code: 2, errHas: []string{"--parallel -2"}, stdoutNone: true},
		{name: "shard past the count", args: []string{"run", "--all", "--shard", "3/2"}, code: 2, errHas: []string{`--shard "3/2"`}, stdoutNone: true},
		{name: "shard zero", args: []string{"run", "--all", "--shard", "0/2"}, code: 2, errHas: []string{`--shard "0/2"`}, stdoutNone: true},
		{name: "shard not numbers", args: []string{"run", "--all", "--shard", "a/b"}, code: 2, errHas: []string{`--shard "a/b"`}, stdoutNone: true},
		{name: "shard without a count", args: []string{"run", "--shard", "2"}, code: 2, errHas: []string{"--shard"}, stdoutNone: true},
		{name: "run help has parallel and shard", args: []string{"run", "--help"}, code: 0, stdoutHas: []string{"--parallel", "--shard", "report --merge"}},
		{name: "merge without dirs", args: []string{"report", "--merge"}, code: 2, errHas: []string{"--merge", "DIR"}, stdoutNone: true},
		{name: "out without merge", args: []string{"report", "--out", "/tmp/x", "/a"}, code: 2, errHas: []string{"--out", "--merge"}, stdoutNone: true},
		{name: "merge missing dir", args: []string{"report", "--merge", "/nonexistent-runs"}, code: 2, errHas: []string{"/nonexistent-runs"}, stdoutNone: true},
		{name: "failpoints without versions", args: []string{"images", "--failpoints"}, code: 2, errHas: []string{"--failpoints", "--version"}, stdoutNone: true},
		{name: "report help has merge", args: []string{"report", "-h"}, code: 0, stdoutHas: []string{"--merge", "--out", "report --merge runs/shard-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("run(%q) = %v, want no error", tc.args, err)
				}
			} else {
				var ee *exitError
				if !errors.As(err, &ee) {
					t.Fatalf("run(%q) = %v, want an *exitError", tc.args, err)
				}
				if ee.code != tc.code {
					t.Errorf("run(%q) exit code %d, want %d (error %v)", tc.args, ee.code, tc.code, err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
			}
			for _, s := range tc.errHas {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error %v does not mention %q", err, s)
				}
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout does not contain %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr.String())
				}
			}
			if tc.stdoutNone && stdout.Len() > 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
		})
	}
}

func TestFlagsAfterNamesAreParsed(t *testing.T) {
	// A bad --tls after the drill name must be seen (exit 2 naming the
	// flag) before anything touches Docker.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "leader-kill", "--tls", "maybe"}, &out, &errOut)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--tls") {
		t.Fatalf("run leader-kill --tls maybe = %v, want exit 2 naming --tls", err)
	}
}

func TestOutputJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"list", "-o", "json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Drills []struct{ Name string }
		Faults []struct {
			Name   string
			Drills []string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		t.Fatalf("list -o json is not JSON: %v\n%s", err, out.String())
	}
	found := false
	for _, e := range list.Drills {
		found = found || e.Name == "quorum-loss"
	}
	for _, f := range list.Faults {
		found = found && (f.Name != "destroy-majority" || strings.Contains(strings.Join(f.Drills, ","), "quorum-loss"))
	}
	if !found {
		t.Fatalf("list -o json lacks quorum-loss: %s", out.String())
	}
	if err := run(context.Background(), []string{"list", "-o", "yaml"}, &out, &errOut); err == nil {
		t.Fatal("-o yaml should be refused")
	}
}

// TestErrorFormat is defect 6: an unknown root flag printed
// "etcdrill: etcdrill: ...", and with -o json errors were not JSON.
func TestErrorFormat(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--nope"}, &out, &errOut)
	var line bytes.Buffer
	code := exitCode(err, &line, false)
	if code != 2 || strings.Count(line.String(), "etcdrill:") != 1 {
		t.Fatalf("unknown root flag: exit %d, %q; want exit 2 and one etcdrill: prefix", code, line.String())
	}
	for _, args := range [][]string{{"run", "nope-drill", "-o", "json"}, {"--output=json", "run", "--writers", "0"}, {"-o", "json", "--nope"}} {
		err := run(context.Background(), args, &out, &errOut)
		line.Reset()
		code := exitCode(err, &line, jsonWanted(args))
		var v struct {
			Error string `json:"error"`
			Exit  int    `json:"exit_code"`
		}
		if jerr := json.Unmarshal(line.Bytes(), &v); jerr != nil || v.Error == "" || v.Exit != code || code != 2 {
			t.Errorf("%q: exit %d, printed %q; want one JSON error object with exit_code 2", args, code, line.String())
		}
	}
}

// TestInterrupts is defect 2: the first Ctrl-C cancels the run with the
// operator's cause (drills record interrupted, exit 130); the second
// stops waiting for teardown.
func TestInterrupts(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, cancel := context.WithCancelCause(context.Background())
	exited := make(chan struct{})
	var errOut bytes.Buffer
	go interrupts(sigs, cancel, &errOut, func() { close(exited) })
	sigs <- os.Interrupt
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), errInterrupted) {
		t.Fatalf("cause %v, want errInterrupted", context.Cause(ctx))
	}
	select {
	case <-exited:
		t.Fatal("exited on the first Ctrl-C; it must wait for teardown")
	default:
	}
	sigs <- os.Interrupt
	<-exited
	if code := exitCode(&exitError{exitInterrupted, errInterrupted}, &errOut, false); code != 130 {
		t.Fatalf("exit code %d, want 130", code)
	}
}
