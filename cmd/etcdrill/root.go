package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/spf13/cobra"
)

const rootLong = `etcdrill proves etcd disaster recovery works: it starts real etcd clusters in
containers, injects faults, runs the operator's recovery procedure (etcdctl and
etcdutl inside the members), verifies every key and member, and writes a drill
report.

Exit codes:
  0  every drill passed (or does not apply to the version)
  1  a drill failed
  2  usage or environment error: no Docker engine, unknown etcd version,
     unknown drill, bad flag, a cluster size the drill cannot run on
  130 interrupted (Ctrl-C); a second Ctrl-C stops waiting for teardown`

const rootExample = `  # run the default drills on the default etcd version
  etcdrill run

  # one drill, with TLS and auth, reproducibly
  etcdrill run quorum-loss --tls on --auth on --seed 42

  # the whole catalogue on three etcd versions
  etcdrill run --all --versions 3.5.35,3.6.16,3.7.3`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var output string
	root := &cobra.Command{
		Use:           "etcdrill",
		Short:         "Prove etcd disaster recovery works, with real clusters and real procedures",
		Long:          rootLong,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	outFmt := func() (string, error) {
		if output != "table" && output != "json" {
			return "", usageErr("--output %q: want table or json", output)
		}
		return output, nil
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if !c.HasParent() { // the root: "etcdrill: " is printed once, in front of every error
			return usageErr("%v", err)
		}
		return usageErr("%s: %v", c.Name(), err)
	})
	root.AddCommand(
		newListCmd(stdout, outFmt),
		newRunCmd(stdout, stderr, lg, outFmt),
		newReportCmd(stdout),
		newImagesCmd(stdout, lg, outFmt),
		newReapCmd(stdout, lg),
		newSnapshotCmd(stdout, lg, outFmt),
		newVersionCmd(stdout, outFmt),
		newUpgradeCmd(stdout, lg, outFmt),
		newScaleCmd(stdout, lg),
		newChaosCmd(stdout, lg, outFmt),
		newRunbookCmd(stdout),
	)
	return root
}

func newVersionCmd(w io.Writer, outFmt func() (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print etcdrill's version and the etcd versions it drills",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := outFmt()
			if err != nil {
				return err
			}
			if f == "json" {
				return writeJSON(w, map[string]any{"etcdrill": Version, "default_etcd": harness.DefaultVersion, "tested_etcd": harness.Supported})
			}
			fmt.Fprintf(w, "etcdrill %s\ndefault etcd: %s\ntested etcd:  %s\n", Version, harness.DefaultVersion, strings.Join(harness.Supported, ", "))
			return nil
		},
	}
}

// positional wraps cobra's argument errors as usage errors (exit 2).
func positional(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageErr("%s: %v", cmd.Name(), err)
		}
		return nil
	}
}
