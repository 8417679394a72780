package scenarios_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/moby/moby/client"
)

// The harness never leaks and never touches what it did not create.
var _ = Describe("harness hygiene", Label("harness"), func() {
	It("reaps what a killed run left, and leaves live runs and foreign objects alone", func(ctx SpecContext) {
		dc, err := harness.Docker(ctx)
		Expect(err).NotTo(HaveOccurred())
		defer dc.Close()
		host, _ := os.Hostname()

		// A process that has exited stands for a run that was killed.
		dead := exec.Command("true")
		Expect(dead.Run()).To(Succeed())
		deadPID := strconv.Itoa(dead.Process.Pid)

		labels := func(run, pid string) map[string]string {
			return map[string]string{harness.LabelManaged: "true", harness.LabelRun: run, harness.LabelPID: pid, harness.LabelHost: host}
		}
		suffix := fmt.Sprint(GinkgoRandomSeed(), "-", GinkgoParallelProcess())
		volumes := map[string]map[string]string{
			"etcdrill-test-dead-" + suffix:    labels("dead-run", deadPID),
			"etcdrill-test-live-" + suffix:    labels("live-run", strconv.Itoa(os.Getpid())),
			"etcdrill-test-foreign-" + suffix: {"some.other.tool": "true"},
		}
		for name, l := range volumes {
			_, err := dc.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: l})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func(ctx SpecContext) { dc.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}) })
		}
		nw, err := dc.NetworkCreate(ctx, "etcdrill-test-dead-"+suffix, client.NetworkCreateOptions{Labels: labels("dead-run", deadPID)})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { dc.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}) })

		// Assert the end state, not Reap's count: another etcdrill process
		// on this host may reap the dead run's objects first.
		_, err = harness.Reap(ctx, dc, opts.Logger)
		Expect(err).NotTo(HaveOccurred())

		exists := func(name string) bool {
			_, err := dc.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
			return err == nil
		}
		Expect(exists("etcdrill-test-dead-"+suffix)).To(BeFalse(), "dead run's volume reaped")
		Expect(exists("etcdrill-test-live-"+suffix)).To(BeTrue(), "a live run's volume is not touched")
		Expect(exists("etcdrill-test-foreign-"+suffix)).To(BeTrue(), "an unlabelled volume is not touched")
		_, err = dc.NetworkInspect(ctx, nw.ID, client.NetworkInspectOptions{})
		Expect(err).To(HaveOccurred(), "dead run's network reaped")
	})
})

// After every spec has torn down, nothing this process created remains.
var _ = AfterSuite(func(ctx SpecContext) {
	dc, err := harness.Docker(ctx)
	if err != nil {
		return // the suite was skipped for want of Docker
	}
	defer dc.Close()
	f := client.Filters{}.Add("label", harness.LabelPID+"="+strconv.Itoa(os.Getpid()))
	cs, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	Expect(err).NotTo(HaveOccurred())
	ns, err := dc.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	Expect(err).NotTo(HaveOccurred())
	vs, err := dc.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	Expect(err).NotTo(HaveOccurred())
	var left []string
	for _, c := range cs.Items {
		left = append(left, "container "+c.Names[0])
	}
	for _, n := range ns.Items {
		left = append(left, "network "+n.Name)
	}
	for _, v := range vs.Items {
		left = append(left, "volume "+v.Name)
	}
	Expect(left).To(BeEmpty(), "objects left behind by this run")
})
