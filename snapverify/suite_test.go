package snapverify_test

import (
	"context"
	"errors"
	"fmt"
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
	dc.Close()
	ensureImages(ctx, version)
}, NodeTimeout(imageBuildTimeout))

// ensureImages builds the images of versions that are missing, so a spec
// never skips for want of one. Where one cannot be built (no module
// proxy, say) it fails under CI=true and skips elsewhere, saying why.
func ensureImages(ctx context.Context, versions ...string) {
	dc, err := harness.Docker(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer dc.Close()
	for _, v := range versions {
		By("building or reusing the etcd " + v + " image")
		if _, err := harness.EnsureImage(ctx, dc, harness.MustVersion(v), logger); err != nil {
			why := fmt.Sprintf("cannot build the etcd %s image (etcdrill images --version %s): %v", v, v, err)
			if os.Getenv("CI") == "true" {
				Fail("CI=true: " + why)
			}
			Skip(why)
		}
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
