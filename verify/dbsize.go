package verify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// DBSize is one member's backend size (`endpoint status` dbSize) before
// and after compaction and defragmentation, in bytes.
type DBSize struct {
	Name          string
	Before, After int64
}

// DBShrank is the "db-size" check of the NOSPACE recovery: every member
// reports both sizes and its database is smaller after defragmentation
// than before. A member whose size did not drop still holds the history
// that filled the quota, and the alarm will come back. An empty list
// fails: nothing observed is no proof.
func DBShrank(sizes []DBSize) record.Check {
	c := record.Check{Name: "db-size"}
	if len(sizes) == 0 {
		return failed(c, "no database sizes observed")
	}
	var bad, before, after []string
	for _, s := range sizes {
		line := fmt.Sprintf("%s: %s → %s", s.Name, human(s.Before), human(s.After))
		switch {
		case s.Before <= 0 || s.After <= 0:
			bad = append(bad, s.Name)
			line += " (size missing)"
		case s.After >= s.Before:
			bad = append(bad, s.Name)
			line += " (did not shrink)"
		default:
			line += fmt.Sprintf(" (%.0f%% smaller)", 100*float64(s.Before-s.After)/float64(s.Before))
		}
		c.Details = append(c.Details, line)
		before, after = append(before, human(s.Before)), append(after, human(s.After))
	}
	if len(bad) > 0 {
		return failed(c, fmt.Sprintf("%d of %d members did not shrink: %s", len(bad), len(sizes), strings.Join(bad, ", ")))
	}
	return passed(c, fmt.Sprintf("%d members shrank after defrag: %s → %s", len(sizes), strings.Join(before, ", "), strings.Join(after, ", ")))
}

// human renders a byte count in MiB, or in KiB below 1 MiB.
func human(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 2, 64) + " MiB"
}
