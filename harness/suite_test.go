package harness

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSuiteGateNeverSkipsInCI: what a suite lacks (an engine, an image)
// is a skip with one line outside CI, and a failure in CI.
func TestSuiteGateNeverSkipsInCI(t *testing.T) {
	if skip, err := SuiteReady(context.Background(), nil, true); skip == "" || err != nil {
		t.Fatalf("short: skip %q, err %v; want a skip", skip, err)
	}
	lack := ErrNoDocker
	skip, err := suiteGate(false, "scenario suites need a Docker engine", lack)
	if err != nil || !strings.Contains(skip, "need a Docker engine") || strings.Contains(skip, "\n") {
		t.Fatalf("outside CI: skip %q, err %v; want a one-line skip", skip, err)
	}
	skip, err = suiteGate(true, "scenario suites need a Docker engine", lack)
	if skip != "" || !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "CI=true") {
		t.Fatalf("in CI: skip %q, err %v; want a failure", skip, err)
	}
}
