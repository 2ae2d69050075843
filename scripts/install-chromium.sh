#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the browser tests
# (internal/browsertest) and `make screenshots`, when it is missing.
# CI calls it before `go test`; tests skip with a message without it.
set -euo pipefail
for b in "${FASHIONCLIP_CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$b" ] && command -v "$b" >/dev/null; then
    exit 0
  fi
done
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "chromium: installing Debian's chromium package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  exit 0
fi
echo "chromium: not found; install Debian's 'chromium' package (or set FASHIONCLIP_CHROMIUM to a Chromium binary)" >&2
exit 1
