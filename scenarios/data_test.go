package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/recovery"
	"github.com/etcdrill/etcdrill/scenarios"
	"github.com/etcdrill/etcdrill/workload"
)

// scaleTimeout bounds a drill on 1 GiB of data on 2 cores.
const scaleTimeout = 25 * time.Minute

// planted is s with a step before its checks that deletes the key pick
// names behind the drill's back, after the recovery: the checks must name
// it. *key is set to the key deleted.
func planted(s *drill.Scenario, key *string, pick func(d *drill.Drill) string) *drill.Scenario {
	p := *s
	p.Verify = append([]drill.Step{{Title: "plant: delete a key after the restore", Do: func(ctx context.Context, d *drill.Drill) error {
		*key = pick(d)
		cli, err := d.Cluster.Client()
		if err != nil {
			return err
		}
		defer cli.Close()
		resp, err := cli.Delete(ctx, *key)
		if err == nil && resp.Deleted != 1 {
			err = fmt.Errorf("%s was not there to delete", *key)
		}
		return err
	}}}, s.Verify...)
	return &p
}

// checkNamed returns the record's check called name.
func checkNamed(r *record.Record, name string) record.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	Fail("no check " + name + " in the record")
	return record.Check{}
}

// phaseNames lists the record's RTO phases by name.
func phaseNames(r *record.Record) []string {
	var out []string
	for _, p := range r.Metrics.Phases {
		out = append(out, p.Name)
	}
	return out
}

// operatorSnapshot builds the operator's snapshot from a real cluster: a
// one-member cluster gets keys many, then `etcdctl snapshot save`; the
// file is copied out of the run before the cluster goes.
func operatorSnapshot(ctx context.Context, keys int) (string, *workload.Dataset) {
	c, err := harness.New(ctx, harness.WithVersion(opts.Version), harness.WithImage(opts.Image), harness.WithName("operator"),
		harness.WithMembers(1), harness.WithLogger(opts.Logger))
	defer c.Close(context.WithoutCancel(ctx))
	Expect(err).NotTo(HaveOccurred(), "start the operator's cluster")
	cli, err := c.Client()
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	spec, err := workload.ParseDataSpec(fmt.Sprintf("uniform:%dx256B", keys))
	Expect(err).NotTo(HaveOccurred())
	ds := workload.NewDataset(spec)
	_, err = ds.Load(ctx, cli, workload.LoadOptions{})
	Expect(err).NotTo(HaveOccurred(), "load the operator's keys")
	snap, err := recovery.SaveSnapshot(ctx, &record.Log{Logger: opts.Logger}, c, c.Members()[0], "")
	Expect(err).NotTo(HaveOccurred(), "save the operator's snapshot")
	dst := filepath.Join(GinkgoT().TempDir(), "operator.db")
	data, err := os.ReadFile(snap.Path)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(dst, data, 0o600)).To(Succeed())
	return dst, ds
}

var _ = Describe("drills on production-shaped data", Label("data"), func() {
	quorumLoss, err := scenarios.Lookup("quorum-loss")
	if err != nil {
		panic(err)
	}

	It("quorum-loss on a Kubernetes-shaped profile names a key missing after the restore, and times every phase", func(ctx SpecContext) {
		o := opts
		o.Data = "k8s:16MiB"
		var key string
		res, err := drill.Run(ctx, planted(quorumLoss, &key, func(d *drill.Drill) string {
			// A key the traffic never touched, so only the plant removed it.
			ds := drill.State[drill.Data](d).Set
			touched := ds.Mutations()
			for i := range ds.Len() {
				if _, ok := touched[ds.Key(i)]; !ok {
					return ds.Key(i)
				}
			}
			return ds.Key(0)
		}), o)
		Expect(err).To(HaveOccurred(), "the planted loss must fail the drill")
		r := res.Record
		Expect(r.Verdict).To(Equal(record.Fail))
		ds := checkNamed(r, "dataset-integrity")
		Expect(ds.Verdict).To(Equal(record.Fail))
		Expect(strings.Join(ds.Details, "\n")).To(ContainSubstring(key))
		By("the report has the data load apart and the recovery time by phase")
		Expect(r.Metrics.Load).NotTo(BeNil())
		Expect(r.Metrics.Load.Bytes).To(BeNumerically(">", 8<<20))
		Expect(phaseNames(r)).To(ContainElements(record.PhaseTransfer, record.PhaseRestore, record.PhaseBoot, record.PhaseLeader, record.PhaseFirstWrite))
		Expect(r.Metrics.SnapshotBytes).To(BeNumerically(">", 8<<20))
		Expect(r.Metrics.RPORevisions).NotTo(BeNil())
	}, SpecTimeout(drillTimeout))

	It("quorum-loss --from-snapshot runs on the operator's keyspace and keeps every key of it", func(ctx SpecContext) {
		file, ds := operatorSnapshot(ctx, 5000)
		o := opts
		o.FromSnapshot = file
		res, err := drill.Run(ctx, quorumLoss, o)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Record.Verdict).To(Equal(record.Pass), res.Record.Reason)
		Expect(checkNamed(res.Record, "operator-keys").Summary).To(ContainSubstring("5000 of the snapshot's 5000 keys"))

		By("a key of the operator's missing after the restore is named")
		var key string
		res, err = drill.Run(ctx, planted(quorumLoss, &key, func(*drill.Drill) string { return ds.Key(42) }), o)
		Expect(err).To(HaveOccurred())
		ok := checkNamed(res.Record, "operator-keys")
		Expect(ok.Verdict).To(Equal(record.Fail))
		Expect(strings.Join(ok.Details, "\n")).To(ContainSubstring("missing: " + key))
	}, SpecTimeout(2*drillTimeout))
})

// The production-sized drills: 1 GiB of Kubernetes-shaped data through
// quorum-loss on every version. `make test-scale` runs them; CI does not.
var _ = Describe("drills at scale", Label("scale"), func() {
	quorumLoss, err := scenarios.Lookup("quorum-loss")
	if err != nil {
		panic(err)
	}
	for _, v := range versions {
		It("quorum-loss --data 1GiB on etcd "+v.String()+" verifies every acknowledged key", func(ctx SpecContext) {
			o := opts
			o.Version, o.Data = v.String(), "1GiB"
			res, err := drill.Run(ctx, quorumLoss, o)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Record.Verdict).To(Equal(record.Pass), res.Record.Reason)
			Expect(checkNamed(res.Record, "dataset-integrity").Verdict).To(Equal(record.Pass))
		}, SpecTimeout(scaleTimeout))
	}
})
