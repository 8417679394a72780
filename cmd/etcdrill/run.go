package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/scenarios"
)

type runCmd struct {
	version, versions, image, tls, auth, out string
	members, writers                         int
	seed                                     int64
	rate                                     float64
	all, keep                                bool
}

func (c *runCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.version, "version", harness.DefaultVersion, "etcd version to drill (tested: "+strings.Join(harness.Supported, ", ")+")")
	fs.StringVar(&c.versions, "versions", "", "comma-separated etcd versions: run every drill on each (a matrix); overrides --version")
	fs.StringVar(&c.image, "image", "", "use this local etcd image instead of building one (it must hold etcd, etcdctl and etcdutl in /usr/local/bin)")
	fs.IntVar(&c.members, "members", 0, "cluster size 1, 3 or 5 (default: the scenario's)")
	fs.StringVar(&c.tls, "tls", "auto", "client and peer TLS: on, off, or auto (the scenario's default)")
	fs.StringVar(&c.auth, "auth", "auto", "etcd auth (root user and a workload role): on, off, or auto (the scenario's default)")
	fs.Int64Var(&c.seed, "seed", 0, "seed for keys and values (default: random, written to the report)")
	fs.IntVar(&c.writers, "writers", 4, "concurrent writers")
	fs.Float64Var(&c.rate, "rate", 100, "total writes per second")
	fs.StringVar(&c.out, "out", "reports/runs", "directory for drill reports")
	fs.BoolVar(&c.all, "all", false, "run every drill in the catalogue, plus the auth variants of those that have one")
	fs.BoolVar(&c.keep, "keep-artifacts", false, "save member logs and data dirs of a failed drill in its report directory")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: etcdrill run [flags] [NAME...]\n\nRuns the named drills (default: "+strings.Join(scenarios.Default, " ")+").\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func (c *runCmd) run(ctx context.Context, args []string, stdout, stderr io.Writer, lg *slog.Logger) error {
	fs := c.flags(stderr)
	names, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return usageErr("run: %v", err)
	}
	var list []*scenarios.Scenario
	if c.all {
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
	opts := scenarios.Options{Version: c.version, Image: c.image, Members: c.members, Seed: c.seed, OutDir: c.out, KeepArtifacts: c.keep, Logger: lg}
	opts.Load.Writers, opts.Load.Rate = c.writers, c.rate
	if opts.TLS, err = onOffAuto("tls", c.tls); err != nil {
		return err
	}
	if opts.Auth, err = onOffAuto("auth", c.auth); err != nil {
		return err
	}
	versions := []string{c.version}
	if c.versions != "" {
		versions = strings.Split(c.versions, ",")
	}
	for i, v := range versions {
		versions[i] = strings.TrimSpace(v)
		if err := preflight(ctx, versions[i], c.image); err != nil {
			return err
		}
	}
	var recs []*record.Record
	var runNames []string
	failed := 0
	for _, e := range scenarios.Matrix(list, versions, c.all && opts.Auth == nil) {
		o := opts
		o.Version = e.Version
		if e.Auth != nil {
			o.Auth = e.Auth
		}
		rec, err := scenarios.Run(ctx, e.Scenario, o)
		recs, runNames = append(recs, rec), append(runNames, e.Name())
		if err != nil || rec.Verdict == record.Fail {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	summary(stdout, runNames, recs, c.out)
	if failed > 0 {
		return &exitError{1, fmt.Errorf("%d of %d drills failed", failed, len(recs))}
	}
	return nil
}

// onOffAuto reads an on|off|auto flag; auto (nil) keeps the scenario's.
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

// parseInterspersed parses flags wherever they stand among the positional
// arguments, as etcdctl and kubectl accept them, and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string // after "--", everything is positional
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// preflight turns the environment errors every drill would hit into one
// clear line before anything starts.
func preflight(ctx context.Context, version, image string) error {
	v, err := harness.ParseVersion(version)
	if err != nil {
		return usageErr("%v", err)
	}
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

// summary prints one line per drill run: the matrix at a glance.
func summary(w io.Writer, names []string, recs []*record.Record, out string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DRILL\tVERSION\tTLS\tVERDICT\tDURATION\tRTO\tRPO\tREASON")
	for i, r := range recs {
		rto := "-"
		if r.Metrics.RTOMillis >= 0 && r.Verdict != record.NotApplicable {
			rto = (time.Duration(r.Metrics.RTOMillis) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%d\t%s\n", names[i], r.Config.EtcdVersion, r.Config.TLS, strings.ToUpper(string(r.Verdict)),
			r.End.Sub(r.Start).Round(time.Second), rto, r.Metrics.RPOWrites, r.Reason)
	}
	tw.Flush()
	if out != "" {
		fmt.Fprintf(w, "reports: %s\n", out)
	}
}
