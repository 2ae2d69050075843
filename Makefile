# fashionclip build. `make` fetches what is missing and builds bin/fashionclip.
ORT_VERSION ?= 1.24.3
ORT_DIR     := third_party/onnxruntime/$(ORT_VERSION)
ORT_LIB     := $(ORT_DIR)/libonnxruntime.so.1
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS     := -X github.com/fashionclip/fashionclip/internal/buildinfo.Version=$(VERSION) \
               -X github.com/fashionclip/fashionclip/internal/buildinfo.Commit=$(COMMIT) \
               -X github.com/fashionclip/fashionclip/internal/buildinfo.ORTVersion=$(ORT_VERSION)

# Tests find the library through this variable; the built binary finds its own copy beside itself.
export FASHIONCLIP_ORT_LIB := $(abspath $(ORT_LIB))

DEMO_LABELS ?= sneaker,boot,dress,t-shirt,jeans,bag

.PHONY: all build ort deps lint deadcode test test-short bench synth vet fmt-check completions clean demo bench-classify completions-check man goreleaser release-check release-snapshot

all: build

build: bin/fashionclip

bin/fashionclip: ort deps FORCE
	@mkdir -p bin
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/fashionclip ./cmd/fashionclip
	@cp -f $(ORT_LIB) bin/libonnxruntime.so.1

FORCE:

ort: $(ORT_LIB)

$(ORT_LIB):
	scripts/fetch-ort.sh $(ORT_VERSION) $(ORT_DIR)

# libjpeg-turbo headers for the cgo JPEG decoder.
deps:
	@scripts/check-deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Packages that must build without cgo: the HTTP layer, the Hub client, the
# index and the pure-Go leaves (a server or a tool may embed them alone).
NOCGO_PKGS := ./internal/server ./internal/hub/... ./internal/index/... ./internal/vecmath \
              ./internal/modelfiles ./internal/ortlib ./internal/graphcache ./internal/query ./internal/doctor

# staticcheck and the cgo-free builds; staticcheck is pinned in go.mod's tool block.
lint:
	CGO_ENABLED=0 $(GO) build $(NOCGO_PKGS)
	$(GO) tool staticcheck ./...

# Unused functions (informational: the public library's API is used by others).
deadcode:
	$(GO) tool deadcode -test ./...

# The test command named in README.md and run by CI.
test: ort deps fmt-check vet lint
	@test -d ../shared/reference || echo "NOTE: ../shared/reference not found: the parity tests against the reference kit are skipped"
	$(GO) test -race -count=1 ./...

test-short: ort deps
	$(GO) test -short -count=1 ./...

bench: ort deps
	$(GO) test -run '^$$' -bench . -benchtime 20x ./...

# Synthetic models: tiny (tests) and full ViT-B/32 shape (benchmarks, ~605 MB).
synth: build
	bin/fashionclip synth --size tiny --layout both --out testdata/models/tiny
	bin/fashionclip synth --size vit-b-32 --layout both --out testdata/models/vit-b-32

# The README's first command: classify the sample images with the default model
# from the Hub. Where the Hub cannot be reached, say so loudly and show the run on
# the synthetic tiny model instead, whose labels mean nothing.
demo: build
	@if bin/fashionclip classify testdata/images --labels "$(DEMO_LABELS)"; then :; else \
	  echo; \
	  echo "################################################################################"; \
	  echo "# The default model could not be fetched (see the error above)."; \
	  echo "# Showing the same command on a SYNTHETIC tiny model with random weights:"; \
	  echo "# its labels and scores MEAN NOTHING. Fix the error above for real results."; \
	  echo "################################################################################"; \
	  bin/fashionclip synth --size tiny --layout combined --out testdata/models/tiny >/dev/null 2>&1 && \
	  bin/fashionclip classify testdata/images --labels "$(DEMO_LABELS)" --model testdata/models/tiny; \
	fi

# Issue 3's speed check: classify's pipeline over 200 1200×1600 JPEGs on the
# synthetic ViT-B/32, exact and --fast-decode, against model-only throughput
# measured in the same run with the same threads.
VITB32 := testdata/models/vit-b-32-combined
bench-classify: build
	@test -f $(VITB32)/model.onnx || bin/fashionclip synth --size vit-b-32 --layout combined --out $(VITB32)
	bin/fashionclip bench speed --model $(VITB32) --synthetic 200 --quiet
	bin/fashionclip bench speed --model $(VITB32) --synthetic 200 --fast-decode --quiet

clean:
	rm -rf bin dist

# Shell completion scripts, committed in completions/; CI checks they are current.
completions: deps
	scripts/gen-completions.sh completions

completions-check: deps
	scripts/gen-completions.sh --check completions

# Man pages (release archives carry them; goreleaser runs this itself).
MAN_DIR ?= .cache/release/man
man: deps
	$(GO) run ./scripts/genman -version $(VERSION) $(MAN_DIR)

# Release tooling. goreleaser is built from the Go module proxy into
# bin/tools (a few minutes on two cores, once); newer releases need a newer Go.
GORELEASER_VERSION ?= v2.15.1
GORELEASER         := bin/tools/goreleaser
# Targets for release-snapshot: this machine's, unless TARGETS says otherwise
# (comma-separated os_arch; see .goreleaser.yaml and docs/install.md).
TARGETS            ?= $(shell $(GO) env GOOS)_$(shell $(GO) env GOARCH)

goreleaser: $(GORELEASER)

$(GORELEASER):
	GOBIN=$(abspath bin/tools) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

release-check: $(GORELEASER)
	$(GORELEASER) check

# Snapshot archives for TARGETS in dist/, nothing published.
release-snapshot: $(GORELEASER) deps
	FASHIONCLIP_TARGETS=$(TARGETS) ORT_VERSION=$(ORT_VERSION) $(GORELEASER) release --snapshot --clean --skip=publish
