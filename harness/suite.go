package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/moby/moby/client"
)

// SuiteReady is what every container test suite checks first: the Docker
// engine, then the images of versions, built when missing. It returns why
// the suite should skip (under `go test -short`, or outside CI without an
// engine or an image), or why it must fail: with CI=true a missing engine
// or an image that cannot be built is a failure, never a silent skip.
func SuiteReady(ctx context.Context, lg *slog.Logger, short bool, versions ...Version) (skip string, err error) {
	if short {
		return "scenario suites start containers; skipped with -short", nil
	}
	return suiteImages(ctx, versions, func(dc client.APIClient, v Version) (string, error) {
		_, err := EnsureImage(ctx, dc, v, lg)
		return fmt.Sprintf("cannot build the etcd %s image (etcdrill images --version %s)", v, v), err
	})
}

// SuiteFailpointsReady builds the failpoints image variant of each
// version (see EnsureFailpointsImage) ahead of the specs that need it, so
// that no spec's time budget pays for a build. Like SuiteReady it fails
// in CI and says why outside it.
func SuiteFailpointsReady(ctx context.Context, lg *slog.Logger, versions ...Version) (skip string, err error) {
	return suiteImages(ctx, versions, func(dc client.APIClient, v Version) (string, error) {
		_, err := EnsureFailpointsImage(ctx, dc, v, lg)
		return fmt.Sprintf("cannot build the etcd %s failpoints image", v), err
	})
}

// suiteImages runs ensure for each version against the engine; what fails
// is a skip outside CI and an error in CI (see suiteGate).
func suiteImages(ctx context.Context, versions []Version, ensure func(dc client.APIClient, v Version) (what string, err error)) (string, error) {
	ci := os.Getenv("CI") == "true"
	dc, err := Docker(ctx)
	if err != nil {
		return suiteGate(ci, "scenario suites need a Docker engine", err)
	}
	defer dc.Close()
	for _, v := range versions {
		if what, err := ensure(dc, v); err != nil {
			return suiteGate(ci, what, err)
		}
	}
	return "", nil
}

// suiteGate turns what a suite lacks into a skip outside CI and a failure
// in CI.
func suiteGate(ci bool, what string, err error) (skip string, fail error) {
	if ci {
		return "", fmt.Errorf("CI=true: %s: %w", what, err)
	}
	return what + ": " + err.Error(), nil
}
