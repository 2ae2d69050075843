#!/usr/bin/env bash
# Install the C libraries cgo needs when they are missing (Debian/Ubuntu).
set -euo pipefail
if [ -f /usr/include/turbojpeg.h ] || [ -f /usr/local/include/turbojpeg.h ] || [ -f /opt/homebrew/include/turbojpeg.h ]; then
  exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "deps: installing libturbojpeg0-dev and libjpeg62-turbo-dev" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libturbojpeg0-dev libjpeg62-turbo-dev >/dev/null
  exit 0
fi
echo "deps: libjpeg-turbo headers are missing: install libturbojpeg0-dev and libjpeg62-turbo-dev (Debian/Ubuntu) or jpeg-turbo (Homebrew)" >&2
exit 1
