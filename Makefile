# Berth build, lint and test entry points. `make test` is what CI runs
# (.ci/run); it installs the tools it needs into .tools/bin first.

GO ?= go
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)

# Extra flags for the end-to-end run, e.g. E2E_FLAGS='-run TestCrane -v'.
E2E_FLAGS ?=
E2E_TIMEOUT ?= 15m

.PHONY: all build run test unit e2e e2e-s3 conformance conformance-auth bench lint check-imports tools clean

all: build

build:
	$(GO) build -o bin/registry ./cmd/registry
	@if [ -d cmd/ctl ]; then echo "$(GO) build -o bin/ctl ./cmd/ctl"; $(GO) build -o bin/ctl ./cmd/ctl; fi

run: build
	bin/registry serve

# Everything CI checks, cheapest first.
test: lint check-imports unit conformance conformance-auth e2e e2e-s3

unit:
	$(GO) test ./...

# The end-to-end suite (test/e2e, build tag e2e) builds bin/registry itself
# and starts the registry, the Distribution registry and a private dockerd
# (scripts/dockerd.sh) as it needs them. E2E_REGISTRY=distribution runs it
# against Distribution instead of Berth.
e2e: tools
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) ./test/e2e/...

# The same suite with the registry on S3 (a versitygw on loopback per test,
# from .tools/bin) instead of the filesystem.
e2e-s3: tools
	E2E_STORAGE=s3 $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) $(E2E_FLAGS) ./test/e2e/...

# The OCI distribution-spec conformance suite against bin/registry
# (scripts/conformance.sh builds both; CONFORMANCE_REGISTRY=distribution
# runs it against Distribution).
conformance:
	scripts/conformance.sh

# The same suite with token auth on: bin/registry issues its own tokens to
# an admin user, and the suite logs in with OCI_USERNAME/OCI_PASSWORD.
conformance-auth:
	CONFORMANCE_AUTH=1 scripts/conformance.sh

bench:
	$(GO) run ./bench

lint: tools
	@echo "gofmt -l ."; out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags e2e ./...
	$(TOOLS)/staticcheck -tags e2e ./...

# DESIGN.md's import rules, checked with `go list -deps`.
check-imports:
	$(GO) test -count=1 ./internal/importcheck/

tools:
	scripts/install-tools.sh

clean:
	rm -rf bin
