package scenarios_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/runbook"
	"github.com/etcdrill/etcdrill/scenarios"
)

// The operator's-runbook specs: an exported built-in procedure, run as
// the operator's own runbook, passes exactly as the built-in one does;
// a runbook with a planted mistake is caught by the checks, and the
// "runbook" check points at the mistaken line.
var _ = Describe("operator runbooks", Label("runbook"), func() {
	// drillRunbook exports name's procedure for version, applies edit
	// (the planted mistake; nil for none), and drills it.
	drillRunbook := func(ctx context.Context, name, version string, edit func(string) string) (*runbook.Runbook, *record.Record, error) {
		s, err := scenarios.Lookup(name)
		Expect(err).NotTo(HaveOccurred())
		o := opts
		o.Version = version
		cfg, err := drill.Resolve(s, o)
		Expect(err).NotTo(HaveOccurred())
		md, err := runbook.Export(runbook.ExportOptions{Drill: name, Version: version, Members: cfg.Members, TLS: cfg.TLS, Auth: cfg.Auth})
		Expect(err).NotTo(HaveOccurred(), "export %s", name)
		if edit != nil {
			planted := edit(md)
			Expect(planted).NotTo(Equal(md), "the planted mistake changed nothing")
			md = planted
		}
		path := filepath.Join(GinkgoT().TempDir(), "runbook.md")
		Expect(os.WriteFile(path, []byte(md), 0o600)).To(Succeed())
		r, err := runbook.Load(path, cfg.Members)
		Expect(err).NotTo(HaveOccurred(), "load the runbook")
		o.Runbook = runbook.Procedure{Runbook: r}
		o.OnStep = func(_ string, _, _ int, title string) { By(title) }
		res, err := drill.Run(ctx, s, o)
		Expect(res.Record).NotTo(BeNil(), "drill %s: %v", name, err)
		return r, res.Record, err
	}
	check := func(r *record.Record, name string) record.Check {
		for _, c := range r.Checks {
			if c.Name == name {
				return c
			}
		}
		Fail("no check " + name + " in the record")
		return record.Check{}
	}
	// lineOf is the runbook line that contains s.
	lineOf := func(r *runbook.Runbook, md, s string) string {
		for i, l := range strings.Split(md, "\n") {
			if strings.Contains(l, s) {
				return r.At(i + 1)
			}
		}
		Fail("no line contains " + s)
		return ""
	}

	for _, v := range versions {
		for _, name := range runbook.Exportable {
			s, _ := scenarios.Lookup(name)
			It(name+" on etcd "+v.String()+": the exported runbook passes as the built-in procedure does", Label(s.Labels...), func(ctx SpecContext) {
				if ok, why := s.Applies(v); !ok {
					Skip("not applicable: " + why)
				}
				r, rec, err := drillRunbook(ctx, name, v.String(), nil)
				Expect(err).NotTo(HaveOccurred(), "drill %s with its exported runbook", name)
				Expect(rec.Verdict).To(Equal(record.Pass), rec.Reason)
				Expect(check(rec, runbook.CheckName).Verdict).To(Equal(record.Pass))
				By("every part of the runbook is recorded with its lines and host")
				n := 0
				for _, st := range r.Steps {
					n += len(st.Actions)
				}
				recorded := 0
				for _, st := range rec.Steps {
					if strings.HasPrefix(st.Command, "# runbook.md:") {
						recorded++
						Expect(st.Member).NotTo(BeEmpty(), st.Name)
					}
				}
				Expect(recorded).To(Equal(n))
			}, SpecTimeout(drillTimeout))
		}
	}

	v := versions[0].String()
	It("quorum-loss on etcd "+v+": a restore that reuses the cluster's token is caught at its line", Label("restore"), func(ctx SpecContext) {
		var md string
		r, rec, err := drillRunbook(ctx, "quorum-loss", v, func(s string) string {
			md = strings.ReplaceAll(s, `--initial-cluster-token="${TOKEN}" --initial-advertise`, `--initial-cluster-token="${CLUSTER_TOKEN}" --initial-advertise`)
			return md
		})
		Expect(err).To(HaveOccurred())
		Expect(rec.Verdict).To(Equal(record.Fail))
		Expect(check(rec, "new-cluster-id").Verdict).To(Equal(record.Fail))
		Expect(check(rec, runbook.CheckName).Summary).To(ContainSubstring(lineOf(r, md, "--name=m1 ")))
		Expect(check(rec, runbook.CheckName).Summary).To(ContainSubstring("reuses the cluster's old --initial-cluster-token"))
	}, SpecTimeout(drillTimeout))

	It("quorum-loss on etcd "+v+": a member's forgotten restore is caught, naming the member and what it skipped", Label("restore"), func(ctx SpecContext) {
		restoreM2 := regexp.MustCompile(`# on m2\netcdutl snapshot restore [^\n]*\n`)
		_, rec, err := drillRunbook(ctx, "quorum-loss", v, func(s string) string { return restoreM2.ReplaceAllString(s, "") })
		Expect(err).To(HaveOccurred())
		Expect(rec.Verdict).To(Equal(record.Fail))
		rb := check(rec, runbook.CheckName)
		Expect(rb.Verdict).To(Equal(record.Fail))
		Expect(strings.Join(rb.Details, "\n")).To(MatchRegexp("m2: it never ran `etcdutl snapshot restore` \\(run on m1 at runbook.md:[0-9]+, m3 at runbook.md:[0-9]+\\)"))
	}, SpecTimeout(drillTimeout))

	It("quota-exhaustion on etcd "+v+": a skipped alarm disarm is caught, and the report says where it belongs", Label("quota"), func(ctx SpecContext) {
		var r0 *runbook.Runbook
		r, rec, err := drillRunbook(ctx, "quota-exhaustion", v, func(s string) string {
			cut := s[:strings.Index(s, "### 4. Disarm the alarm")]
			r0, _ = runbook.Parse("runbook.md", []byte(cut))
			return cut
		})
		Expect(err).To(HaveOccurred())
		Expect(rec.Verdict).To(Equal(record.Fail))
		Expect(check(rec, "alarms").Verdict).To(Equal(record.Fail))
		last := r0.Steps[len(r0.Steps)-1]
		Expect(check(rec, runbook.CheckName).Summary).To(ContainSubstring("no line of runbook.md runs `etcdctl alarm disarm`; add it after the defragmentation (the procedure ends at " + r.At(last.Actions[len(last.Actions)-1].End)))
	}, SpecTimeout(drillTimeout))
})
