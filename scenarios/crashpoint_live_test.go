package scenarios_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/fault"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
)

// These specs plant, on a live member of the failpoints image, what the
// crash-point check exists to catch: a member that did not crash, one
// that died another way, one that crashed at another failpoint, and a
// failpoint the binary does not have.
var _ = Describe("crash points on a live cluster", Label("failpoint"), func() {
	newCluster := func(ctx context.Context) *harness.Cluster {
		c, err := harness.New(ctx, harness.WithVersion(opts.Version), harness.WithName("crashcheck"), harness.WithMembers(1),
			harness.WithFailpoints(), harness.WithLogger(opts.Logger))
		DeferCleanup(c.Close)
		Expect(err).NotTo(HaveOccurred(), "start cluster")
		return c
	}
	put := func(ctx context.Context, c *harness.Cluster) {
		cli, err := c.Client()
		Expect(err).NotTo(HaveOccurred())
		defer cli.Close()
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, _ = cli.Put(pctx, "/crashcheck/k", "v") // may die with the member
	}

	It("reports a running member, a killed one and one crashed at another point as not crashed", func(ctx SpecContext) {
		c := newCluster(ctx)
		m := c.Members()[0]
		_, err := fault.Crashed(ctx, m, fault.RaftBeforeSave)
		Expect(err).To(MatchError(fault.ErrNotCrashed), "running member")

		By("SIGKILL: the member exits, but not at the failpoint")
		Expect(m.Kill(ctx)).To(Succeed())
		_, err = fault.Crashed(ctx, m, fault.RaftBeforeSave)
		Expect(err).To(MatchError(fault.ErrNotCrashed), "killed member")

		By("crashing it at raftAfterSave and checking for raftBeforeSave")
		Expect(m.Start(ctx)).To(Succeed())
		Expect(c.WaitReady(ctx)).To(Succeed())
		_, err = m.Failpoint(ctx, http.MethodPut, fault.RaftAfterSave.Failpoint, fault.RaftAfterSave.Term())
		Expect(err).NotTo(HaveOccurred())
		put(ctx, c)
		Eventually(func(ctx context.Context) bool {
			st, err := m.Exited(ctx)
			return err == nil && st.Exited
		}).WithContext(ctx).WithTimeout(fault.CrashTimeout).Should(BeTrue(), "member crashes at raftAfterSave")
		_, err = fault.Crashed(ctx, m, fault.RaftBeforeSave)
		Expect(err).To(MatchError(fault.ErrNotCrashed), "crashed at another failpoint")
		a, err := fault.Crashed(ctx, m, fault.RaftAfterSave)
		Expect(err).NotTo(HaveOccurred(), "crashed at the armed failpoint")
		Expect(a.Output).To(ContainSubstring("failpoint panic: etcdrill crash at raftAfterSave"))
	})

	It("refuses a failpoint the etcd binary does not have, and arms nothing", func(ctx SpecContext) {
		c := newCluster(ctx)
		var log record.Log
		missing := fault.Crashpoint{Failpoint: "noSuchFailpoint", Where: "nowhere"}
		_, err := fault.CrashAt(fault.Leader(), missing).Inject(ctx, c, &log)
		Expect(err).To(MatchError(ContainSubstring("has no failpoint noSuchFailpoint")))
		Expect(c.Members()[0].Running(ctx)).To(BeTrue())
	})
})
