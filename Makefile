# etcdrill: two commands for a new user.
#   make drill   run the default drills on the default etcd version; reports in reports/runs/
#   make test    unit tests and the containerized scenario suite
# Needs Go and a running Docker engine; etcd images are built from the Go
# module proxy on first use and cached.

GO            ?= go
ETCD_VERSION  ?= 3.6.16
ETCD_VERSIONS ?= 3.5.35,3.6.16,3.7.3
DRILLS        ?=
REPORTS       ?= reports/runs
TEST_TIMEOUT  ?= 75m

# Ryuk (testcontainers' reaper) needs a registry image; etcdrill reaps its own.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: all build drill test test-serial unit bench bench-scale bench-drills test-scale images lint clean browser cpu-budget

all: build

build:
	$(GO) build -o bin/etcdrill ./cmd/etcdrill

drill: build
	./bin/etcdrill run --version $(ETCD_VERSION) --out $(REPORTS) $(DRILLS)

# The packages whose Ginkgo suites start containers.
SUITES        := ./scenarios ./snapverify ./upgradecheck
# The packages with plain Go tests that start containers (skipped under
# -short): a cluster start, the remote-engine path, the backup copy, key
# verification on a live cluster.
ENGINE_TESTS  := ./harness ./verify

# Unit tests first (fast, no Docker: the suites skip under -short), then
# the plain Go tests that need Docker, then the containerized suites,
# one package after another, each in PROCS
# parallel Ginkgo processes (ginkgo -p, the CLI of the ginkgo module this
# one already requires): the first process builds the images, the others
# wait for it; every process checks that it left nothing in Docker.
GINKGO        ?= $(GO) run github.com/onsi/ginkgo/v2/ginkgo
PROCS         ?= 2
SUITE_RUN      = env ETCDRILL_VERSIONS=$(ETCD_VERSIONS) ETCDRILL_REPORT_DIR=$(CURDIR)/$(REPORTS) \
  $(GINKGO) -p --procs=$(PROCS) --keep-going --no-color --succinct --label-filter='!scale' --timeout=$(TEST_TIMEOUT) $(SUITES)
test: browser
	$(GO) test -short -count=1 ./...
	$(GO) test -count=1 $(ENGINE_TESTS)
	$(SUITE_RUN)

# The containerized suites of `make test` (the whole matrix) under
# scripts/cpubudget: their wall time, and the CPU the whole machine spent
# meanwhile, by process, which sets the floor under the wall time on this
# many cores. With ACCT=FILE, a process accounting file you turned on
# (as root, Debian's acct: `accton FILE`; `accton off` after), it also
# lists every process that exited meanwhile, by parent and command.
ACCT          ?=
cpu-budget:
	$(GO) run ./scripts/cpubudget $(if $(ACCT),-acct $(ACCT)) -- $(SUITE_RUN)

# The same suites in one process, verbosely: every drill's steps in order
# in the log, for reading a failure.
test-serial: browser
	$(GO) test -short -count=1 ./...
	$(GO) test -count=1 -v $(ENGINE_TESTS)
	ETCDRILL_VERSIONS=$(ETCD_VERSIONS) ETCDRILL_REPORT_DIR=$(CURDIR)/$(REPORTS) \
	  $(GO) test -count=1 -p 1 -v -timeout $(TEST_TIMEOUT) $(SUITES) -args -ginkgo.no-color -ginkgo.succinct -ginkgo.label-filter='!scale'

# etcdrill against the same steps scripted by hand with docker, etcdctl
# and etcdutl (scripts/bare-*.sh), alternating; prints medians and ratios.
BENCH_ROUNDS  ?= 5
bench-drills: build
	scripts/bench-drills.sh $(BENCH_ROUNDS) $(ETCD_VERSION)

# The production-sized drills (Ginkgo label "scale"): quorum-loss on 1 GiB
# of Kubernetes-shaped data on every version. Not part of `make test`.
test-scale: browser
	ETCDRILL_VERSIONS=$(ETCD_VERSIONS) ETCDRILL_REPORT_DIR=$(CURDIR)/$(REPORTS) \
	  $(GO) test -count=1 -p 1 -v -timeout 120m ./scenarios -args -ginkgo.no-color -ginkgo.succinct -ginkgo.label-filter=scale

unit:
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -short -run '^$$' -bench . -benchmem ./...

# The scale figures of the README: the scaling curve (quorum-loss at each
# size, with the bare etcdutl restore of the same file beside it and
# snapshot verify of the largest in a child process), then the key
# verification benchmark on a million keys against a bare paginated read.
# Needs Docker and about 20 GiB of free disk; takes about half an hour.
SCALE_SIZES   ?= 64MiB,512MiB,2GiB
BENCH_KEYS    ?= 1000000
bench-scale: build
	./bin/etcdrill scale --version $(ETCD_VERSION) --sizes $(SCALE_SIZES) --verify-largest --out reports/scale
	ETCDRILL_BENCH_SCALE=1 ETCDRILL_BENCH_KEYS=$(BENCH_KEYS) \
	  $(GO) test -run '^$$' -bench Scan -benchtime 1x -timeout 60m ./verify

images: build
	./bin/etcdrill images --failpoints --version $(ETCD_VERSIONS)

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin

# The HTML report test opens reports in Debian's chromium; install it when
# missing (needs root and apt). Where that is impossible the test skips
# outside CI and fails in CI, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) || \
	  echo "etcdrill: could not install chromium; the browser test will skip (and fail in CI)"
