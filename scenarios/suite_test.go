package scenarios_test

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/drill"
	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/record"
	"github.com/etcdrill/etcdrill/scenarios"
)

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "etcdrill scenarios")
}

// opts is what every drill in the suite runs with; ETCDRILL_REPORT_DIR
// keeps the drill reports.
var opts drill.Options

// versions is the matrix the catalogue runs on: ETCDRILL_VERSIONS
// (comma-separated), else ETCDRILL_VERSION, else the harness default.
var versions = parseVersions(envOr("ETCDRILL_VERSIONS", envOr("ETCDRILL_VERSION", harness.DefaultVersion)))

func parseVersions(list string) []harness.Version {
	var out []harness.Version
	for _, s := range strings.Split(list, ",") {
		out = append(out, harness.MustVersion(strings.TrimSpace(s)))
	}
	return out
}

// Named budgets for the suite's own waits; drill waits are in
// harness.Timeouts.
const (
	imageBuildTimeout = 25 * time.Minute
	drillTimeout      = 6 * time.Minute
)

// The images are built once, by the first Ginkgo process; under `ginkgo
// -p` the others wait for it, then each sets its own options. A suite
// that must skip (no Docker outside CI, -short) skips on every process.
var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	lg := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	skip, err := harness.SuiteReady(ctx, lg, testing.Short(), versions...)
	Expect(err).NotTo(HaveOccurred())
	if skip == "" && Label("failpoint").MatchesLabelFilter(GinkgoLabelFilter()) {
		// The crash-point drills run from an image variant with etcd's
		// failpoints enabled: built here, once, not in a spec's budget.
		skip, err = harness.SuiteFailpointsReady(ctx, lg, versions...)
		Expect(err).NotTo(HaveOccurred())
	}
	return []byte(skip)
}, func(ctx SpecContext, skip []byte) {
	opts = drill.Options{
		Version: versions[0].String(),
		OutDir:  os.Getenv("ETCDRILL_REPORT_DIR"),
		Logger:  slog.New(slog.NewTextHandler(GinkgoWriter, nil)),
		// A drill that fails keeps its members' logs and data dirs in its
		// report directory: what a flake in CI needs to be understood.
		KeepArtifacts: true,
	}
	if len(skip) > 0 {
		Skip(string(skip))
	}
}, NodeTimeout(imageBuildTimeout))

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var _ = Describe("drill catalogue", func() {
	for _, e := range scenarios.Matrix(scenarios.All(), versions, true) {
		s := e.Scenario
		It(e.Name()+" on etcd "+e.Version.String()+": "+s.Summary, Label(s.Labels...), func(ctx SpecContext) {
			if ok, why := s.Applies(e.Version); !ok {
				Skip("not applicable: " + why)
			}
			o := opts
			o.Version, o.Auth = e.Version.String(), e.Auth
			o.OnStep = func(_ string, _, _ int, title string) { By(title) }
			res, err := drill.Run(ctx, s, o)
			if why := res.Failure(err); why != "" {
				Fail("drill " + s.Name + " on etcd " + e.Version.String() + ": " + why)
			}
			Expect(res.Record.Verdict).To(Equal(record.Pass))
		}, SpecTimeout(drillTimeout))
	}
})
