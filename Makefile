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

.PHONY: all build drill test unit bench images lint clean browser

all: build

build:
	$(GO) build -o bin/etcdrill ./cmd/etcdrill

drill: build
	./bin/etcdrill run --version $(ETCD_VERSION) --out $(REPORTS) $(DRILLS)

test:
	ETCDRILL_VERSIONS=$(ETCD_VERSIONS) ETCDRILL_REPORT_DIR=$(CURDIR)/$(REPORTS) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

unit:
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -short -run '^$$' -bench . -benchmem ./...

images: build
	./bin/etcdrill images --version 3.5.35,3.6.16,3.7.3

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin

browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium)
