package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns the way kubectl does (text/tabwriter).
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func writeSummary(w io.Writer, format string, rows []summaryRow, outDir string) error {
	if format == "json" {
		return writeJSON(w, rows)
	}
	var out [][]string
	for _, r := range rows {
		rto, rpo := "-", "-"
		if r.RTOMs != nil {
			rto = (time.Duration(*r.RTOMs) * time.Millisecond).String()
		}
		if r.RPO != nil {
			rpo = fmt.Sprint(*r.RPO)
		}
		out = append(out, []string{r.Drill, r.Version, fmt.Sprint(r.TLS), strings.ToUpper(string(r.Verdict)),
			(time.Duration(r.Duration * float64(time.Second))).Round(time.Second).String(), rto, rpo, r.Reason})
	}
	if err := table(w, "DRILL\tVERSION\tTLS\tVERDICT\tDURATION\tRTO\tRPO\tREASON", out); err != nil {
		return err
	}
	if outDir != "" {
		fmt.Fprintf(w, "reports: %s (open %s/index.html; JUnit in %s/junit.xml)\n", outDir, outDir, outDir)
	}
	return nil
}

func newListCmd(w io.Writer, outFmt func() (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the drill catalogue and the faults each drill injects",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := outFmt()
			if err != nil {
				return err
			}
			type entry struct {
				Name    string   `json:"name"`
				Seeds   []string `json:"seeds"`
				Members int      `json:"members"`
				TLS     bool     `json:"tls"`
				Faults  []string `json:"faults"`
				Summary string   `json:"summary"`
			}
			type faultEntry struct {
				Name   string   `json:"name"`
				Target string   `json:"target"`
				Drills []string `json:"drills"`
			}
			var es []entry
			var rows [][]string
			byFault := map[string]*faultEntry{}
			var order []string
			for _, s := range scenarios.All() {
				var names []string
				for _, fl := range s.Faults() {
					names = append(names, fl.Name())
					fe, ok := byFault[fl.Name()]
					if !ok {
						fe = &faultEntry{Name: fl.Name(), Target: fl.Target().Name()}
						byFault[fl.Name()] = fe
						order = append(order, fl.Name())
					}
					if !slices.Contains(fe.Drills, s.Name) {
						fe.Drills = append(fe.Drills, s.Name)
					}
				}
				es = append(es, entry{s.Name, s.Seeds, s.Members, s.TLS, names, s.Summary})
				rows = append(rows, []string{s.Name, strings.Join(s.Seeds, ","), fmt.Sprint(s.Members), fmt.Sprint(s.TLS), dashIfEmpty(strings.Join(names, ",")), s.Summary})
			}
			sort.Strings(order)
			var fes []faultEntry
			var frows [][]string
			for _, n := range order {
				fe := byFault[n]
				fes = append(fes, *fe)
				frows = append(frows, []string{fe.Name, fe.Target, strings.Join(fe.Drills, ",")})
			}
			if f == "json" {
				return writeJSON(w, map[string]any{"drills": es, "faults": fes})
			}
			if err := table(w, "DRILL\tSEEDS\tMEMBERS\tTLS\tFAULTS\tSUMMARY", rows); err != nil {
				return err
			}
			fmt.Fprintln(w)
			return table(w, "FAULT\tTARGET\tDRILLS", frows)
		},
	}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newReportCmd(w io.Writer) *cobra.Command {
	var merge bool
	var out string
	cmd := &cobra.Command{
		Use:   "report DIR | --merge DIR... [--out DIR]",
		Short: "Re-render a drill's reports from its report.json, or merge the runs of several directories",
		Long: `Re-render a drill's report.md and report.html from its report.json.

With --merge, read every run (each subdirectory with a report.json) under
each DIR, such as the --out of each "etcdrill run --shard i/n", and write one
index.html and one junit.xml over all of them into --out (default: the first
DIR). A run found twice (the same run ID, or a DIR given twice) is listed
once. The run directories are neither copied nor changed: the index links
each report by its path relative to --out, so publish --out with the DIRs in
the same layout (most simply, the DIRs inside --out).`,
		Example: `  etcdrill report reports/runs/quorum-loss-v3.6.16-1a2b3c4d
  etcdrill report --merge runs/shard-1 runs/shard-2 runs/shard-3 --out runs`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case merge && len(args) == 0:
				return usageErr("report --merge: want at least one DIR of runs")
			case !merge && cmd.Flags().Changed("out"):
				return usageErr("report: --out goes with --merge")
			case merge:
				return nil
			}
			return positional(cobra.ExactArgs(1))(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if merge {
				return mergeReports(w, args, out)
			}
			if err := reports.Render(args[0]); err != nil {
				return usageErr("report: %v", err)
			}
			fmt.Fprintf(w, "rendered %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&merge, "merge", false, "merge the runs under every DIR into one index.html and junit.xml")
	cmd.Flags().StringVar(&out, "out", "", "with --merge: where index.html and junit.xml go (default: the first DIR)")
	return cmd
}

// mergeReports is `report --merge DIR... [--out DIR]`: one index and one
// JUnit report over the runs of every DIR (see reports.Merge). A run whose
// record cannot be read is listed and is an error (exit 2) once both are
// written, since CI would not see it otherwise.
func mergeReports(w io.Writer, dirs []string, out string) error {
	if out == "" {
		out = dirs[0]
	}
	m, err := reports.Merge(out, dirs)
	if m.Runs > 0 || err == nil {
		msg := fmt.Sprintf("merged %s from %s into %s", countOf(m.Runs, "run"), countOf(m.Roots, "directory"), out)
		if m.Duplicates > 0 {
			msg += fmt.Sprintf(" (%s left out)", countOf(m.Duplicates, "duplicate"))
		}
		fmt.Fprintf(w, "%s: open %s; JUnit in %s\n", msg, filepath.Join(out, reports.IndexFile), filepath.Join(out, reports.JUnitFile))
	}
	if err != nil {
		return usageErr("report --merge: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// countOf is "1 run", "2 runs", "3 directories".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func newImagesCmd(w io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	var versions string
	var failpoints bool
	cmd := &cobra.Command{
		Use:     "images",
		Short:   "Build etcd images from the Go module proxy (when asked) and list the built ones",
		Example: "  etcdrill images --version 3.5.35,3.6.16,3.7.3\n  etcdrill images --version 3.6.16 --failpoints",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := outFmt()
			if err != nil {
				return err
			}
			if failpoints && versions == "" {
				return usageErr("--failpoints builds the variants of the versions given with --version")
			}
			ctx := cmd.Context()
			dc, err := harness.Docker(ctx)
			if err != nil {
				return usageErr("%v", err)
			}
			defer dc.Close()
			if versions != "" {
				for _, s := range strings.Split(versions, ",") {
					v, err := harness.ParseVersion(strings.TrimSpace(s))
					if err != nil {
						return usageErr("%v", err)
					}
					if _, err := harness.EnsureImage(ctx, dc, v, lg); err != nil {
						return usageErr("%v", err)
					}
					if !failpoints {
						continue
					}
					if _, err := harness.EnsureFailpointsImage(ctx, dc, v, lg); err != nil {
						return usageErr("%v", err)
					}
				}
			}
			res, err := dc.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", harness.LabelImage+"=etcd")})
			if err != nil {
				return usageErr("list images: %v", err)
			}
			var imgs []harness.Image
			var rows [][]string
			for _, im := range res.Items {
				tag := "<none>"
				if len(im.RepoTags) > 0 {
					tag = im.RepoTags[0]
				}
				imgs = append(imgs, harness.Image{Tag: tag, ID: im.ID, Version: im.Labels[harness.LabelEtcdVersion]})
				rows = append(rows, []string{tag, im.Labels[harness.LabelEtcdVersion], fmt.Sprintf("%.19s", im.ID), fmt.Sprintf("%d MB", im.Size/1e6)})
			}
			if f == "json" {
				return writeJSON(w, imgs)
			}
			return table(w, "IMAGE\tETCD\tID\tSIZE", rows)
		},
	}
	cmd.Flags().StringVar(&versions, "version", "", "comma-separated etcd versions to build first")
	cmd.Flags().BoolVar(&failpoints, "failpoints", false, "also build each version's variant with etcd's failpoints enabled (the crash-point drills run it)")
	return cmd
}

func newReapCmd(w io.Writer, lg *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "reap",
		Short: "Remove containers, networks and volumes left by killed etcdrill runs on this host",
		Long: `Remove containers, networks and volumes labelled by etcdrill whose owning
process is gone. Objects of running drills, of other hosts, and anything not
labelled by etcdrill are never touched. Every run does this on start.`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dc, err := harness.Docker(cmd.Context())
			if err != nil {
				return usageErr("%v", err)
			}
			defer dc.Close()
			n, err := harness.Reap(cmd.Context(), dc, lg)
			fmt.Fprintf(w, "removed %d leftover objects\n", n)
			return err
		},
	}
}
