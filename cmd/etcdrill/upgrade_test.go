package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every case here ends before the rehearsal: bad input is a usage error,
// and a blocked path is refused by the gates, which need no Docker.
func TestUpgradeCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg37 := write("etcd.yaml", "name: infra1\nexperimental-initial-corrupt-check: true\n")
	empty := write("empty.txt", "# nothing\n")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		errHas    []string
		stdoutHas []string
	}{
		{name: "no versions", args: []string{"upgrade-check"}, code: 2, errHas: []string{"--from and --to are required"}},
		{name: "bad from", args: []string{"upgrade-check", "--from", "3.4.9", "--to", "3.5.35"}, code: 2, errHas: []string{"--from", "3.4.9"}},
		{name: "bad members", args: []string{"upgrade-check", "--from", "3.5.35", "--to", "3.6.16", "--members", "4"}, code: 2, errHas: []string{"--members 4"}},
		{name: "missing config", args: []string{"upgrade-check", "--from", "3.5.35", "--to", "3.6.16", "--config", filepath.Join(dir, "nope")}, code: 2, errHas: []string{"--config"}},
		{name: "config without settings", args: []string{"upgrade-check", "--from", "3.5.35", "--to", "3.6.16", "--config", empty}, code: 2, errHas: []string{"no etcd settings"}},
		{name: "missing data dir", args: []string{"upgrade-check", "--from", "3.5.35", "--to", "3.6.16", "--data-dir", filepath.Join(dir, "nope.tar")}, code: 2, errHas: []string{"--data-dir"}},
		{name: "v2 on 3.6", args: []string{"upgrade-check", "--from", "3.6.16", "--to", "3.7.3", "--v2"}, code: 2, errHas: []string{"--v2"}},
		{name: "3.5.19 is refused by the learner-promotion gate", args: []string{"upgrade-check", "--from", "3.5.19", "--to", "3.6.16", "--out", dir}, code: 1,
			errHas: []string{"not safe", "min-patch"}, stdoutHas: []string{"BLOCKED", "3.5.20 or later", "see: https://github.com/etcd-io/etcd/issues/19557", "report: " + dir}},
		{name: "skipping a minor is refused", args: []string{"upgrade-check", "--from", "3.5.35", "--to", "3.7.3", "--out", ""}, code: 1,
			errHas: []string{"skip-minor"}, stdoutHas: []string{"BLOCKED", "skips 3.6", "upgrading-etcd"}},
		{name: "a two-minor downgrade is refused", args: []string{"upgrade-check", "--from", "3.7.3", "--to", "3.5.35", "--out", ""}, code: 1,
			errHas: []string{"downgrade-skip-minor"}},
		{name: "an experimental flag in the config blocks 3.7", args: []string{"upgrade-check", "--from", "3.6.16", "--to", "3.7.3", "--config", cfg37, "--out", ""}, code: 1,
			errHas: []string{"flag-removed"}, stdoutHas: []string{"BLOCKED", "do: use the feature gate instead: feature-gates: InitialCorruptCheck=true", "at: etcd.yaml:2"}},
		{name: "help", args: []string{"upgrade-check", "-h"}, code: 0, stdoutHas: []string{"--from", "--data-dir", "issue 19557"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("run(%q) = %v", tc.args, err)
				}
			} else {
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != tc.code {
					t.Fatalf("run(%q) = %v, want exit %d", tc.args, err, tc.code)
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
					t.Errorf("stdout does not mention %q:\n%s", s, stdout.String())
				}
			}
		})
	}
}

func TestUpgradeCheckJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"upgrade-check", "--from", "3.5.19", "--to", "3.6.16", "--out", "", "-o", "json"}, &stdout, &stderr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("run = %v, want exit 1", err)
	}
	var res struct {
		Safe     bool   `json:"safe"`
		Verdict  string `json:"verdict"`
		Findings []struct {
			ID, Severity, Fix, Link string
		} `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Safe || res.Verdict != "fail" {
		t.Errorf("safe=%v verdict=%q, want false and fail", res.Safe, res.Verdict)
	}
	found := false
	for _, f := range res.Findings {
		found = found || (f.ID == "min-patch" && f.Severity == "blocker" && f.Fix != "" && f.Link != "")
	}
	if !found {
		t.Errorf("no min-patch blocker with fix and link in %+v", res.Findings)
	}
}
