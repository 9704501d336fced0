# contextworker — `make help` lists the targets.

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
DATA         := $(CURDIR)/.data
# The temporal CLI provides the dev server. v1.5.1 is the newest tag that
# `go install` accepts (later tags carry a replace directive).
TEMPORAL_VERSION := v1.5.1
TEMPORAL     := $(BIN)/temporal
TEMPORAL_PORT ?= 7233
TEMPORAL_UI_PORT ?= 8233
SEARCH_ATTRS := --search-attribute TenantId=Keyword --search-attribute SupplierCode=Keyword --search-attribute Module=Keyword --search-attribute Source=Keyword
GOTEST_FLAGS ?=
# Integration tests share two cores with the dev server and PostgreSQL.
TEST_TIMEOUT ?= 40m

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_/.-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(TEMPORAL): ## build the pinned temporal CLI (dev server) into ./bin
	@mkdir -p $(BIN)
	@echo "building temporal CLI $(TEMPORAL_VERSION) into $(BIN) (first time only, takes minutes)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

.PHONY: build
build: ## build worker, starter and dev tools into ./bin
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: tools
tools: $(TEMPORAL) ## build the pinned tools

.PHONY: test
test: $(TEMPORAL) ## run unit and integration tests (real dev server and PostgreSQL)
	$(GO) vet ./...
	@# Full -v output goes to .test.log; the console shows each top-level
	@# test's result (integration tests say which servers they used).
	$(GO) test -v $(GOTEST_FLAGS) -timeout $(TEST_TIMEOUT) -count=1 ./... 2>&1 | tee .test.log \
		| grep -E '^(ok|FAIL|--- |panic:|\?|testenv:)|^\s+[a-z_]+_test\.go:[0-9]+: integration' ; exit $${PIPESTATUS[0]}

.PHONY: test-short
test-short: ## run unit tests only (integration tests skip and say so)
	$(GO) test -short -count=1 ./...

.PHONY: bench
bench: $(TEMPORAL) build ## run the end-to-end benchmarks and print their figures
	$(BIN)/bench -stock -runs 5 -incremental-runs 3
	@echo "=== workflow starts per second: via the starter vs direct SDK (same machine, same run) ==="
	$(GO) test -run '^$$' -bench 'BenchmarkStart(ViaStarter|Direct)$$' -benchtime 2000x ./starter/ | grep -E 'Benchmark|ok'
	@echo "=== ingest-batch: 10,000 generated documents of about 2 KB (worker in the benchmark's process, real dev server and PostgreSQL) ==="
	$(GO) test -run '^$$' -bench 'BenchmarkIngestBatch$$' -benchtime 1x ./modules/ingest/ | grep -E 'Benchmark|documents in|ok'

# protoc-gen-go follows google.golang.org/protobuf in go.mod.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_FILES := proto/contextcore/context_unit.proto proto/contextworker/worker.proto

$(BIN)/protoc-gen-go:
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(BIN)/protoc-gen-go-grpc:
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

.PHONY: proto
proto: $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc ## regenerate the gRPC front's Go code from proto/ (needs protoc: apt-get install protobuf-compiler)
	PATH=$(BIN):$$PATH protoc -I proto --go_out=. --go_opt=module=contextworker \
		--go-grpc_out=. --go-grpc_opt=module=contextworker $(PROTO_FILES)

.PHONY: dev-server
dev-server: $(TEMPORAL) ## run only the Temporal dev server (UI :8233, state in .data/temporal.db)
	@mkdir -p $(DATA)
	$(TEMPORAL) server start-dev --ip 127.0.0.1 --port $(TEMPORAL_PORT) --ui-port $(TEMPORAL_UI_PORT) \
		--db-filename $(DATA)/temporal.db --log-level warn $(SEARCH_ATTRS)

.PHONY: run
run: $(TEMPORAL) build ## run the whole stack on defaults with a demo harvest (Ctrl-C stops it)
	$(BIN)/devstack

.PHONY: fmt
fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## gofmt check and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

.PHONY: clean
clean: ## remove built binaries and local state (.data)
	-[ -f $(DATA)/pg/postmaster.pid ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $(DATA)/pg stop -m fast || true
	rm -rf $(DATA) $(BIN)/worker $(BIN)/starter $(BIN)/devstack $(BIN)/feedgen $(BIN)/bench
