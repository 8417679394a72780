package scenarios_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
)

// holdPaused is how long the spec below keeps the only other voter
// paused: longer than etcdctl's 5 s command timeout, so that the first
// `member remove` times out with its proposal still uncommitted, and well
// within the election budget reconfigure retries in.
const holdPaused = 7 * time.Second

// A membership change that times out may still be applied: etcd commits
// the proposal later. This spec makes that happen on a live cluster (the
// CI flake it answers: `member remove` and `member add` timing out under
// load on 3.7.3) and expects the procedure to settle it with `member
// list`, not to fail or to remove twice.
var _ = Describe("a membership change that times out", Label("membership"), func() {
	for _, v := range versions {
		It(fmt.Sprintf("is settled by member list on etcd %s", v), func(ctx SpecContext) {
			c, err := harness.New(ctx, harness.WithVersion(v.String()), harness.WithImage(opts.Image), harness.WithName("reconf"),
				harness.WithLogger(opts.Logger))
			DeferCleanup(c.Close)
			Expect(err).NotTo(HaveOccurred(), "start cluster")

			leader, err := c.WaitLeader(ctx)
			Expect(err).NotTo(HaveOccurred())
			var others []*harness.Member
			for _, m := range c.Members() {
				if m != leader {
					others = append(others, m)
				}
			}
			lost, voter := others[0], others[1]
			ms, err := recovery.ListMembers(ctx, &record.Log{}, record.PhaseRecovery, "list", leader, func(ms []recovery.Member) (recovery.Member, string, error) {
				m, err := recovery.FindByName(ms, lost.Name())
				return m, "", err
			})
			Expect(err).NotTo(HaveOccurred())

			By("stopping " + lost.Name() + " and pausing " + voter.Name() + ", the only other voter, for " + holdPaused.String())
			Expect(lost.Stop(ctx)).To(Succeed())
			Expect(voter.Pause(ctx)).To(Succeed())
			thawed := make(chan error, 1)
			timer := time.AfterFunc(holdPaused, func() { thawed <- voter.Unpause(context.WithoutCancel(ctx)) })
			DeferCleanup(func(ctx context.Context) {
				if timer.Stop() {
					_ = voter.Unpause(ctx)
				}
			})

			var log record.Log
			err = recovery.RemoveMember(ctx, &log, c, leader, lost.Name(), ms.ID)
			Expect(err).NotTo(HaveOccurred())
			Eventually(thawed).WithTimeout(holdPaused).Should(Receive(BeNil()))
			steps := log.Steps()
			Expect(steps).To(HaveLen(1))
			GinkgoWriter.Printf("$ %s\n%s\n", steps[0].Command, steps[0].Output)
			Expect(steps[0].Verdict).To(Equal(record.Pass))
			Expect(steps[0].Output).To(ContainSubstring("etcd may have applied it"), "the first try timed out")

			left, err := recovery.ListMembers(ctx, &record.Log{}, record.PhaseRecovery, "list", leader, func(ms []recovery.Member) (recovery.Member, string, error) {
				Expect(ms).To(HaveLen(2), "one member removed, once")
				return ms[0], "", nil
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(left.ID).NotTo(Equal(ms.ID))
		})
	}
})
