package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/scenarios"
)

// chaosSlack is the drill deadline beyond --duration: the cluster's
// start, the last recovery and the checks.
const chaosSlack = 10 * time.Minute

type chaosFlags struct {
	version, image, tls, out, faults string
	members                          int
	seed                             int64
	duration                         time.Duration
	keep                             bool
}

func newChaosCmd(stdout io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	var f chaosFlags
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Inject faults at random for a while under load, then check everything clients saw",
		Long: `Run the workload against one cluster for --duration while injecting faults drawn
at random (seeded: --seed reproduces the sequence) from: ` + strings.Join(scenarios.ChaosFaults(), ", ") + `.
Each fault is held for ` + scenarios.ChaosMinHold.String() + ` to ` + scenarios.ChaosMaxHold.String() + `, then recovered (restart, heal, or the
operator's member replace), and the cluster must be healthy and take writes
again before the next. At the end every drill check runs: members, keys
against the ledger, linearizability of the clients' history, watch streams.
One report, whose timeline carries every fault.`,
		Example: `  etcdrill chaos --duration 10m --version 3.6.16
  etcdrill chaos --duration 2m --seed 42 --faults kill-leader,replace-follower`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			of, err := outFmt()
			if err != nil {
				return err
			}
			return f.run(cmd.Context(), stdout, lg, of)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", harness.DefaultVersion, "etcd version")
	fl.StringVar(&f.image, "image", "", "use this local etcd image instead of building one")
	fl.DurationVar(&f.duration, "duration", 10*time.Minute, "how long to inject faults")
	fl.Int64Var(&f.seed, "seed", 0, "seed for the faults, their durations, keys and values (default: random, written to the report)")
	fl.StringVar(&f.faults, "faults", "", "comma-separated faults to draw from (default: all of "+strings.Join(scenarios.ChaosFaults(), ", ")+")")
	fl.IntVar(&f.members, "members", 3, "cluster size 3 or 5")
	fl.StringVar(&f.tls, "tls", "on", "client and peer TLS: on or off")
	fl.StringVar(&f.out, "out", "reports/runs", "directory for the report")
	fl.BoolVar(&f.keep, "keep-artifacts", false, "save member logs and data dirs if the run fails")
	return cmd
}

func (f *chaosFlags) run(ctx context.Context, stdout io.Writer, lg *slog.Logger, outFmt string) error {
	if f.members != 3 && f.members != 5 {
		return usageErr("chaos --members %d: want 3 or 5", f.members)
	}
	if f.tls != "on" && f.tls != "off" {
		return usageErr("chaos --tls %q: want on or off", f.tls)
	}
	v, err := harness.ParseVersion(f.version)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.seed == 0 {
		f.seed = rand.Int64N(1<<31) + 1
	}
	var faults []string
	if f.faults != "" {
		faults = strings.Split(f.faults, ",")
	}
	s, err := scenarios.Chaos(scenarios.ChaosConfig{Duration: f.duration, Seed: f.seed, Faults: faults})
	if err != nil {
		return usageErr("%v", err)
	}
	tls := f.tls == "on"
	opts := drill.Options{Version: v.String(), Image: f.image, Members: f.members, TLS: &tls, Seed: f.seed, OutDir: f.out,
		KeepArtifacts: f.keep, Logger: lg, Timeout: f.duration + chaosSlack}
	if _, err := drill.Resolve(s, opts); err != nil {
		return usageErr("%v", err)
	}
	if err := preflight(ctx, v, f.image); err != nil {
		return err
	}
	res, err := drill.Run(ctx, s, opts)
	if res.Record == nil {
		return usageErr("chaos: %v", err)
	}
	if f.out != "" {
		if err := reports.RenderAll(f.out); err != nil {
			lg.Warn("render index", "dir", f.out, "err", err)
		}
	}
	if err := writeSummary(stdout, outFmt, []summaryRow{newSummaryRow("chaos", res.Record, res.Dir)}, f.out); err != nil {
		return err
	}
	switch {
	case res.Record.Verdict == record.Interrupted || ctx.Err() != nil:
		return &exitError{exitInterrupted, fmt.Errorf("chaos interrupted: %s", res.Record.Reason)}
	case err != nil || res.Record.Verdict == record.Fail:
		return &exitError{1, fmt.Errorf("chaos failed (seed %d): %s", f.seed, res.Record.Reason)}
	}
	return nil
}
