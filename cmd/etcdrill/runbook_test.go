package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunbookCLI: `runbook export` needs no Docker, and a runbook that
// cannot run is refused with one line and exit 2 before anything starts.
func TestRunbookCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badHost := write("bad-host.md", "# restore\n\n```sh\n# on m9\netcdctl member list\n```\n")
	unclosed := write("unclosed.md", "# restore on m1\n\n```sh\netcdctl member list\n")
	good := write("good.md", "# restore on m1\n\n```sh\netcdctl member list\n```\n")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		errHas    string
		stdoutHas []string
	}{
		{"export", []string{"runbook", "export", "quorum-loss", "--version", "3.5.35"}, 0, "",
			[]string{"# Runbook: quorum-loss on etcd 3.5.35", "| `TOKEN` |", "# on m3\netcdutl snapshot restore \"${SNAPSHOT}\" --name=m3", "start etcd --initial-cluster="}},
		{"export without TLS, with auth", []string{"runbook", "export", "member-replace", "--tls", "off", "--auth", "on"}, 0, "",
			[]string{"--endpoints=\"${ENDPOINTS}\" --user=\"${ETCD_USER}:${ETCD_PASSWORD}\" member list"}},
		{"export of a drill without one", []string{"runbook", "export", "leader-kill"}, 2, "no runbook export for leader-kill", nil},
		{"export of an unknown drill", []string{"runbook", "export", "nope"}, 2, "nope", nil},
		{"export on a bad size", []string{"runbook", "export", "force-new-cluster", "--members", "5"}, 2, "force-new-cluster", nil},
		{"unknown host", []string{"run", "quorum-loss", "--runbook", badHost}, 2, "bad-host.md:4: unknown host m9", nil},
		{"unclosed block", []string{"run", "quorum-loss", "--runbook", unclosed}, 2, "unclosed.md:3: code block is never closed", nil},
		{"missing file", []string{"run", "quorum-loss", "--runbook", filepath.Join(dir, "none.md")}, 2, "none.md", nil},
		{"with --all", []string{"run", "--all", "--runbook", good}, 2, "--runbook replaces one drill's procedure", nil},
		{"with two drills", []string{"run", "quorum-loss", "leader-kill", "--runbook", good}, 2, "--runbook replaces one drill's procedure", nil},
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
				if !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line containing %q", err, tc.errHas)
				}
			}
			for _, s := range tc.stdoutHas {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
		})
	}
}
