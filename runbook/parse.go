package runbook

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	headingRE = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	itemRE    = regexp.MustCompile(`^\s*(?:\d+[.)]|[-*+])\s+(.*)$`)
	boldRE    = regexp.MustCompile(`\*\*(.+?)\*\*`)
	// titleHostRE finds "on m2", "(on m2)" or "on ${LOST_1}" ending a title.
	titleHostRE = regexp.MustCompile(`(?:^|[\s(·])on\s+(m[0-9]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\)?[.:]?\s*$`)
	// hostLineRE is "# on m2" or "# then, on m2" inside a block.
	hostLineRE = regexp.MustCompile(`^#\s*(?:then,?\s+)?on\s+(\S+)\s*$`)
	hostNameRE = regexp.MustCompile(`^(m[0-9]+|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)$`)
	stopRE     = regexp.MustCompile(`^(?:sudo\s+)?(?:systemctl\s+stop\s+etcd(?:\.service)?|stop\s+etcd)$`)
	startRE    = regexp.MustCompile(`^(?:sudo\s+)?(?:(systemctl)\s+start\s+etcd(?:\.service)?|start\s+etcd)(?:\s+(.*))?$`)
)

// Parse reads a runbook: Markdown, or a plain shell script (IsScript).
// Errors name file:line.
func Parse(name string, src []byte) (*Runbook, error) {
	r := &Runbook{File: name}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	if IsScript(name, src) {
		st, err := r.block("run "+name, "m1", 0, lines, 1, 1)
		if err != nil {
			return nil, err
		}
		if len(st.Actions) > 0 {
			r.Steps = append(r.Steps, st)
		}
		return r, r.nonEmpty()
	}
	title, host, hostLine := "", "", 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		t := strings.TrimSpace(line)
		if fence := fenceOf(t); fence != "" {
			end := closing(lines, i+1, fence)
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: code block is never closed (no %s line after it)", name, i+1, fence)
			}
			info := strings.Fields(strings.TrimLeft(t, fence[:1]))
			if len(info) > 0 && (info[0] == "sh" || info[0] == "bash" || info[0] == "shell") {
				indent := len(line) - len(strings.TrimLeft(line, " \t"))
				body := make([]string, 0, end-i-1)
				for _, l := range lines[i+1 : end] {
					body = append(body, dedent(l, indent))
				}
				if title == "" {
					title = "step at line " + fmt.Sprint(i+1)
				}
				st, err := r.block(title, host, hostLine, body, i+2, i+1)
				if err != nil {
					return nil, err
				}
				if len(st.Actions) > 0 {
					r.Steps = append(r.Steps, st)
				}
			}
			i = end
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			title, host, hostLine = cleanTitle(m[1]), titleHost(m[1]), i+1
			continue
		}
		if m := itemRE.FindStringSubmatch(line); m != nil {
			title = cleanTitle(m[1])
			if h := titleHost(m[1]); h != "" {
				host, hostLine = h, i+1
			}
		}
	}
	return r, r.nonEmpty()
}

func (r *Runbook) nonEmpty() error {
	if len(r.Steps) == 0 {
		return fmt.Errorf("%s:1: no steps: a runbook needs at least one ```sh block with a command", r.File)
	}
	return nil
}

// fenceOf returns the fence a trimmed line opens (``` or ~~~, or longer),
// or "".
func fenceOf(t string) string {
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// closing finds the line closing fence from line from, or -1.
func closing(lines []string, from int, fence string) int {
	for j := from; j < len(lines); j++ {
		t := strings.TrimSpace(lines[j])
		if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
			return j
		}
	}
	return -1
}

func dedent(l string, n int) string {
	for i := 0; i < n && len(l) > 0 && (l[0] == ' ' || l[0] == '\t'); i++ {
		l = l[1:]
	}
	return l
}

// cleanTitle takes a report line's bold title ("3. recovery · **restore
// m1** · on m1 · 0.2 s") or the whole text, without a trailing host.
func cleanTitle(s string) string {
	if m := boldRE.FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	s = strings.TrimSpace(titleHostRE.ReplaceAllString(s, ""))
	return strings.TrimRight(strings.TrimSpace(s), ":")
}

// titleHost is the host a title names at its end ("… on m2"), or "".
func titleHost(s string) string {
	if i := strings.Index(s, " · on "); i >= 0 { // a report line: "… · on m1 · 0.22 s · ✅ pass"
		if f := strings.Fields(s[i+len(" · on "):]); len(f) > 0 {
			return normHost(f[0])
		}
	}
	if m := titleHostRE.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
		return normHost(m[1])
	}
	return ""
}

// normHost writes a host variable as ${NAME}.
func normHost(h string) string {
	if strings.HasPrefix(h, "$") && !strings.HasPrefix(h, "${") {
		return "${" + h[1:] + "}"
	}
	return h
}

// block parses one block's lines, the first of which is file line first;
// host is the default host ("" for none), named at hostLine; fence is the
// block's line.
func (r *Runbook) block(title, host string, hostLine int, lines []string, first, fence int) (Step, error) {
	st := Step{Title: title, Line: fence}
	var cur *Action
	flush := func() {
		if cur != nil && hasCommand(cur.Text) {
			cur.Text = strings.TrimRight(cur.Text, "\n")
			st.Actions = append(st.Actions, *cur)
		}
		cur = nil
	}
	for i, l := range lines {
		n := first + i
		t := strings.TrimSpace(l)
		if m := hostLineRE.FindStringSubmatch(t); m != nil {
			if !hostNameRE.MatchString(m[1]) {
				return st, fmt.Errorf("%s:%d: bad host %q: want a member name (m1, m2, …) or a host variable (${SURVIVOR}, ${LOST_1}, …)", r.File, n, m[1])
			}
			flush()
			host, hostLine = normHost(m[1]), n
			continue
		}
		cmd := strings.TrimSpace(stripComment(t))
		if cmd != "" && host == "" {
			return st, fmt.Errorf("%s:%d: no host for this line: put a `# on m1` line above it, or end the step's heading with \"on m1\"", r.File, n)
		}
		if k, flags, ok, err := control(cmd); ok || err != nil {
			if err != nil {
				return st, fmt.Errorf("%s:%d: %w", r.File, n, err)
			}
			flush()
			st.Actions = append(st.Actions, Action{Host: host, HostLine: hostLine, Kind: k, Line: n, End: n, Text: t, Flags: flags})
			continue
		}
		if cur == nil {
			if cmd == "" { // leading blank lines and comments belong to nothing
				continue
			}
			cur = &Action{Host: host, HostLine: hostLine, Kind: Shell, Line: n}
		}
		cur.Text += l + "\n"
		if cmd != "" {
			cur.End = n
		}
	}
	flush()
	for i := range st.Actions { // trailing comments stay in Text but not in the line span
		if st.Actions[i].End < st.Actions[i].Line {
			st.Actions[i].End = st.Actions[i].Line
		}
	}
	return st, nil
}

// hasCommand says whether shell text has a line that is not blank or a
// comment.
func hasCommand(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(stripComment(strings.TrimSpace(l))) != "" {
			return true
		}
	}
	return false
}

// stripComment drops a whole-line comment, and a trailing " # comment"
// of a stop or start line.
func stripComment(t string) string {
	if strings.HasPrefix(t, "#") {
		return ""
	}
	if i := strings.Index(t, " #"); i >= 0 && (stopRE.MatchString(strings.TrimSpace(t[:i])) || startRE.MatchString(strings.TrimSpace(t[:i]))) {
		return t[:i]
	}
	return t
}

// control recognises a stop or start line.
func control(cmd string) (Kind, []string, bool, error) {
	if stopRE.MatchString(cmd) {
		return Stop, nil, true, nil
	}
	m := startRE.FindStringSubmatch(cmd)
	if m == nil {
		return Shell, nil, false, nil
	}
	flags := strings.Fields(m[2])
	if m[1] != "" && len(flags) > 0 {
		return Start, nil, false, fmt.Errorf("systemctl start etcd takes no flags: write `start etcd %s`", m[2])
	}
	for _, f := range flags {
		if !strings.HasPrefix(f, "--") {
			return Start, nil, false, fmt.Errorf("start etcd: %q is not a --flag or --flag=value", f)
		}
	}
	return Start, flags, true, nil
}
