package snapverify_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcdrill/etcdrill/harness"
)

func TestSnapverify(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "etcdrill snapshot verify")
}

var (
	// version is the etcd version the suite verifies on: ETCDRILL_VERSION,
	// else the harness default.
	version = envOr("ETCDRILL_VERSION", harness.DefaultVersion)
	// outDir keeps the reports when ETCDRILL_REPORT_DIR is set.
	outDir = os.Getenv("ETCDRILL_REPORT_DIR")
	logger = slog.New(slog.NewTextHandler(GinkgoWriter, nil))
)

// imageBuildTimeout bounds building the images a suite needs: compiling
// etcd from the module proxy takes minutes per version.
const imageBuildTimeout = 25 * time.Minute

var _ = BeforeSuite(func(ctx SpecContext) {
	// Built here, so no spec's budget pays for a build.
	ready(ctx, harness.MustVersion(version))
}, NodeTimeout(imageBuildTimeout))

// ready skips or fails the current node as harness.SuiteReady says:
// never a silent skip in CI.
func ready(ctx context.Context, versions ...harness.Version) {
	skip, err := harness.SuiteReady(ctx, logger, testing.Short(), versions...)
	if skip != "" {
		Skip(skip)
	}
	Expect(err).NotTo(HaveOccurred())
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
