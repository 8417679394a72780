package reports

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// RunDir is where the report of r goes under out ("" when out is ""):
// <scenario>-v<version>-<run id>, with "auth-" before the run id for a
// drill run with auth, and <scenario>-v<from>-to-v<to>-<run id> for a
// record with a target version (upgrade-check). A run that never started
// a cluster has no run id; its start time stands in.
func RunDir(out string, r *record.Record) string {
	if out == "" {
		return ""
	}
	id := strings.TrimPrefix(r.RunID, r.Scenario+"-")
	if r.RunID == "" {
		id = r.Start.UTC().Format("20060102T150405")
	}
	if r.Config.Auth {
		id = "auth-" + id
	}
	name := r.Scenario + "-v" + r.Config.EtcdVersion
	if r.Config.TargetVersion != "" {
		name += "-to-v" + r.Config.TargetVersion
	}
	return filepath.Join(out, name+"-"+id)
}

// WriteRun writes r into its directory under out (RunDir) and returns
// the directory; with out "" it writes nothing and returns "".
func WriteRun(out string, r *record.Record) (string, error) {
	dir := RunDir(out, r)
	if dir == "" {
		return "", nil
	}
	if err := WriteDir(dir, r); err != nil {
		return dir, fmt.Errorf("write report %s: %w", dir, err)
	}
	return dir, nil
}
