package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/snapverify"
	"github.com/spf13/cobra"
)

const snapshotVerifyLong = `Verify a snapshot file before trusting it: one saved with etcdctl snapshot save,
or a member/snap/db copied out of a data dir (with --skip-hash-check).

First the file is checked without starting anything: its appended sha256 (which
etcdutl snapshot status does not check), truncation, and its revision, key
count and size, read in process. A damaged file stops there. Then it is
restored into a throwaway containerized cluster of --version with a new
--initial-cluster-token, and the report says whether that version serves it,
the keyspace digest, the revision and the health of every member.

Exit codes:
  0  the snapshot is intact and served by --version
  1  it is not: damaged, refused, or not served (too new for --version)
  2  bad input or environment: no such file, empty, not a snapshot, unreadable,
     bad flags, no Docker engine`

const snapshotVerifyExample = `  etcdrill snapshot verify snapshot.db
  etcdrill snapshot verify snapshot.db --version 3.5.35 --members 1 -o json
  etcdrill snapshot verify /backup/member/snap/db --skip-hash-check
  etcdrill snapshot verify snapshot.db --bump-revision 1000000000 --mark-compacted`

func newSnapshotCmd(stdout io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Check etcd snapshot files",
	}
	cmd.AddCommand(newSnapshotVerifyCmd(stdout, lg, outFmt))
	return cmd
}

func newSnapshotVerifyCmd(stdout io.Writer, lg *slog.Logger, outFmt func() (string, error)) *cobra.Command {
	o := snapverify.Options{Logger: lg}
	cmd := &cobra.Command{
		Use:     "verify FILE",
		Short:   "Check a snapshot file offline, then restore it on a throwaway cluster and verify it is served",
		Long:    snapshotVerifyLong,
		Example: snapshotVerifyExample,
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := outFmt()
			if err != nil {
				return err
			}
			res, err := snapverify.Verify(cmd.Context(), args[0], o)
			rec := res.Record
			if rec == nil {
				return usageErr("snapshot verify: %s", oneLine(err))
			}
			if werr := writeVerifySummary(stdout, f, args[0], rec, res.Dir); werr != nil {
				return usageErr("snapshot verify: %v", werr)
			}
			switch {
			case rec.Verdict == record.Interrupted:
				return &exitError{exitInterrupted, fmt.Errorf("%s", rec.Reason)}
			case rec.Verdict == record.Fail:
				return &exitError{1, fmt.Errorf("%s", oneLine(err))}
			case err != nil:
				return usageErr("snapshot verify: %s", oneLine(err))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Version, "version", harness.DefaultVersion, "etcd version that must serve the snapshot (tested: "+strings.Join(harness.Supported, ", ")+")")
	fl.StringVar(&o.Image, "image", "", "use this local etcd image instead of building one (etcd, etcdctl, etcdutl in /usr/local/bin)")
	fl.IntVar(&o.Members, "members", 3, "size of the throwaway cluster: 1, 3 or 5")
	fl.BoolVar(&o.SkipHashCheck, "skip-hash-check", false, "accept a file without an appended sha256 (a copied member/snap/db); a damaged file is refused regardless")
	fl.Uint64Var(&o.BumpRevision, "bump-revision", 0, "restore with etcdutl --bump-revision N (needs --mark-compacted): the revision must be at least the file's plus N")
	fl.BoolVar(&o.MarkCompacted, "mark-compacted", false, "restore with etcdutl --mark-compacted (needs --bump-revision): reads and watches of old revisions must be refused as compacted")
	fl.StringVar(&o.OutDir, "out", "reports/runs", "directory for the report")
	return cmd
}

// verifySummary is the one-screen summary, and -o json.
type verifySummary struct {
	File             string         `json:"file"`
	Verdict          record.Verdict `json:"verdict"`
	Reason           string         `json:"reason,omitempty"`
	EtcdVersion      string         `json:"etcd_version"`
	Members          int            `json:"members"`
	SnapshotRevision int64          `json:"snapshot_revision,omitempty"`
	KeyCount         int            `json:"key_count"`
	Digest           string         `json:"keyspace_digest,omitempty"`
	Checks           []record.Check `json:"checks"`
	Report           string         `json:"report_dir,omitempty"`
	// SizeBytes, Seconds and PeakRSSBytes say how big the file was, how
	// long the whole verification took and etcdrill's peak memory.
	SizeBytes    int64   `json:"size_bytes,omitempty"`
	Seconds      float64 `json:"seconds"`
	PeakRSSBytes int64   `json:"peak_rss_bytes,omitempty"`
}

func writeVerifySummary(w io.Writer, format, file string, r *record.Record, dir string) error {
	s := verifySummary{File: file, Verdict: r.Verdict, Reason: r.Reason, EtcdVersion: r.Config.EtcdVersion, Members: r.Config.Members,
		SnapshotRevision: r.Metrics.SnapshotRevision, KeyCount: r.Metrics.KeyCount, Digest: r.Metrics.Digest, Checks: r.Checks, Report: dir,
		SizeBytes: r.Metrics.SnapshotBytes, Seconds: r.End.Sub(r.Start).Seconds(), PeakRSSBytes: r.Metrics.PeakRSSBytes}
	if format == "json" {
		return writeJSON(w, s)
	}
	where := fmt.Sprintf("on etcd %s, %d members", s.EtcdVersion, s.Members)
	if s.Members == 1 {
		where = fmt.Sprintf("on etcd %s, 1 member", s.EtcdVersion)
	}
	if r.Config.Image == "" {
		where = "checked offline, no cluster started"
	}
	fmt.Fprintf(w, "snapshot %s (%s): %s\n", file, where, strings.ToUpper(string(s.Verdict)))
	if s.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", s.Reason)
	}
	var rows [][]string
	for _, c := range s.Checks {
		rows = append(rows, []string{c.Name, string(c.Verdict), c.Summary})
	}
	if err := table(w, "CHECK\tVERDICT\tSUMMARY", rows); err != nil {
		return err
	}
	if s.Digest != "" {
		fmt.Fprintf(w, "keyspace: %d keys, sha256 %s\n", s.KeyCount, s.Digest)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "report:   %s\n", s.Report)
	}
	return nil
}

// oneLine joins the lines of a joined error, so it prints as one line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ; ")), " ")
}
