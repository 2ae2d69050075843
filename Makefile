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

.PHONY: all build ort deps test test-short bench synth vet fmt-check completions clean demo

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

# The test command named in README.md and run by CI.
test: ort deps fmt-check vet
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

clean:
	rm -rf bin dist
