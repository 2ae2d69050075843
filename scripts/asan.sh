#!/usr/bin/env bash
# Runs pkg/imageproc's tests, whose fuzz targets replay their seed corpora
# (testdata/fuzz/...) as tests, with the cgo code (libjpeg glue, resampling
# kernels) built under AddressSanitizer and UndefinedBehaviorSanitizer.
# Go's -asan also checks the Go memory handed to C. It needs gcc >= 7 (or
# clang >= 9) with libasan and libubsan, which Debian's gcc package ships.
#
#   scripts/asan.sh [go test flags...]     e.g. scripts/asan.sh -run TestMangled
#
# Everything runs about ten times slower than usual (the hostile-image tests
# dominate): see the timing in the commit that added this script.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
export CGO_LDFLAGS="-fsanitize=address,undefined"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec ${GO:-go} test -asan -count=1 -timeout 60m "$@" ./pkg/imageproc
