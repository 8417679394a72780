package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"slices"
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
		{name: "no args", args: nil, code: 2, stderrHas: []string{"Usage:"}, stdoutNone: true},
		{name: "unknown command", args: []string{"nope"}, code: 2, errHas: []string{`"nope"`}, stderrHas: []string{"Usage:"}, stdoutNone: true},
		{name: "unknown scenario", args: []string{"run", "nope-scenario"}, code: 2,
			errHas: []string{"nope-scenario", "leader-kill", "quorum-loss"}, stdoutNone: true},
		{name: "unknown scenario after a known one", args: []string{"run", "leader-kill", "nope-scenario"}, code: 2,
			errHas: []string{"nope-scenario"}, stdoutNone: true},
		{name: "bad tls", args: []string{"run", "--tls=maybe", "leader-kill"}, code: 2, errHas: []string{"maybe"}, stdoutNone: true},
		{name: "bad tls after name", args: []string{"run", "leader-kill", "--tls", "maybe"}, code: 2, errHas: []string{"maybe"}, stdoutNone: true},
		{name: "old version", args: []string{"run", "--version", "3.4.1", "leader-kill"}, code: 2, errHas: []string{"3.4.1", "3.5"}, stdoutNone: true},
		{name: "malformed version", args: []string{"run", "--version=abc", "leader-kill"}, code: 2, errHas: []string{"abc"}, stdoutNone: true},
		{name: "unknown flag", args: []string{"run", "--nope", "leader-kill"}, code: 2, errHas: []string{"nope"}, stdoutNone: true},
		{name: "run help", args: []string{"run", "-h"}, code: 0, stderrHas: []string{"Usage: etcdrill run", "-tls"}, stdoutNone: true},
		{name: "list", args: []string{"list"}, code: 0, stdoutHas: []string{"NAME", "leader-kill", "quorum-loss"}},
		{name: "help", args: []string{"help"}, code: 0, stdoutHas: []string{"Exit codes", "etcdrill run"}},
		{name: "--help", args: []string{"--help"}, code: 0, stdoutHas: []string{"Exit codes"}},
		{name: "report missing dir", args: []string{"report", "/nonexistent"}, code: 2, errHas: []string{"/nonexistent"}, stdoutNone: true},
		{name: "report no dir", args: []string{"report"}, code: 2, errHas: []string{"usage"}, stdoutNone: true},
		{name: "report two dirs", args: []string{"report", "/a", "/b"}, code: 2, stdoutNone: true},
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

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		pos     []string
		x, y    string
		wantErr bool
	}{
		{name: "mixed", args: []string{"a", "--x=1", "b", "--y", "2"}, pos: []string{"a", "b"}, x: "1", y: "2"},
		{name: "flags first", args: []string{"--x=1", "-y=2", "a"}, pos: []string{"a"}, x: "1", y: "2"},
		{name: "flags last", args: []string{"a", "b", "--x", "1"}, pos: []string{"a", "b"}, x: "1"},
		{name: "only flags", args: []string{"--y=2"}, y: "2"},
		{name: "none", args: nil},
		{name: "after --", args: []string{"a", "--", "--x=1"}, pos: []string{"a", "--x=1"}},
		{name: "unknown flag", args: []string{"a", "--z=1"}, wantErr: true},
		{name: "missing value", args: []string{"a", "--x"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			x := fs.String("x", "", "")
			y := fs.String("y", "", "")
			pos, err := parseInterspersed(fs, tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseInterspersed(%q) = %q, want an error", tc.args, pos)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseInterspersed(%q): %v", tc.args, err)
			}
			if !slices.Equal(pos, tc.pos) {
				t.Errorf("positional = %q, want %q", pos, tc.pos)
			}
			if *x != tc.x || *y != tc.y {
				t.Errorf("x, y = %q, %q, want %q, %q", *x, *y, tc.x, tc.y)
			}
		})
	}
}

func TestParseInterspersedDoubleDash(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	x := fs.String("x", "", "")
	pos, err := parseInterspersed(fs, []string{"--", "a", "--x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if *x != "" || len(pos) != 2 || pos[0] != "a" || pos[1] != "--x=1" {
		t.Fatalf("after --: x=%q positional=%q, want x unset and [a --x=1]", *x, pos)
	}
}
