package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/etcdrill/etcdrill/workload"
	"github.com/spf13/cobra"
)

const scaleLong = `Run quorum-loss at several data sizes and write the scaling curve: the recovery
time by phase (snapshot transfer, restore, member boot, first leader, first
acknowledged write) against the database size, with a bare
"docker run ... etcdutl snapshot restore" of the same snapshot file timed beside
each restore, and etcdrill's own memory. With --verify-largest, the largest
snapshot is also checked with "etcdrill snapshot verify" in a child process,
whose peak memory is reported.

It writes scale.md, scale.svg and scale.json under --out, with each drill's
report beside them. A 2 GiB size takes several minutes on 2 cores and needs
about 8 times its size in free disk space while it runs.`

type scaleFlags struct {
	sizes, profile, version, image, out string
	bareRuns                            int
	verifyLargest, keep                 bool
}

func newScaleCmd(stdout io.Writer, lg *slog.Logger) *cobra.Command {
	var f scaleFlags
	cmd := &cobra.Command{
		Use:     "scale",
		Short:   "Measure recovery time against data size: quorum-loss at several sizes, with the bare etcdutl restore beside it",
		Long:    scaleLong,
		Example: "  etcdrill scale --sizes 64MiB,512MiB,2GiB --verify-largest\n  etcdrill scale --sizes 256MiB --profile uniform --version 3.5.35",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), stdout, lg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.sizes, "sizes", "64MiB,512MiB,2GiB", "comma-separated data sizes")
	fl.StringVar(&f.profile, "profile", "k8s", "data profile: k8s or uniform")
	fl.StringVar(&f.version, "version", harness.DefaultVersion, "etcd version")
	fl.StringVar(&f.image, "image", "", "use this local etcd image instead of building one")
	fl.StringVar(&f.out, "out", "reports/scale", "directory for the scaling report and the drills' reports")
	fl.IntVar(&f.bareRuns, "bare-runs", 3, "bare etcdutl restores per size (the median is reported)")
	fl.BoolVar(&f.verifyLargest, "verify-largest", false, "also run etcdrill snapshot verify on the largest snapshot, in a child process, and report its peak memory")
	fl.BoolVar(&f.keep, "keep-snapshots", false, "keep each size's snapshot.db in its drill's report directory")
	return cmd
}

func (f *scaleFlags) run(ctx context.Context, stdout io.Writer, lg *slog.Logger) error {
	s, err := scenarios.Lookup("quorum-loss")
	if err != nil {
		return err
	}
	if f.bareRuns < 1 {
		return usageErr("--bare-runs %d: want 1 or more", f.bareRuns)
	}
	var specs []string
	for _, size := range strings.Split(f.sizes, ",") {
		spec := f.profile + ":" + strings.TrimSpace(size)
		if _, err := workload.ParseDataSpec(spec); err != nil {
			return usageErr("--sizes: %v", err)
		}
		opts := drill.Options{Version: f.version, Image: f.image, Data: spec}
		if _, err := drill.Resolve(s, opts); err != nil {
			return usageErr("%v", err)
		}
		specs = append(specs, spec)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return usageErr("scale times a bare `docker run ... etcdutl snapshot restore` beside each drill: the docker CLI is needed: %v", err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return usageErr("--out: %v", err)
	}
	var rows []reports.Scale
	failed := 0
	for i, spec := range specs {
		res, err := drill.Run(ctx, s, drill.Options{Version: f.version, Image: f.image, Data: spec, OutDir: f.out, KeepSnapshot: true, Logger: lg})
		if res.Record == nil {
			return err
		}
		r := res.Record
		row := reports.Scale{Size: strings.TrimPrefix(spec, f.profile+":"), DBSize: r.Metrics.DBSizeBefore, Keys: r.Metrics.KeysBefore,
			Phases: r.Metrics.Phases, Verdict: r.Verdict, Report: res.Dir}
		if r.Metrics.RTOMillis != nil {
			row.RTO = time.Duration(*r.Metrics.RTOMillis) * time.Millisecond
		}
		if r.Verdict != record.Pass {
			failed++
		}
		snap := filepath.Join(res.Dir, "snapshot.db")
		if _, serr := os.Stat(snap); serr == nil {
			row.SnapshotBytes = r.Metrics.SnapshotBytes
			row.BareRestore, row.BareCommand, err = bareRestore(ctx, r.Config.Image, snap, f.bareRuns)
			if err != nil {
				lg.Error("bare restore", "err", err)
			}
			if f.verifyLargest && i == len(specs)-1 {
				row.Verify, err = childVerify(ctx, snap, f)
				if err != nil {
					lg.Error("snapshot verify", "err", err)
				}
			}
			if !f.keep {
				os.Remove(snap)
			}
		}
		rows = append(rows, row)
	}
	md := reports.ScaleMarkdown(rows)
	js, _ := json.MarshalIndent(rows, "", "  ")
	for name, body := range map[string]string{"scale.md": md, "scale.svg": reports.ScaleSVG(rows), "scale.json": string(js) + "\n"} {
		if err := os.WriteFile(filepath.Join(f.out, name), []byte(body), 0o644); err != nil {
			return usageErr("write %s: %v", name, err)
		}
	}
	fmt.Fprint(stdout, md)
	fmt.Fprintf(stdout, "\nscaling report: %s (scale.md, scale.svg, scale.json)\n", f.out)
	if failed > 0 {
		return &exitError{1, fmt.Errorf("%d of %d sizes failed", failed, len(rows))}
	}
	return nil
}

// bareRestore times `etcdutl snapshot restore` of snap as an operator
// runs it by hand: `docker run` of the same image, the file bind-mounted
// read-only, the data dir on a fresh volume, runs times; it returns the
// median and the command.
func bareRestore(ctx context.Context, image, snap string, runs int) (time.Duration, string, error) {
	abs, err := filepath.Abs(snap)
	if err != nil {
		return 0, "", err
	}
	args := []string{"run", "--rm", "--label", harness.LabelManaged + "-bare=true",
		"--mount", "type=bind,src=" + abs + ",dst=/backup/snapshot.db,readonly",
		"--mount", "type=volume,dst=" + harness.DataDir,
		"--entrypoint", "/usr/local/bin/etcdutl", image,
		"snapshot", "restore", "/backup/snapshot.db", "--name=m1",
		"--initial-cluster=m1=http://m1:2380", "--initial-advertise-peer-urls=http://m1:2380",
		"--data-dir=" + harness.DataDir + "/restored"}
	command := "docker " + harness.ShellJoin(args)
	var times []time.Duration
	for range runs {
		start := time.Now()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			return 0, command, fmt.Errorf("%s: %v: %s", command, err, strings.TrimSpace(string(out)))
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2], command, nil
}

// childVerify runs `etcdrill snapshot verify` on snap in a child process,
// so its peak memory is its own, and reads its JSON summary.
func childVerify(ctx context.Context, snap string, f *scaleFlags) (*reports.ScaleVerify, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"snapshot", "verify", snap, "--version", f.version, "--out", f.out, "-o", "json"}
	if f.image != "" {
		args = append(args, "--image", f.image)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var s verifySummary
	if jerr := json.Unmarshal(out, &s); jerr != nil {
		return nil, fmt.Errorf("snapshot verify: %v (%v)", err, jerr)
	}
	return &reports.ScaleVerify{Command: "etcdrill " + harness.ShellJoin(args), SizeBytes: s.SizeBytes, Seconds: s.Seconds,
		PeakRSSBytes: s.PeakRSSBytes, Verdict: s.Verdict}, err
}
