package scenarios_test

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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
var opts scenarios.Options

// versions is the matrix the catalogue runs on: ETCDRILL_VERSIONS
// (comma-separated), else ETCDRILL_VERSION, else the harness default.
var versions = strings.Split(envOr("ETCDRILL_VERSIONS", envOr("ETCDRILL_VERSION", harness.DefaultVersion)), ",")

// Named budgets for the suite's own waits; drill waits are in
// harness.Timeouts.
const (
	imageBuildTimeout = 25 * time.Minute
	drillTimeout      = 6 * time.Minute
)

var _ = BeforeSuite(func(ctx SpecContext) {
	if testing.Short() {
		Skip("scenario suites start containers; skipped with -short")
	}
	dc, err := harness.Docker(ctx)
	if errors.Is(err, harness.ErrNoDocker) {
		if os.Getenv("CI") == "true" {
			Fail("CI=true but no Docker engine: " + err.Error())
		}
		Skip("scenario suites need a Docker engine: " + err.Error())
	}
	Expect(err).NotTo(HaveOccurred())
	defer dc.Close()
	opts = scenarios.Options{
		Version: versions[0],
		OutDir:  os.Getenv("ETCDRILL_REPORT_DIR"),
		Logger:  slog.New(slog.NewTextHandler(GinkgoWriter, nil)),
	}
	for _, s := range versions {
		v, err := harness.ParseVersion(strings.TrimSpace(s))
		Expect(err).NotTo(HaveOccurred())
		By("building or reusing the etcd " + v.String() + " image")
		_, err = harness.EnsureImage(ctx, dc, v, opts.Logger)
		Expect(err).NotTo(HaveOccurred(), "etcd image %s", v)
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
		It(e.Name()+" on etcd "+e.Version+": "+s.Summary, Label(s.Labels...), func(ctx SpecContext) {
			if ok, why := s.Applies(e.Version); !ok {
				Skip("not applicable: " + why)
			}
			o := opts
			o.Version, o.Auth = strings.TrimSpace(e.Version), e.Auth
			d := scenarios.NewDrill(s, o)
			DeferCleanup(d.Close)
			var err error
			for _, st := range s.Steps {
				By(st.Title)
				if err = st.Do(ctx, d); err != nil {
					break
				}
			}
			rec := d.Finish(ctx, err)
			Expect(err).NotTo(HaveOccurred(), "drill %s", s.Name)
			Expect(rec.Verdict).To(Equal(record.Pass), rec.Reason)
		}, SpecTimeout(drillTimeout))
	}
})
