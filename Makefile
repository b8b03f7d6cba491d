# Memberline's vocabulary. `make help` lists the targets.
GO          ?= go
BIN         := bin/memberline
STACK       := deploy/dev/stack.sh
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Development settings for `make run` and `make call`; set any of them in the environment
# to override. DATABASE_URL and REDIS_URL, when both set, replace the local stack.
export LISTEN_ADDR       ?= 127.0.0.1:8080
export PUBLIC_URL        ?= http://$(LISTEN_ADDR)
export TWILIO_AUTH_TOKEN ?= devtwilioauthtoken0123
export ADMIN_TOKEN       ?= dev-admin-token-change-me
export LOG_FORMAT        ?= text

# `make bench`: the data set's size (generated and imported once, then reused), the
# measured time per scenario, and how many rounds of every scenario (the median is reported).
BENCH_MEMBERS  ?= 1000000
BENCH_DURATION ?= 5s
BENCH_ROUNDS   ?= 3

# `make cldr`: the CLDR release spoken dates come from, and its package's digest as the
# npm registry publishes it (npm view cldr-dates-full@VERSION dist.integrity).
CLDR_VERSION   := 48.2.0
CLDR_INTEGRITY := sha512-zMrKvjMO414HDftLr6vKH1fNQHakFNe+F1h4S0eg+zmL4WRi9pI41fxB3UrTJDY42MEM87jCuAw/qlqCgYKcAQ==

.DEFAULT_GOAL := help
.PHONY: help run test test-browser bench build lint call fuzz fuzz-ci stack-down cldr

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## start PostgreSQL and Redis under .dev/, migrate, seed demo members, serve on LISTEN_ADDR
	@$(STACK) with memberline $(BIN) serve --seed

test: ## run every test against a real PostgreSQL and Redis (the same local stack, its own database)
	@$(STACK) with memberline_test $(GO) test -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory test-browser

test-browser: ## browser tests of the admin console (headless Chromium; screenshots in artifacts/console/)
	@$(STACK) with memberline_test console/e2e/run.sh

bench: ## Go benchmarks of the hot functions, then the webhook under load on BENCH_MEMBERS members (see BENCHMARKS.md)
	@$(STACK) with memberline_test $(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) build -o bin/memberline-bench ./cmd/memberline-bench
	$(GO) build -o $(BIN) ./cmd/memberline
	@$(STACK) with memberline_bench bin/memberline-bench -members $(BENCH_MEMBERS) -duration $(BENCH_DURATION) -rounds $(BENCH_ROUNDS) \
	  -out bench-results.txt -profiles bench-profiles -serve $(BIN)
	@echo "results in bench-results.txt; CPU profiles per scenario: go tool pprof -top bin/memberline-bench bench-profiles/known-local.prof"

build: ## build bin/memberline
	$(GO) build -o $(BIN) ./cmd/memberline

lint: ## gofmt, go vet and staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

cldr: ## regenerate flows/dates_cldr.go (spoken dates) from the pinned CLDR release's JSON
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent cldr-dates-full@$(CLDR_VERSION) >/dev/null) && \
	  $(GO) run ./flows/internal/cldrgen -tgz "$$tmp/cldr-dates-full-$(CLDR_VERSION).tgz" -integrity '$(CLDR_INTEGRITY)' -o flows/dates_cldr.go && \
	  echo "flows/dates_cldr.go written from CLDR $(CLDR_VERSION)"

call: build ## place a simulated call against `make run`: make call FROM=+14045550123
	@$(BIN) call $(FROM)

fuzz: ## run each fuzz target for FUZZTIME (default 20s; FUZZTIME_SLOW for FuzzLoad, which runs whole flows)
	@$(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ {names = names " " $$1} /^ok/ {n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2, a[i]; names = ""}' | \
	  while read -r pkg name; do \
	    budget=$${FUZZTIME:-20s}; \
	    case $$name in FuzzLoad) budget=$${FUZZTIME_SLOW:-$$budget} ;; esac; \
	    echo "fuzz $$pkg $$name ($$budget)"; \
	    $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget -fuzzminimizetime $${FUZZMINIMIZE:-60s} $$pkg && continue; \
	    dir=$$($(GO) list -f '{{.Dir}}' $$pkg)/testdata/fuzz/$$name; \
	    for f in $$(git ls-files --others --exclude-standard -- $$dir 2>/dev/null); do \
	      echo "failing input $$f (commit it: go test replays it):"; head -c 8192 $$f; echo; \
	    done; \
	    exit 1; \
	  done

# CI budgets are counts of executions, not durations: with a duration, go1.26's fuzz
# coordinator can fail a target with "context deadline exceeded" and no crasher when the
# deadline races a worker (golang/go#75804). A count has no deadline to race. Minimizing
# an input that found new coverage is bounded by a count too (Go's default is up to 60 s
# per input, which made a run's length depend on what it happened to find).
fuzz-ci: ## every fuzz target for a fixed number of executions (about 3 minutes with the builds); .ci/run calls it
	@FUZZTIME=$${FUZZTIME:-40000x} FUZZTIME_SLOW=$${FUZZTIME_SLOW:-10000x} FUZZMINIMIZE=$${FUZZMINIMIZE:-1000x} $(MAKE) --no-print-directory fuzz

stack-down: ## stop the local PostgreSQL and Redis
	@$(STACK) down
