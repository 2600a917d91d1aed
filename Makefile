# certctl developer tasks. `make help` lists them.

GO      ?= go
BIN     ?= bin/certctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/certctl/certctl/pkg/fastpath.version=$(VERSION)

.PHONY: all build test generate check-generated bench vet help

all: build

build: ## Build bin/certctl (static, as released)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/certctl

test: ## Run every test
	$(GO) test ./...

vet: ## Run go vet
	$(GO) vet ./...

generate: ## Regenerate the man pages (docs/man) and shell completions (completions)
	$(GO) generate ./internal/gendocs

check-generated: ## Fail when docs/man or completions are stale
	$(GO) test -run 'TestGeneratedFilesUpToDate' ./internal/gendocs

bench: ## Run the benchmarks (bench/run.sh)
	bash bench/run.sh

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
