package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/runbook"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/spf13/cobra"
)

const runbookExportExample = `  etcdrill runbook export quorum-loss --version 3.6.16 > runbook.md
  $EDITOR runbook.md                                   # make it yours
  etcdrill run quorum-loss --version 3.6.16 --runbook runbook.md`

// runbookExport is `etcdrill runbook export`.
type runbookExport struct {
	version, tls, auth string
	members            int
}

func newRunbookCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "Write a drill's built-in recovery procedure as a runbook to edit and drill again",
	}
	var x runbookExport
	export := &cobra.Command{
		Use:   "export DRILL",
		Short: "Write DRILL's built-in recovery procedure as a Markdown runbook",
		Long: `Write DRILL's built-in recovery procedure as a Markdown runbook, with variables
where a run has its own values and a header that documents the variables and
the stop etcd / start etcd convention. Run it with ` + "`etcdrill run DRILL --runbook FILE`" + `:
an exported runbook passes as the built-in procedure does. Exports exist for
` + strings.Join(runbook.Exportable, ", ") + `. Needs no Docker.`,
		Example: runbookExportExample,
		Args:    positional(cobra.ExactArgs(1)),
		RunE:    func(cmd *cobra.Command, args []string) error { return x.run(stdout, args[0]) },
	}
	fl := export.Flags()
	fl.StringVar(&x.version, "version", harness.DefaultVersion, "etcd version the runbook is for")
	fl.IntVar(&x.members, "members", 0, "cluster size 1, 3 or 5 (default: the drill's own)")
	fl.StringVar(&x.tls, "tls", "auto", "client TLS flags in the commands: on, off, or auto (the drill's default)")
	fl.StringVar(&x.auth, "auth", "auto", "--user on every etcdctl: on, off, or auto (the drill's default)")
	cmd.AddCommand(export)
	return cmd
}

func (x *runbookExport) run(w io.Writer, name string) error {
	s, err := scenarios.Lookup(name)
	if err != nil {
		return usageErr("%v", err)
	}
	o := drill.Options{Version: x.version, Members: x.members}
	if o.TLS, err = onOffAuto("tls", x.tls); err != nil {
		return err
	}
	if o.Auth, err = onOffAuto("auth", x.auth); err != nil {
		return err
	}
	cfg, err := drill.Resolve(s, o)
	if err != nil {
		return usageErr("%v", err)
	}
	if ok, why := s.Applies(cfg.Version); !ok {
		return usageErr("%s", why)
	}
	out, err := runbook.Export(runbook.ExportOptions{Drill: s.Name, Version: cfg.Version.String(), Members: cfg.Members, TLS: cfg.TLS, Auth: cfg.Auth})
	if errors.Is(err, runbook.ErrNoExport) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(w, out)
	return err
}
