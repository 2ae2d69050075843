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

.PHONY: all build install screenshots ort deps lint deadcode test test-short bench synth vet fmt-check completions clean demo bench-classify completions-check man goreleaser release-check release-snapshot fuzz fuzz-smoke asan

all: build

build: bin/fashionclip

bin/fashionclip: ort deps FORCE
	@mkdir -p bin
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/fashionclip ./cmd/fashionclip
	@cp -f $(ORT_LIB) bin/libonnxruntime.so.1
	@echo "built bin/fashionclip (ONNX Runtime beside it); run it as bin/fashionclip, or 'make install' (PREFIX=$(PREFIX)) to put it on your PATH"

# Install the binary with ONNX Runtime beside it, where it finds the library
# with no variable set. No network: what `make build` made is copied.
PREFIX  ?= /usr/local
DESTDIR ?=
install:
	@test -x bin/fashionclip || { echo "run 'make build' first"; exit 1; }
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 bin/fashionclip "$(DESTDIR)$(PREFIX)/bin/fashionclip"
	install -m 0644 bin/libonnxruntime.so.1 "$(DESTDIR)$(PREFIX)/bin/libonnxruntime.so.1"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/fashionclip; make sure $(PREFIX)/bin is on your PATH"

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
              ./internal/modelfiles ./internal/ortlib ./internal/graphcache ./internal/query ./internal/doctor \
              ./internal/fileread ./internal/labels ./internal/export ./internal/dupes

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

# Go native fuzzing: every Fuzz target of the module in turn (scripts/fuzz.sh
# finds them), -parallel=1. Plain `go test` already runs each target's seeds.
FUZZTIME ?= 10m
fuzz: ort deps
	scripts/fuzz.sh $(FUZZTIME)

# A short fuzz of each target (CI runs it with FUZZSMOKE=3s after make test: 29 targets).
FUZZSMOKE ?= 20s
fuzz-smoke: ort deps
	scripts/fuzz.sh $(FUZZSMOKE)

# The cgo code (libjpeg glue, resampling kernels) under AddressSanitizer and
# UBSan: imageproc's tests and the decode fuzz seeds.
asan: deps
	scripts/asan.sh

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

# Screenshots of the HTML report and the search page for docs/, made in
# headless Chromium with the browser tests' tooling.
screenshots: ort deps
	scripts/install-chromium.sh
	$(GO) run ./scripts/screenshots -out docs

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
