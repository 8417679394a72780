package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/upgrade"
	"github.com/etcdrill/etcdrill/upgradecheck"
	"github.com/spf13/cobra"
)

type upgradeFlags struct {
	from, to, config, dataDir, out string
	members                        int
	v2, demonstrate                bool
	seed                           int64
}

const upgradeLong = `Check whether production may move from etcd --from to etcd --to.

First the gates, which need nothing but the versions (and --config): the
version path (one minor at a time, downgrades one minor at a time), the
known upgrade bugs (3.5 before 3.5.20 cannot go to 3.6: etcd issue 19557),
and every flag or config key --to removed, renamed or changed. A blocked
path is refused at once, before any image is built or container started.

Then the rehearsal: a TLS cluster on --from under continuous writes is
upgraded member by member to --to (SIGTERM, swap the binary, start with
the flags --to takes, wait until ready), with health, one leader, HashKV
and every acknowledged write checked after each member, and the cluster
version read at each step. Where etcd supports it (--to 3.6 or later, or a
patch change) the cluster then goes back to --from the same way, after
"etcdctl downgrade enable". Last, a snapshot taken on --from before the
upgrade is restored into a new cluster on --to (the fallback).

With --demonstrate, a blocked path is run anyway on a throwaway cluster,
where the hazard a blocker predicts can be reproduced in containers: the
report then shows the failure the gate exists to prevent (for 3.5.16 →
3.6.16, etcd 3.6 refusing to start with "too many learner members").

The report ends with a verdict: safe to upgrade, or the blockers with what
to do about each. Exit codes: 0 safe, 1 blocked or failed, 2 usage or
environment error.`

const upgradeExample = `  etcdrill upgrade-check --from 3.5.35 --to 3.6.16
  etcdrill upgrade-check --from 3.6.16 --to 3.7.3 --config /etc/etcd/etcd.conf.yml
  etcdrill upgrade-check --from 3.5.21 --to 3.6.16 --config etcd.service --data-dir member-data.tar.gz -o json
  etcdrill upgrade-check --from 3.5.16 --to 3.6.16 --demonstrate   # run the blocked path anyway, to see it fail`

func newUpgradeCmd(stdout io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	var f upgradeFlags
	cmd := &cobra.Command{
		Use:     "upgrade-check --from X --to Y",
		Short:   "Check and rehearse an etcd upgrade from X to Y: gates, a rolling upgrade under load, a fallback restore",
		Long:    upgradeLong,
		Example: upgradeExample,
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			of, err := outFmt()
			if err != nil {
				return err
			}
			return f.run(cmd.Context(), stdout, lg, of)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "etcd version production runs now (required)")
	fl.StringVar(&f.to, "to", "", "etcd version to move to (required)")
	fl.StringVar(&f.config, "config", "", "etcd config file, flags file or systemd unit to lint against --to")
	fl.StringVar(&f.dataDir, "data-dir", "", "tar or tar.gz of a production member's data dir to check for blockers")
	fl.StringVar(&f.out, "out", "reports/runs", "directory for the report")
	fl.IntVar(&f.members, "members", 3, "size of the rehearsal cluster: 1, 3 or 5")
	fl.BoolVar(&f.v2, "v2", false, "also write v2 keys on --from before upgrading (3.5 only; they block 3.6)")
	fl.BoolVar(&f.demonstrate, "demonstrate", false, "run a blocked path anyway on a throwaway cluster and record the failure the gate predicts")
	fl.Int64Var(&f.seed, "seed", 0, "seed for keys and values (default: random, written to the report)")
	return cmd
}

func (f *upgradeFlags) run(ctx context.Context, w io.Writer, lg *slog.Logger, outFmt string) error {
	if f.from == "" || f.to == "" {
		return usageErr("upgrade-check: --from and --to are required")
	}
	res, err := upgradecheck.Check(ctx, upgradecheck.Options{
		From: f.from, To: f.to, Members: f.members, V2: f.v2, Demonstrate: f.demonstrate, Config: f.config, DataDir: f.dataDir,
		Seed: f.seed, OutDir: f.out, Logger: lg,
	})
	switch {
	case res == nil:
		return usageErr("upgrade-check: %v", err)
	case errors.Is(err, harness.ErrNoDocker) || errors.Is(err, harness.ErrUnknownVersion):
		return usageErr("upgrade-check: %v", flatten(err))
	}
	if outFmt == "json" {
		if werr := writeJSON(w, res); werr != nil {
			return werr
		}
	} else if werr := writeUpgradeSummary(w, res); werr != nil {
		return werr
	}
	if res.Verdict == record.Interrupted {
		return &exitError{exitInterrupted, fmt.Errorf("upgrade-check %s → %s: %s", res.From, res.To, res.Reason)}
	}
	if err != nil || !res.Safe {
		return &exitError{1, fmt.Errorf("%s %s → %s is not safe: %s", res.Direction, res.From, res.To, flatten(errors.New(res.Reason)))}
	}
	return nil
}

func flatten(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// writeUpgradeSummary prints the result on one screen: verdict, gates,
// the rolling upgrade per member, the fallback, and what to do.
func writeUpgradeSummary(w io.Writer, r *upgradecheck.Result) error {
	verdict := "SAFE TO " + strings.ToUpper(r.Direction)
	if !r.Safe {
		verdict = "NOT SAFE"
		if len(upgrade.Filter(r.Findings, upgrade.Blocker)) > 0 {
			verdict = "BLOCKED"
		}
	}
	fmt.Fprintf(w, "upgrade-check %s → %s: %s\n\n", r.From, r.To, verdict)
	var rows [][]string
	for _, f := range r.Findings {
		rows = append(rows, []string{strings.ToUpper(string(f.Severity)), f.ID, clip(f.Reason, 110)})
	}
	if err := table(w, "GATE\tID\tFINDING", rows); err != nil {
		return err
	}
	if len(r.Members) > 0 {
		fmt.Fprintln(w)
		rows = rows[:0]
		for _, step := range []struct {
			to string
			ms []upgradecheck.MemberUpgrade
		}{{r.To, r.Members}, {r.From, r.Back}} {
			for _, m := range step.ms {
				out := (time.Duration(m.OutMillis) * time.Millisecond).Round(10 * time.Millisecond)
				rows = append(rows, []string{"→ " + step.to, m.Name, fmt.Sprint(m.WasLeader), out.String(), m.Server, m.Cluster})
			}
		}
		if err := table(w, "STEP\tMEMBER\tWAS LEADER\tOUT\tSERVER\tCLUSTER VERSION", rows); err != nil {
			return err
		}
		fmt.Fprintf(w, "cluster version after the %s: %s\n", r.Direction, r.ClusterVersion)
	}
	if len(r.Demonstrated) > 0 {
		fmt.Fprintf(w, "demonstrated: %s (the hazard each gate predicts, reproduced on a throwaway cluster)\n", strings.Join(r.Demonstrated, ", "))
	}
	if r.Fallback != "" {
		fmt.Fprintf(w, "fallback: %s\n", r.Fallback)
	}
	if r.Downgrade != "" {
		fmt.Fprintf(w, "downgrade: %s\n", r.Downgrade)
	}
	if blockers := upgrade.Filter(r.Findings, upgrade.Blocker); len(blockers) > 0 {
		fmt.Fprintln(w, "\nwhat to do:")
		for _, b := range blockers {
			fmt.Fprintf(w, "- %s: %s\n", b.ID, b.Reason)
			for _, l := range b.Lines() {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	} else if !r.Safe {
		fmt.Fprintf(w, "\nrehearsal failed: %s\n", r.Reason)
	}
	if r.ReportDir != "" {
		fmt.Fprintf(w, "report: %s\n", r.ReportDir)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
