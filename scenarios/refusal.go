package scenarios

import (
	"fmt"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// refusedBecause runs fn as a step that must be refused (record.Log.Refused)
// and then records check, which passes only when the refusal says reason.
// A command that fails for another reason (a wrong flag, a Docker error)
// proves nothing about the fault, so it fails the drill here, before any
// recovery step runs.
func refusedBecause(d *Drill, phase record.Phase, step, member, check, reason string, fn func() (record.Action, error)) error {
	var a record.Action
	var ferr error
	if err := d.Log.Refused(phase, step, member, func() (record.Action, error) {
		a, ferr = fn()
		return a, ferr
	}); err != nil {
		return err
	}
	c := record.Check{Name: check, Verdict: record.Pass}
	if line := lineWith(ferr.Error()+"\n"+a.Output, reason); line != "" {
		c.Summary = fmt.Sprintf("%s: %s", step, line)
		d.Record.Checks = append(d.Record.Checks, c)
		return nil
	}
	c.Verdict = record.Fail
	c.Summary = fmt.Sprintf("%s, but not with %q: %v", step, reason, ferr)
	d.Record.Checks = append(d.Record.Checks, c)
	return fmt.Errorf("%s: refused for another reason than %q: %w", step, reason, ferr)
}

// lineWith returns the last line of out that contains s, trimmed, or "":
// the tools print their error last, after log lines that may quote it.
func lineWith(out, s string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}
