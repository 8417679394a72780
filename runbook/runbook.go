// Package runbook reads an operator's own recovery procedure and runs it
// in place of a drill's built-in one (`etcdrill run DRILL --runbook
// FILE`), and writes the built-in procedures in the same format
// (`etcdrill runbook export`).
//
// # Format
//
// A runbook is Markdown, the format etcdrill's report.md prints: every
// fenced code block whose info string is sh (or bash or shell) is a step;
// other blocks and all prose are ignored. The step's title is the nearest
// heading or list item above the block. A line `# on m2` (or `# then,
// on m2`) inside a block says that the lines after it run on member host
// m2; a heading or list item that ends with "on m2" (or "(on m2)") gives
// the host for the blocks under it. A host is a member name (m1 … mN) or
// one of the host variables ${SURVIVOR}, ${LOST_1}, ${LOST_2}, … which
// name the members the drill's fault spared or took (known only once the
// fault has struck). A plain shell script (a .sh file, or one starting
// with #!) is one step on m1, or on the host of its own `# on` lines.
//
// # Member hosts
//
// Each part of a block runs as `sh -euc '<lines>'` on its host with the
// variables of Vars in the environment. While etcd runs on the host, that
// is inside the member's container (`docker exec`); while it is stopped,
// in a one-off container from the member's image with the member's data
// volume at /var/lib/etcd, the run's backup volume at
// /var/lib/etcd-backup (where the drill's snapshot is), the client
// certificates under /etc/kubernetes/pki/etcd, on the cluster's network.
// Either way etcdctl, etcdutl and busybox's sh and tools are on the PATH.
//
// # Stopping and starting etcd
//
// These lines, alone on a line, are not given to the shell: etcdrill
// performs them on that host, as systemd or the kubelet would.
//
//	stop etcd                    (or: systemctl stop etcd)
//	start etcd [ETCD FLAGS...]   (or: systemctl start etcd)
//
// `stop etcd` stops the member's etcd and keeps its data dir; it is a
// no-op where etcd is not running. `start etcd` starts etcd with the
// member's unit as the drill set it up (name, URLs, TLS, quota), changed
// by the flags given, which may use the variables: --initial-cluster,
// --initial-cluster-token, --initial-cluster-state, --force-new-cluster,
// --data-dir; other flags are appended. Values may be quoted but may not
// hold spaces. Starting a member that runs is an error. Those two lines
// are etcdrill's convention for a static pod's manifest moved out of and
// back into /etc/kubernetes/manifests as well; a runbook that moves the
// manifest itself is not recognised.
//
// # Recording and failures
//
// Every part is a recorded step whose command is the block's text as
// written, named with the file and its lines (runbook.md:12-14), with its
// output, exit code and duration. The first failing part ends the
// procedure; the drill's checks still run and say what the procedure left
// broken, and a "runbook" check points the failed checks at the lines
// that caused them.
package runbook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kind is what an Action does.
type Kind int

const (
	// Shell runs the action's lines with sh -euc.
	Shell Kind = iota
	// Stop stops etcd on the host and keeps its data dir.
	Stop
	// Start starts etcd on the host with Flags.
	Start
)

func (k Kind) String() string {
	return [...]string{"shell", "stop etcd", "start etcd"}[k]
}

// Action is what runs on one host: shell lines, or etcdrill stopping or
// starting etcd there.
type Action struct {
	// Host is a member name ("m2") or a host variable ("${LOST_1}"), and
	// HostLine the line that named it (a `# on` line or a heading).
	Host     string
	HostLine int
	Kind     Kind
	// Line and End are the action's first and last lines in the file,
	// counted from 1.
	Line, End int
	// Text is the lines as written, without the block's indentation.
	Text string
	// Flags are a Start's etcd flags, as written (variables unexpanded).
	Flags []string
}

// Step is one fenced block: its title and what it runs, in order.
type Step struct {
	Title   string
	Line    int // the opening fence's line
	Actions []Action
}

// Runbook is a parsed runbook file.
type Runbook struct {
	// File is the name pointers use (the file's base name).
	File  string
	Steps []Step
}

// At names a line of the runbook: "runbook.md:12".
func (r *Runbook) At(line int) string { return fmt.Sprintf("%s:%d", r.File, line) }

// Span names an action's lines: "runbook.md:12" or "runbook.md:12-14".
func (r *Runbook) Span(a Action) string {
	if a.End > a.Line {
		return fmt.Sprintf("%s:%d-%d", r.File, a.Line, a.End)
	}
	return r.At(a.Line)
}

// Load reads, parses and checks the runbook at path for a drill of
// members members: every error is one line naming file:line, before
// anything starts.
func Load(path string, members int) (*Runbook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runbook: %w", err)
	}
	r, err := Parse(filepath.Base(path), b)
	if err != nil {
		return nil, err
	}
	if err := r.Check(members); err != nil {
		return nil, err
	}
	return r, nil
}

// IsScript says whether a file is a plain shell script rather than
// Markdown: a .sh name or a #! first line.
func IsScript(name string, src []byte) bool {
	return strings.HasSuffix(name, ".sh") || strings.HasPrefix(string(src), "#!")
}
