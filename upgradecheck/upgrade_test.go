package upgradecheck_test

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/upgrade"
	"github.com/etcdrill/etcdrill/upgradecheck"
)

// upgradeTimeout bounds one upgrade check: two clusters, one after the
// other, and a rolling upgrade in between.
const upgradeTimeout = 8 * time.Minute

var _ = Describe("upgrade-check", Label("upgrade"), func() {
	check := func(ctx context.Context, o upgradecheck.Options) (*upgradecheck.Result, error) {
		o.OutDir, o.Logger = outDir, logger
		return upgradecheck.Check(ctx, o)
	}
	blockers := func(res *upgradecheck.Result) []string {
		var ids []string
		for _, f := range upgrade.Filter(res.Findings, upgrade.Blocker) {
			ids = append(ids, f.ID)
		}
		return ids
	}
	checkPassed := func(r *record.Record, name string) {
		for _, c := range r.Checks {
			if c.Name == name {
				Expect(c.Verdict).To(Equal(record.Pass), "%s: %s", name, c.Summary)
				return
			}
		}
		Fail("no check " + name)
	}

	It("--demonstrate runs 3.5.16 → 3.6.16 anyway: 3.6 refuses to start with too many learners, as the 19557 gate predicts", Label("demonstrate"), func(ctx SpecContext) {
		By("building the affected 3.5.16 image")
		ready(ctx, harness.MustVersion("3.5.16"))
		By("promoting two learners on 3.5.16, then moving one member to 3.6.16")
		res, err := check(ctx, upgradecheck.Options{From: "3.5.16", To: "3.6.16", Demonstrate: true})
		Expect(err).To(MatchError(upgradecheck.ErrBlocked))
		Expect(res.Safe).To(BeFalse())
		Expect(blockers(res)).To(ContainElement("min-patch"))
		Expect(res.Demonstrated).To(ConsistOf("learner-promotion-19557"))
		checkPassed(res.Record, "demonstrate learner-promotion-19557")
		By("the member went back to 3.5.16 and the cluster is whole")
		checkPassed(res.Record, "health")
		checkPassed(res.Record, "membership")
		checkPassed(res.Record, "key-integrity")
	}, SpecTimeout(imageBuildTimeout+upgradeTimeout))

	It("--demonstrate refuses a path with nothing to reproduce", func(ctx SpecContext) {
		res, err := check(ctx, upgradecheck.Options{From: "3.5.35", To: "3.7.3", Demonstrate: true})
		Expect(err).To(MatchError(upgradecheck.ErrBlocked))
		Expect(err.Error()).To(ContainSubstring("can be reproduced in containers here"))
		Expect(res.Demonstrated).To(BeEmpty())
	}, SpecTimeout(upgradeTimeout))

	for _, tc := range []struct{ from, to, cluster string }{
		{"3.5.35", "3.6.16", "3.6.0"},
		{"3.6.16", "3.7.3", "3.7.0"},
	} {
		It("rolls "+tc.from+" to "+tc.to+" member by member under load and restores an "+tc.from+" snapshot on "+tc.to, func(ctx SpecContext) {
			By("checking the gates, then upgrading every member and checking the cluster after each")
			res, err := check(ctx, upgradecheck.Options{From: tc.from, To: tc.to})
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Safe).To(BeTrue(), res.Reason)
			Expect(res.Members).To(HaveLen(3))
			for _, m := range res.Members {
				Expect(m.Server).To(Equal(tc.to), "member %s", m.Name)
			}
			Expect(res.Members[2].WasLeader).To(BeTrue(), "the leader goes last")
			By("the cluster version ends at " + tc.cluster)
			Expect(res.ClusterVersion).To(Equal(tc.cluster))
			for _, name := range []string{"hashkv", "key-integrity", "cluster-version", "fallback-restore", "verdict"} {
				checkPassed(res.Record, name)
			}
			Expect(res.Fallback).To(HavePrefix("rehearsed"))
			By("the record says where the cluster started and where it went")
			Expect(res.Record.Config.EtcdVersion).To(Equal(tc.from))
			Expect(res.Record.Config.TargetVersion).To(Equal(tc.to))
			Expect(res.Record.Metrics.RTOMillis).NotTo(BeNil(), "the longest outage of a member's step")
		}, SpecTimeout(upgradeTimeout))
	}

	It("refuses 3.5.19 → 3.6.16 before anything runs (etcd issue 19557)", func(ctx SpecContext) {
		res, err := check(ctx, upgradecheck.Options{From: "3.5.19", To: "3.6.16"})
		Expect(err).To(MatchError(upgradecheck.ErrBlocked))
		Expect(res.Safe).To(BeFalse())
		Expect(blockers(res)).To(Equal([]string{"min-patch"}))
		Expect(res.Record.RunID).To(BeEmpty(), "no cluster was started")
		Expect(res.Record.Steps).To(HaveLen(1), "only the gate step ran")
		Expect(res.Record.Metrics.RTOMillis).To(BeNil(), "nothing was stopped, so no outage was measured")
		Expect(res.Record.Verdict).To(Equal(record.Fail))
	}, SpecTimeout(time.Minute))

	It("refuses 3.5 with v2 content → 3.6 at the first member, and the cluster stays whole on 3.5", func(ctx SpecContext) {
		res, err := check(ctx, upgradecheck.Options{From: "3.5.35", To: "3.6.16", V2: true})
		Expect(err).To(MatchError(upgradecheck.ErrBlocked))
		Expect(blockers(res)).To(Equal([]string{"v2-content"}))
		Expect(res.Members).To(BeEmpty(), "no member was moved to 3.6")
		By("the refused member went back on 3.5 and every check still passes")
		for _, name := range []string{"health", "leader", "hashkv", "key-integrity"} {
			checkPassed(res.Record, name)
		}
		Expect(res.ClusterVersion).To(Equal("3.5.0"))
	}, SpecTimeout(upgradeTimeout))

	It("finds v2 content in a production data dir tarball before any member is replaced", func(ctx SpecContext) {
		By("making a 3.5 data dir that holds a v2 key")
		tarball := v2DataDir(ctx, filepath.Join(GinkgoT().TempDir(), "member-data.tar.gz"))
		res, err := check(ctx, upgradecheck.Options{From: "3.5.35", To: "3.6.16", DataDir: tarball})
		Expect(err).To(MatchError(upgradecheck.ErrBlocked))
		Expect(blockers(res)).To(Equal([]string{"v2-content"}))
		Expect(res.Findings).To(ContainElement(HaveField("ID", "data-dir-version")))
		Expect(res.Members).To(BeEmpty())
	}, SpecTimeout(upgradeTimeout))
})

// v2DataDir writes a v2 key into a one-member 3.5.35 cluster, stops it,
// and saves its data dir as a tar.gz at path, as an operator would copy
// one off a production member.
func v2DataDir(ctx context.Context, path string) string {
	c, err := harness.New(ctx, harness.WithVersion("3.5.35"), harness.WithName("upgrade-datadir"), harness.WithMembers(1), harness.WithV2(), harness.WithLogger(logger))
	DeferCleanup(c.Close)
	Expect(err).NotTo(HaveOccurred())
	kapi, err := c.KeysV2()
	Expect(err).NotTo(HaveOccurred())
	_, err = kapi.Set(ctx, "/legacy/v2-key", "v2 value", nil)
	Expect(err).NotTo(HaveOccurred())
	m := c.Members()[0]
	Expect(m.Stop(ctx)).To(Succeed())
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	zw := gzip.NewWriter(f)
	Expect(m.ArchiveDataDir(ctx, zw)).To(Succeed())
	Expect(zw.Close()).To(Succeed())
	Expect(c.Close(ctx)).To(Succeed(), "one cluster at a time: this one goes before the check starts its own")
	return path
}
