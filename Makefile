# Convoy — build, run and test the whole system.
#   make run    build everything and start the local stack (embedded NATS + FerretDB + the four services)
#   make test   every test: unit, integration (embedded servers), end to end, config checks
#   make bench  the end-to-end benchmark
#   make proto  regenerate the protobuf Go code (pinned tool versions)

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/.bin
SERVICES := api-gateway ingest-service dispatcher-service scheduler-service
MODULES := core proto api-gateway ingest-service dispatcher-service scheduler-service deploy cli sdk/go
PKGS := $(foreach m,$(MODULES),convoy/$(m)/...)

PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1

.PHONY: all build run test fuzz fmt-check vet compose-check rules-check proto proto-check bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(foreach s,$(SERVICES),convoy/$(s)/cmd/$(s)) convoy/deploy/cmd/devstack convoy/cli/cmd/convoy

run: build
	$(BIN)/devstack

test: fmt-check vet compose-check rules-check proto-check
	$(GO) test -count=1 -timeout 12m $(PKGS)
	$(MAKE) fuzz

# Each fuzz target runs briefly on top of its seed corpus (which `go test`
# above already ran); FUZZTIME=1m digs deeper.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCreateEventBody$$' -fuzztime $(FUZZTIME) convoy/api-gateway/internal/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzCreateEndpointBody$$' -fuzztime $(FUZZTIME) convoy/api-gateway/internal/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzValidateEvent$$' -fuzztime $(FUZZTIME) convoy/ingest-service/internal/grpcapi
	$(GO) test -run '^$$' -fuzz '^FuzzEndpointSettings$$' -fuzztime $(FUZZTIME) convoy/ingest-service/internal/grpcapi

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

compose-check:
	@command -v docker-compose >/dev/null || { echo "docker-compose missing: apt-get install docker-compose"; exit 1; }
	docker-compose -f docker-compose.yml config -q

# The alerting rules must load in Prometheus; deploy/e2e checks that the
# series they and the dashboard name are ones the services export.
rules-check:
	@command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus"; exit 1; }
	promtool check rules deploy/prometheus/alerts.yml

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

proto: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler"; exit 1; }
	cd proto && PATH=$(TOOLS):$$PATH protoc -I . \
		--go_out=. --go_opt=module=convoy/proto \
		--go-grpc_out=. --go-grpc_opt=module=convoy/proto \
		convoy/ingest/v1/ingest.proto convoy/queue/v1/task.proto

# Regenerating must leave the committed code unchanged.
proto-check: proto
	@git diff --exit-code --stat -- proto/ || { echo "generated protobuf code is stale: run make proto and commit"; exit 1; }

bench: build
	$(GO) run convoy/deploy/cmd/bench

clean:
	rm -rf $(BIN) $(TOOLS)
