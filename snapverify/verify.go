// Package snapverify is `etcdrill snapshot verify`: is this snapshot file
// intact, and does etcd X serve it? The file is checked offline first; an
// accepted file is restored into a throwaway cluster, and what the cluster
// serves is compared with what the file holds. It runs on the drill
// engine, so its record, verdict and report come from drill's one finish
// path, as a drill's do.
package snapverify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// Name is the scenario name of a snapshot verify record.
const Name = record.KindSnapshotVerify

// Options are the choices of `etcdrill snapshot verify`.
type Options struct {
	// Version is the etcd version that must serve the snapshot. Default
	// harness.DefaultVersion.
	Version string `json:"version"`
	// Image runs an existing local image instead of building one.
	Image string `json:"image,omitempty"`
	// Members is the size of the throwaway cluster: 1, 3 or 5. Default 3.
	Members int `json:"members"`
	// SkipHashCheck accepts a file without an appended SHA-256, such as a
	// copied member/snap/db; a damaged file is refused regardless.
	// Default false.
	SkipHashCheck bool `json:"skip_hash_check,omitempty"`
	// BumpRevision and MarkCompacted are etcdutl's Kubernetes-safe
	// restore (--bump-revision N --mark-compacted): the restored revision
	// must be at least the file's plus N, and older revisions compacted.
	// etcdutl takes both or neither. Default 0 and false.
	BumpRevision  uint64 `json:"bump_revision,omitempty"`
	MarkCompacted bool   `json:"mark_compacted,omitempty"`
	// OutDir receives the report directory; "" writes none.
	OutDir string `json:"out_dir,omitempty"`
	// Timeouts bound every wait. Default harness.DefaultTimeouts().
	Timeouts *harness.Timeouts `json:"timeouts,omitempty"`
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger `json:"-"`
}

// scenario describes the check for the drill engine: a throwaway
// cluster of 3 members unless asked otherwise, no load, no fault.
var scenario = drill.Scenario{Name: Name, Seeds: []string{"000", "001", "003"}, Members: 3}

// config resolves o into the drill's configuration with drill.Resolve,
// which parses the version and checks the size; its errors wrap
// drill.ErrConfig (and harness.ErrUnknownVersion for a version etcdrill
// cannot run).
func (o Options) config() (drill.Config, error) {
	if (o.BumpRevision > 0) != o.MarkCompacted {
		return drill.Config{}, fmt.Errorf("%w: --bump-revision N and --mark-compacted go together, as etcdutl requires", drill.ErrConfig)
	}
	return drill.Resolve(&scenario, drill.Options{Version: o.Version, Image: o.Image, Members: o.Members, OutDir: o.OutDir, Timeouts: o.Timeouts, Logger: o.Logger})
}

// verification is one snapshot verify in progress: what its steps share.
type verification struct {
	o    Options
	file *recovery.SnapshotFile
	// snap is the file once copied to the members' hosts.
	snap *recovery.Snapshot
	// why is the verdict's reason when it is more precise than the first
	// failed step: the file's damage, or why etcd did not serve it.
	why string
}

// Verify answers whether the snapshot file at path is intact and whether
// etcd o.Version serves it. It checks the file first, starting nothing
// (recovery.ReadSnapshotFile); a refused file ends there. Then it starts
// a throwaway cluster, restores the file into it with a new token
// (recovery.RestoreCluster), and verifies the keyspace (its digest
// against the one read offline from the file), the revision and the
// members (and, with MarkCompacted, that old revisions are compacted).
// The report is written under o.OutDir.
//
// It returns an empty Result and the error when nothing could be
// verified: bad options (drill.ErrConfig), a file that is no snapshot
// (recovery.ErrBadInput), no Docker engine (harness.ErrNoDocker) or an
// unknown version (harness.ErrUnknownVersion). Otherwise it returns the
// Result, and an error when its verdict is not pass.
func Verify(ctx context.Context, path string, o Options) (drill.Result, error) {
	cfg, err := o.config()
	if err != nil {
		return drill.Result{}, err
	}
	f, err := recovery.ReadSnapshotFile(path)
	if err != nil {
		return drill.Result{}, err
	}
	cfg.Logger = cfg.Logger.With("file", path)
	d := drill.New(&scenario, cfg)
	d.Record.Kind = record.KindSnapshotVerify
	// A refused file starts no cluster, yet its report needs a name of its
	// own; the cluster's run ID replaces this one when a cluster starts.
	id := make([]byte, 4)
	rand.Read(id)
	d.Record.RunID = Name + "-" + hex.EncodeToString(id)

	v := &verification{o: o, file: f}
	runErr := d.RunSteps(ctx, v.steps())
	if errors.Is(runErr, harness.ErrNoDocker) || errors.Is(runErr, harness.ErrUnknownVersion) {
		return drill.Result{}, errors.Join(runErr, d.Close(ctx))
	}
	d.Record.Reason = v.why // Finish keeps it when the verdict is fail
	res, ferr := d.Finish(ctx, runErr)
	cerr := d.Close(ctx)
	if res.Record.Verdict != record.Pass {
		return res, errors.Join(fmt.Errorf("snapshot not verified: %s", res.Record.Reason), ferr, cerr)
	}
	return res, errors.Join(ferr, cerr)
}

// steps is the verification as a runbook.
func (v *verification) steps() []drill.Step {
	return []drill.Step{
		{Title: "check the file offline", Do: v.checkFile},
		{Title: "start a throwaway cluster", Do: v.startCluster},
		{Title: "copy the file to the members and compare etcdutl's snapshot status with the offline reading", Do: v.etcdutlStatus},
		{Title: "restore the file into every member", Do: v.restore},
		{Title: "verify what the restored cluster serves", Do: v.verifyServed},
	}
}

// check makes a check that passes with summary when err is nil and fails
// with err otherwise, and adds it to the record.
func check(d *drill.Drill, name string, err error, summary string) {
	c := record.Check{Name: name, Verdict: record.Pass, Summary: summary}
	if err != nil {
		c.Verdict, c.Summary = record.Fail, err.Error()
	}
	d.AddChecks(c)
}
