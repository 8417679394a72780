package scenarios_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/scenarios"
)

// suiteChaosDuration is short: the suite shows chaos works on every
// version; the 10-minute runs are `etcdrill chaos`'s.
const suiteChaosDuration = 30 * time.Second

var _ = Describe("chaos", Label("chaos"), func() {
	for _, v := range versions {
		It("mixes faults for "+suiteChaosDuration.String()+" on etcd "+v.String()+" with no false alarm", func(ctx SpecContext) {
			seed := GinkgoRandomSeed()
			s, err := scenarios.Chaos(scenarios.ChaosConfig{Duration: suiteChaosDuration, Seed: seed})
			Expect(err).NotTo(HaveOccurred())
			o := opts
			o.Version, o.Seed = v.String(), seed
			o.OnStep = func(_ string, _, _ int, title string) { By(title) }
			res, err := drill.Run(ctx, s, o)
			Expect(err).NotTo(HaveOccurred(), "chaos with seed %d", seed)
			Expect(res.Record.Verdict).To(Equal(record.Pass), "chaos with seed %d: %s", seed, res.Record.Reason)
			Expect(res.Record.Clients).NotTo(BeNil(), "the chaos report must say what clients saw")
		}, SpecTimeout(drillTimeout))
	}
})
