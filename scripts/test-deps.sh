#!/bin/sh
# Install the system programs the interop tests run against, if they are missing.
# Today that is Prometheus Alertmanager (Debian package prometheus-alertmanager), which
# tests/interop starts as a real process. Prints one line saying what it did.
set -eu

if command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "test-deps: prometheus-alertmanager already installed ($(command -v prometheus-alertmanager))"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi

# apt's own output goes to a log so that this script prints one line, unless it fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus-alertmanager; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "test-deps: FAILED to install prometheus-alertmanager with apt-get" >&2
    exit 1
fi
echo "test-deps: installed prometheus-alertmanager with apt-get ($(command -v prometheus-alertmanager))"
