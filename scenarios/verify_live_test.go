package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/verify"
	"github.com/etcdrill/etcdrill/workload"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// These specs plant, in a real cluster, the defects the verifiers exist to
// catch, and expect to see them reported.
var _ = Describe("verifiers on a live cluster", Label("verify"), func() {
	newCluster := func(ctx context.Context, extra ...harness.Option) *harness.Cluster {
		t := harness.DefaultTimeouts()
		t.CatchUp = 5 * time.Second // the planted defect never heals
		o := append([]harness.Option{harness.WithVersion(opts.Version), harness.WithImage(opts.Image), harness.WithName("verify"),
			harness.WithMembers(1), harness.WithTimeouts(t), harness.WithLogger(opts.Logger)}, extra...)
		c, err := harness.New(ctx, o...)
		DeferCleanup(c.Close)
		Expect(err).NotTo(HaveOccurred(), "start cluster")
		return c
	}

	It("key-integrity reports a dropped key, a changed value and a stray key", func(ctx SpecContext) {
		c := newCluster(ctx)
		cli, err := c.Client()
		Expect(err).NotTo(HaveOccurred())
		defer cli.Close()
		cfg := workload.Config{Prefix: "/plant/", Seed: 3, ValueSize: 16}
		var l workload.Ledger
		for i := range 10 {
			_, err := workload.Put(ctx, cli, &l, 3*time.Second, cfg.Key(0, i), cfg.Value(0, i))
			Expect(err).NotTo(HaveOccurred())
		}
		By("deleting one key, overwriting another and adding a stray one behind the ledger's back")
		_, err = cli.Delete(ctx, cfg.Key(0, 3))
		Expect(err).NotTo(HaveOccurred())
		_, err = cli.Put(ctx, cfg.Key(0, 5), "tampered")
		Expect(err).NotTo(HaveOccurred())
		_, err = cli.Put(ctx, "/plant/stray", "x")
		Expect(err).NotTo(HaveOccurred())

		kvs, _, err := verify.Keyspace(ctx, cli, cfg.Prefix, 10*time.Second)
		Expect(err).NotTo(HaveOccurred())
		check := verify.Integrity(l.Writes(), kvs, verify.IntegrityOptions{Prefix: cfg.Prefix}).Check()
		Expect(check.Verdict).To(Equal(record.Fail))
		details := strings.Join(check.Details, "\n")
		Expect(details).To(ContainSubstring("missing: " + cfg.Key(0, 3)))
		Expect(details).To(ContainSubstring("changed: " + cfg.Key(0, 5)))
		Expect(details).To(ContainSubstring("/plant/stray"))
	})

	// A raised alarm never heals while verifying, so verify.Cluster reports
	// it without waiting out the catch-up budget: the budget here is far
	// longer than the spec's own timeout.
	It("alarms reports a stuck NOSPACE alarm", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		t := harness.DefaultTimeouts()
		t.CatchUp = time.Hour
		c := newCluster(ctx, harness.WithQuota(512*1024), harness.WithTimeouts(t))
		cli, err := c.Client()
		Expect(err).NotTo(HaveOccurred())
		defer cli.Close()
		By("filling the backend past its quota")
		var l workload.Ledger
		val := []byte(strings.Repeat("x", 32*1024))
		full := false
		for i := 0; i < 200 && !full; i++ {
			_, err := workload.Put(ctx, cli, &l, 3*time.Second, fmt.Sprintf("/fill/%04d", i), val)
			full = errors.Is(err, rpctypes.ErrNoSpace)
		}
		Expect(full).To(BeTrue(), "no write was refused with NOSPACE")
		// The put that crossed the quota may have been applied: it is not
		// ledgered as a definite failure.
		Expect(l.Counts()[workload.Failed]).To(BeZero())

		var alarms record.Check
		for _, ch := range verify.Cluster(ctx, c, verify.Expected(c)) {
			if ch.Name == "alarms" {
				alarms = ch
			}
		}
		Expect(alarms.Verdict).To(Equal(record.Fail))
		Expect(strings.Join(alarms.Details, "\n")).To(ContainSubstring("NOSPACE"))
	})
})
