package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/runbook"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/spf13/cobra"
)

type runFlags struct {
	version, versions, image, tls, auth, out string
	data, fromSnapshot, runbook              string
	timeoutSet                               bool
	members, writers, parallel               int
	shard                                    string
	seed                                     int64
	rate                                     float64
	timeout                                  time.Duration
	all, keep                                bool
}

const runExample = `  etcdrill run                                   # leader-kill and quorum-loss on etcd ` + harness.DefaultVersion + `
  etcdrill run quorum-loss --version 3.5.35 --tls on --auth on
  etcdrill run --all --versions 3.5.35,3.6.16,3.7.3 --out reports/runs
  etcdrill run leader-kill --seed 42 --keep-artifacts -o json
  etcdrill run quorum-loss --data 1GiB                # 1 GiB of Kubernetes-shaped data
  etcdrill run quorum-loss --from-snapshot backup.db  # start from your own snapshot
  etcdrill run quorum-loss --runbook our-runbook.md   # drill your own runbook instead of the built-in procedure
  etcdrill run --all --parallel 2                     # two drills at a time, each on its own cluster
  etcdrill run --all --versions 3.5.35,3.6.16,3.7.3 --shard 2/3 --out runs/shard-2  # CI runner 2 of 3`

func newRunCmd(stdout, stderr io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [NAME...]",
		Short: "Run drills and write a report for each",
		Long: "Run the named drills (default: " + strings.Join(scenarios.Default, " ") + `), each on a fresh
containerized etcd cluster, and write report.json, report.md and report.html
per drill under --out. A summary table (or JSON with -o json) goes to stdout.`,
		Example: runExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			of, err := outFmt()
			if err != nil {
				return err
			}
			f.timeoutSet = cmd.Flags().Changed("timeout")
			return f.run(cmd.Context(), args, stdout, stderr, lg, of)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", harness.DefaultVersion, "etcd version to drill (tested: "+strings.Join(harness.Supported, ", ")+")")
	fl.StringVar(&f.versions, "versions", "", "comma-separated etcd versions: run every drill on each (a matrix); overrides --version")
	fl.StringVar(&f.image, "image", "", "use this local etcd image instead of building one (etcd, etcdctl, etcdutl in /usr/local/bin)")
	fl.IntVar(&f.members, "members", 0, "cluster size 1, 3 or 5 (default: the drill's own)")
	fl.StringVar(&f.tls, "tls", "auto", "client and peer TLS: on, off, or auto (the drill's default)")
	fl.StringVar(&f.auth, "auth", "auto", "etcd auth (root user and a workload role): on, off, or auto")
	fl.Int64Var(&f.seed, "seed", 0, "seed for keys and values (default: random, written to the report)")
	fl.IntVar(&f.writers, "writers", 4, "concurrent writers")
	fl.Float64Var(&f.rate, "rate", 100, "total writes per second")
	fl.StringVar(&f.out, "out", "reports/runs", "directory for drill reports")
	fl.BoolVar(&f.all, "all", false, "run every drill in the catalogue, plus the auth variants of those that have one")
	fl.BoolVar(&f.keep, "keep-artifacts", false, "save member logs and data dirs of a failed or interrupted drill in its report directory")
	fl.DurationVar(&f.timeout, "timeout", drill.DefaultTimeout, "deadline for each drill; a drill still running then fails, naming its step (default grows with --data or --from-snapshot)")
	fl.StringVar(&f.data, "data", "", "load this much data before the fault: SIZE (Kubernetes-shaped, e.g. 1GiB), k8s:SIZE, uniform:SIZE or uniform:KEYSxVALUESIZE (e.g. uniform:100000x10KiB)")
	fl.StringVar(&f.fromSnapshot, "from-snapshot", "", "start the cluster from this snapshot file of yours (etcdctl snapshot save); every key in it must survive the drill")
	fl.StringVar(&f.runbook, "runbook", "", "run this runbook of yours (Markdown or a shell script) instead of the drill's built-in recovery procedure; start from `etcdrill runbook export DRILL`")
	fl.IntVar(&f.parallel, "parallel", defaultParallel, "run up to this many drills at once, each on its own cluster")
	fl.StringVar(&f.shard, "shard", "", "run only shard i of n of the matrix (i/n, e.g. 2/3): n CI runners with the same flags, each with its own i, run every drill once; merge their --out with report --merge")
	return cmd
}

func (f *runFlags) run(ctx context.Context, names []string, stdout, stderr io.Writer, lg *slog.Logger, outFmt string) error {
	var list []*drill.Scenario
	if f.all {
		list = scenarios.All()
	} else {
		if len(names) == 0 {
			names = scenarios.Default
		}
		for _, n := range names {
			s, err := scenarios.Lookup(n)
			if err != nil {
				return usageErr("%v", err)
			}
			list = append(list, s)
		}
	}
	switch {
	case f.writers < 1:
		return usageErr("--writers %d: want 1 or more", f.writers)
	case f.rate <= 0:
		return usageErr("--rate %g: want a positive number of writes per second", f.rate)
	case f.timeout <= 0:
		return usageErr("--timeout %s: want a positive duration", f.timeout)
	case f.parallel < 1:
		return usageErr("--parallel %d: want 1 or more drills at once", f.parallel)
	}
	shardI, shardN, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	opts := drill.Options{Image: f.image, Members: f.members, Seed: f.seed, OutDir: f.out, KeepArtifacts: f.keep, Logger: lg,
		Data: f.data, FromSnapshot: f.fromSnapshot}
	if f.timeoutSet {
		opts.Timeout = f.timeout // else Resolve's default, grown for the data
	}
	opts.Load.Writers, opts.Load.Rate = f.writers, f.rate
	if opts.TLS, err = onOffAuto("tls", f.tls); err != nil {
		return err
	}
	if opts.Auth, err = onOffAuto("auth", f.auth); err != nil {
		return err
	}
	vlist := []string{f.version}
	if f.versions != "" {
		vlist = strings.Split(f.versions, ",")
	}
	var versions []harness.Version
	for _, s := range vlist {
		v, err := harness.ParseVersion(strings.TrimSpace(s))
		if err != nil {
			return usageErr("%v", err)
		}
		versions = append(versions, v)
	}
	matrix := scenarios.Matrix(list, versions, f.all && opts.Auth == nil)
	// Every entry's configuration is checked before anything else, so an
	// impossible size is one line and exit 2, not a panic half way
	// through the matrix.
	if f.runbook != "" && (f.all || len(list) != 1) {
		return usageErr("--runbook replaces one drill's procedure: name exactly one drill, not %d", len(list))
	}
	for _, e := range matrix {
		cfg, err := drill.Resolve(e.Scenario, entryOptions(opts, e))
		if err != nil {
			return usageErr("%v", err)
		}
		if f.runbook != "" && opts.Runbook == nil {
			r, err := runbook.Load(f.runbook, cfg.Members)
			if err != nil {
				return usageErr("%v", err)
			}
			opts.Runbook = runbook.Procedure{Runbook: r}
		}
	}
	if shardN > 0 {
		all := len(matrix)
		if matrix, err = scenarios.Shard(matrix, shardI, shardN); err != nil {
			return usageErr("--shard: %v", err)
		}
		fmt.Fprintln(stderr, "etcdrill:", shardNote(shardI, shardN, len(matrix), all))
	}
	checked := map[string]bool{}
	for _, e := range matrix {
		if v := e.Version; !checked[v.String()] {
			checked[v.String()] = true
			if err := preflight(ctx, v, f.image); err != nil {
				return err
			}
		}
	}
	prog := newProgress(stderr, len(matrix), f.parallel)
	if prog.live {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// Drills run on goroutines of their own, up to --parallel at once;
	// each writes only its own result, read once all have returned.
	type result struct {
		res drill.Result
		err error
	}
	results := make([]*result, len(matrix))
	forEach(ctx, len(matrix), f.parallel, func(i int) bool {
		e := matrix[i]
		o := entryOptions(opts, e)
		p := prog.start(e.Name(), e.Version.String())
		o.OnStep = p.step
		if f.parallel > 1 && o.Logger != nil {
			o.Logger = o.Logger.With("drill", e.Name(), "version", e.Version.String())
		}
		res, err := drill.Run(ctx, e.Scenario, o)
		results[i] = &result{res, err}
		p.done(res.Record)
		return res.Record != nil
	})
	prog.close()
	var rows []summaryRow
	failed, interrupted := 0, 0
	for i, r := range results { // matrix order, whatever order they finished in
		switch {
		case r == nil: // not started: interrupted, or after an environment error
			continue
		case r.res.Record == nil: // refused before it started: checked above, so an environment error
			return usageErr("%s: %v", matrix[i].Name(), r.err)
		}
		rows = append(rows, newSummaryRow(matrix[i].Name(), r.res.Record, r.res.Dir))
		switch {
		case r.res.Record.Verdict == record.Interrupted:
			interrupted++
		case r.err != nil || r.res.Record.Verdict == record.Fail:
			failed++
		}
	}
	if f.out != "" {
		// The index and JUnit cover every run under --out, earlier ones too.
		if err := reports.RenderAll(f.out); err != nil {
			lg.Warn("render index", "dir", f.out, "err", err)
		}
	}
	if err := writeSummary(stdout, outFmt, rows, f.out); err != nil {
		return err
	}
	switch {
	case interrupted > 0 || ctx.Err() != nil:
		return &exitError{exitInterrupted, fmt.Errorf("interrupted: %d of %d drills ran, %d failed", len(rows), len(matrix), failed)}
	case failed > 0:
		return &exitError{1, fmt.Errorf("%d of %d drills failed", failed, len(rows))}
	}
	return nil
}

// entryOptions are opts for one entry of the matrix.
func entryOptions(opts drill.Options, e scenarios.Entry) drill.Options {
	o := opts
	o.Version = e.Version.String()
	if e.Auth != nil {
		o.Auth = e.Auth
	}
	return o
}

// onOffAuto reads an on|off|auto flag; auto (nil) keeps the drill's own.
func onOffAuto(name, v string) (*bool, error) {
	switch v {
	case "on", "off":
		on := v == "on"
		return &on, nil
	case "auto":
		return nil, nil
	}
	return nil, usageErr("--%s %q: want on, off or auto", name, v)
}

// preflight turns the environment errors every drill would hit into one
// clear line before anything starts.
func preflight(ctx context.Context, v harness.Version, image string) error {
	dc, err := harness.Docker(ctx)
	if err != nil {
		return usageErr("%v (etcdrill needs a running Docker engine)", err)
	}
	defer dc.Close()
	if image == "" {
		if _, err := dc.ImageInspect(ctx, harness.ImageTag(v)); err != nil {
			if err := harness.CheckReleased(ctx, v); err != nil {
				return usageErr("%v", err)
			}
		}
	}
	return nil
}

// summaryRow is one drill run in the summary table and in -o json.
type summaryRow struct {
	Drill    string         `json:"drill"`
	Version  string         `json:"etcd_version"`
	TLS      bool           `json:"tls"`
	Auth     bool           `json:"auth"`
	Verdict  record.Verdict `json:"verdict"`
	Duration float64        `json:"duration_s"`
	RTOMs    *int64         `json:"rto_ms"`     // null: not measured
	RPO      *int           `json:"rpo_writes"` // null: not measured
	Reason   string         `json:"reason,omitempty"`
	Report   string         `json:"report_dir,omitempty"`
}

func newSummaryRow(name string, r *record.Record, dir string) summaryRow {
	return summaryRow{Drill: name, Version: r.Config.EtcdVersion, TLS: r.Config.TLS, Auth: r.Config.Auth, Verdict: r.Verdict,
		Duration: r.End.Sub(r.Start).Round(time.Millisecond).Seconds(), RTOMs: r.Metrics.RTOMillis, RPO: r.Metrics.RPOWrites,
		Reason: r.Reason, Report: dir}
}
