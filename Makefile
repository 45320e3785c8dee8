# gatehouse — `make help` lists the targets.
# Every target runs on the Node 24 that package.json pins (devDependency `node`), never on the
# machine's own node: node_modules/.bin comes first on PATH.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

CONFIG ?= examples/gatehouse.yaml

.DEFAULT_GOAL := help

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: node_modules/.package-lock.json ## Install npm dependencies (Node 24 comes with them)

.PHONY: run
run: install ## Run gatehouse on its embedded defaults (examples/, memory sessions, dev identity provider)
	GATEHOUSE_SERVER__SHUTDOWN_DELAY=$${GATEHOUSE_SERVER__SHUTDOWN_DELAY:-0} node dev/run-local.ts --config $(CONFIG)

.PHONY: serve
serve: install ## Run the production entry point (`gatehouse serve`) with CONFIG=file
	node src/cli/gatehouse.ts serve --config $(CONFIG)

.PHONY: test
test: install prerequisites ## Run the whole test suite (needs Redis at 127.0.0.1:6379; installs what else it needs)
	vitest run

.PHONY: prerequisites
prerequisites: ## Check and install the services and tools the tests need (Redis, ...)
	bash scripts/prerequisites.sh

.PHONY: lint
lint: install actionlint ## Type-check, lint and check formatting (and the GitHub Actions workflows)
	tsc -p tsconfig.json --noEmit
	eslint .
	prettier --check .

.PHONY: actionlint
actionlint: ## Lint .github/workflows/ with actionlint (built once from its Go module into the tools cache)
	actionlint=$$(bash scripts/actionlint/ensure-actionlint.sh) && "$$actionlint"

.PHONY: format
format: install ## Format every file with Prettier
	prettier --write .

.PHONY: build
build: install ## Compile TypeScript to dist/
	rm -rf dist
	tsc -p tsconfig.build.json

.PHONY: image-check
image-check: install ## Replay the Dockerfile without Docker and check the result (prod deps only, read-only, SIGTERM)
	bash scripts/image/build-without-docker.sh

.PHONY: chart-package
chart-package: install ## Lint and package the Helm chart for an OCI registry (CHART_OUT=dir, default .tools/chart)
	bash scripts/helm/package.sh $(or $(CHART_OUT),.tools/chart)

.PHONY: docs
docs: install ## Regenerate the reference documents generated from the source (docs/configuration.md)
	node scripts/generate-docs.ts

.PHONY: clean
clean: ## Remove build output and caches (keeps built Kubernetes tools in .tools/)
	rm -rf dist coverage test-results

# --- benchmarks (docs/benchmarks.md) ----------------------------------------------------------
# Servers run pinned to CPU 0 and the load generators to CPU 1; run on an otherwise quiet machine.
# BENCH_ARGS passes options through, e.g. `make bench BENCH_ARGS="--scenarios c,d,h --runs 3"`.
BENCH_ARGS ?=

.PHONY: bench
bench: install prerequisites ## Run the benchmark suite (wrk and oauth2-proxy are installed/built first; ~20 min)
	bash scripts/bench/ensure-tools.sh
	node bench/run.ts $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: install prerequisites ## CI regression guard: (a′), (b), (c), 2 short runs; fails only on gross regressions
	bash scripts/bench/ensure-tools.sh wrk
	node bench/run.ts --quick $(BENCH_ARGS)

# SOAK_ARGS passes options to the mixed soak, e.g. `make soak SOAK_ARGS="--minutes 2 --users 8"`.
SOAK_ARGS ?=

.PHONY: soak
soak: install prerequisites ## 10-minute mixed soak through nginx (logins, checks, logouts, policy edits): zero wrong decisions and 5xx, flat RSS
	node bench/mixed-soak.ts $(SOAK_ARGS)

.PHONY: soak-load
soak-load: install prerequisites ## 10-minute soak of (c) at half load: zero errors, RSS growth under 10% after warm-up
	bash scripts/bench/ensure-tools.sh wrk
	bash scripts/bench/ensure-tools.sh openloop
	node bench/soak.ts $(BENCH_ARGS)

# --- fault tests (test/faults/) ---------------------------------------------------------------
# Private redis-server, redis-sentinel and Redis Cluster processes on random loopback ports; the
# shared Redis at 127.0.0.1:6379 is never touched. `make test` runs the short variants too.
.PHONY: faults
faults: install prerequisites ## Fault suites: Redis outage, Sentinel and Cluster failover, SIGTERM, crashes (~1 min)
	vitest run test/faults

.PHONY: faults-long
faults-long: install prerequisites ## Fault suites with more and longer outages and failovers (~4 min)
	FAULTS_LONG=1 vitest run test/faults

# --- demo (README "Click through it") -----------------------------------------------------------
DEMO_PORT ?= 8088

.PHONY: demo
demo: install ## The whole picture: dev identity provider, gatehouse, nginx and a demo app at http://app.localhost:8088 (DEMO_PORT=…)
	node dev/demo/run-demo.ts --config $(CONFIG) --port $(DEMO_PORT)

# --- property and fuzz tests (docs/security.md) ------------------------------------------------
# `make test` runs every property with FAST_CHECK_RUNS=2000 (the default); this target runs the
# nightly-sized budget. Override with e.g. `make fuzz FAST_CHECK_RUNS=1000000`.
FAST_CHECK_RUNS ?= 200000
# Raw requests per proxy for the differential test through nginx, Caddy and Traefik.
DIFFERENTIAL_RUNS ?= 100000

.PHONY: fuzz
fuzz: install prerequisites ## Property/fuzz tests (FAST_CHECK_RUNS per property) and the differential proxy test (DIFFERENTIAL_RUNS per proxy)
	FAST_CHECK_RUNS=$(FAST_CHECK_RUNS) vitest run test/property
	DIFFERENTIAL_RUNS=$(DIFFERENTIAL_RUNS) vitest run test/differential
