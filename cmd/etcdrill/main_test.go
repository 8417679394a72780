package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
		{name: "list", args: []string{"list"}, code: 0, stdoutHas: []string{"NAME", "leader-kill", "quorum-loss"}},
		{name: "help", args: []string{"help"}, code: 0, stdoutHas: []string{"Exit codes", "etcdrill run"}},
		{name: "--help", args: []string{"--help"}, code: 0, stdoutHas: []string{"Exit codes"}},
		{name: "report missing dir", args: []string{"report", "/nonexistent"}, code: 2, errHas: []string{"/nonexistent"}, stdoutNone: true},
		{name: "report no dir", args: []string{"report"}, code: 2, errHas: []string{"accepts 1 arg"}, stdoutNone: true},
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
	var entries []struct{ Name string }
	if err := json.Unmarshal(out.Bytes(), &entries); err != nil {
		t.Fatalf("list -o json is not JSON: %v\n%s", err, out.String())
	}
	found := false
	for _, e := range entries {
		found = found || e.Name == "quorum-loss"
	}
	if !found {
		t.Fatalf("list -o json lacks quorum-loss: %s", out.String())
	}
	if err := run(context.Background(), []string{"list", "-o", "yaml"}, &out, &errOut); err == nil {
		t.Fatal("-o yaml should be refused")
	}
}
