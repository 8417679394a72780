package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
	return &cobra.Command{
		Use:     "report DIR",
		Short:   "Re-render a drill's reports from its report.json",
		Example: "  etcdrill report reports/runs/quorum-loss-v3.6.16-1a2b3c4d",
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := reports.Render(args[0]); err != nil {
				return usageErr("report: %v", err)
			}
			fmt.Fprintf(w, "rendered %s\n", args[0])
			return nil
		},
	}
}

func newImagesCmd(w io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	var versions string
	cmd := &cobra.Command{
		Use:     "images",
		Short:   "Build etcd images from the Go module proxy (when asked) and list the built ones",
		Example: "  etcdrill images --version 3.5.35,3.6.16,3.7.3",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := outFmt()
			if err != nil {
				return err
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
