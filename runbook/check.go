package runbook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// syntaxTimeout bounds one `sh -n` of a runbook part.
const syntaxTimeout = 10 * time.Second

// Check refuses, with one line naming file:line, what cannot run in a
// drill of members members: a host that is not one of them, a host
// variable that does not name a host, a start flag etcdrill does not
// take or a variable it does not set, and shell that does not parse (`sh
// -n` on this machine, when it has a shell).
func (r *Runbook) Check(members int) error {
	for _, st := range r.Steps {
		for _, a := range st.Actions {
			if err := checkHost(a.Host, members); err != nil {
				return fmt.Errorf("%s: %w", r.At(cmp.Or(a.HostLine, a.Line)), err)
			}
			switch a.Kind {
			case Start:
				if _, err := startFlags(a.Flags, func(v string) (string, bool) { return "set", Known(v) }); err != nil {
					return fmt.Errorf("%s: %w", r.At(a.Line), err)
				}
			case Shell:
				if line, msg := syntax(a.Text); msg != "" {
					return fmt.Errorf("%s: shell syntax error: %s", r.At(min(a.Line+line-1, a.End)), msg)
				}
			}
		}
	}
	return nil
}

var lostRE = regexp.MustCompile(`^LOST_([0-9]+)$`)

// checkHost refuses a member name outside m1..mN and a variable that is
// not a host variable.
func checkHost(h string, members int) error {
	names := make([]string, members)
	for i := range names {
		names[i] = fmt.Sprintf("m%d", i+1)
	}
	if v, ok := strings.CutPrefix(h, "${"); ok {
		v = strings.TrimSuffix(v, "}")
		if v == "SURVIVOR" {
			return nil
		}
		if m := lostRE.FindStringSubmatch(v); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 1 && n < members {
				return nil
			}
			return fmt.Errorf("unknown host ${%s}: a %d-member drill loses at most %d members", v, members, members-1)
		}
		return fmt.Errorf("unknown host ${%s}: host variables are ${SURVIVOR} and ${LOST_1}, ${LOST_2}, …", v)
	}
	for _, n := range names {
		if h == n {
			return nil
		}
	}
	return fmt.Errorf("unknown host %s: this drill's members are %s", h, strings.Join(names, ", "))
}

// startConf is what a `start etcd` line changes in the member's unit.
type startConf struct {
	InitialCluster, Token, State, DataDir *string
	ForceNewCluster                       *bool
	Extra                                 []string
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// startFlags reads a start line's flags, expanding variables with get,
// which says whether a variable is set.
func startFlags(flags []string, get func(string) (string, bool)) (startConf, error) {
	var c startConf
	for _, f := range flags {
		k, v, hasV := strings.Cut(f, "=")
		v = strings.Trim(v, `"'`)
		var bad string
		v = varRE.ReplaceAllStringFunc(v, func(s string) string {
			m := varRE.FindStringSubmatch(s)
			name := m[1] + m[2]
			val, ok := get(name)
			if !ok && bad == "" {
				bad = name
			}
			return val
		})
		if bad != "" {
			return c, fmt.Errorf("start etcd %s: etcdrill sets no variable %s (see `etcdrill runbook export -h`)", k, bad)
		}
		val := v
		switch k {
		case "--initial-cluster":
			c.InitialCluster = &val
		case "--initial-cluster-token":
			c.Token = &val
		case "--initial-cluster-state":
			if v != "new" && v != "existing" {
				return c, fmt.Errorf("start etcd --initial-cluster-state=%s: want new or existing", v)
			}
			c.State = &val
		case "--data-dir":
			c.DataDir = &val
		case "--force-new-cluster":
			b := !hasV || v == "true"
			if hasV && v != "true" && v != "false" {
				return c, fmt.Errorf("start etcd --force-new-cluster=%s: want true or false", v)
			}
			c.ForceNewCluster = &b
		case "--name", "--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls", "--initial-advertise-peer-urls":
			return c, fmt.Errorf("start etcd %s: the member's name and URLs are fixed by its host", k)
		default:
			if hasV {
				c.Extra = append(c.Extra, k+"="+v)
			} else {
				c.Extra = append(c.Extra, k)
			}
		}
		if hasV && v == "" && k != "--force-new-cluster" {
			return c, fmt.Errorf("start etcd %s: empty value", k)
		}
	}
	return c, nil
}

var shErrRE = regexp.MustCompile(`^[^:]*: ([0-9]+): (.*)$`)

// syntax runs `sh -n` over text on this machine and returns the line (of
// text, from 1) and message of a syntax error; "" when it parses or there
// is no shell to ask.
func syntax(text string) (int, string) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return 0, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), syntaxTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-n")
	cmd.Stdin = strings.NewReader(text + "\n")
	var out bytes.Buffer
	cmd.Stderr = &out
	err = cmd.Run()
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) {
		return 0, ""
	}
	msg := strings.TrimSpace(strings.SplitN(out.String(), "\n", 2)[0])
	if m := shErrRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 1, msg
}
