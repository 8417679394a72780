package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/reports"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/moby/moby/client"
)

func list(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEEDS\tMEMBERS\tTLS\tSUMMARY")
	for _, s := range scenarios.All() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\n", s.Name, strings.Join(s.Seeds, ","), s.Members, s.TLS, s.Summary)
	}
	return tw.Flush()
}

func report(args []string, w io.Writer) error {
	if len(args) != 1 {
		return usageErr("usage: etcdrill report DIR")
	}
	if err := reports.Render(args[0]); err != nil {
		return usageErr("report: %v", err)
	}
	fmt.Fprintf(w, "rendered %s/%s\n", args[0], reports.MarkdownFile)
	return nil
}

func images(ctx context.Context, args []string, w, stderr io.Writer, lg *slog.Logger) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	versions := fs.String("version", "", "comma-separated etcd versions to build first (e.g. "+strings.Join(harness.Supported, ",")+")")
	if err := fs.Parse(args); err != nil {
		return usageErr("images: %v", err)
	}
	dc, err := harness.Docker(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	defer dc.Close()
	if *versions != "" {
		for _, s := range strings.Split(*versions, ",") {
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
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tETCD\tID\tSIZE")
	for _, im := range res.Items {
		tag := "<none>"
		if len(im.RepoTags) > 0 {
			tag = im.RepoTags[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%.19s\t%d MB\n", tag, im.Labels[harness.LabelEtcdVersion], im.ID, im.Size/1e6)
	}
	return tw.Flush()
}

func reap(ctx context.Context, w io.Writer, lg *slog.Logger) error {
	dc, err := harness.Docker(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	defer dc.Close()
	n, err := harness.Reap(ctx, dc, lg)
	fmt.Fprintf(w, "removed %d leftover objects\n", n)
	return err
}
