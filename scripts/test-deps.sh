#!/bin/sh
# Install the system programs the tests run against, if they are missing (Debian packages):
#   prometheus-alertmanager  tests/interop starts it as a real process
#   chromium                 tests/e2e drives it with Playwright (/usr/bin/chromium)
#   nginx                    a test serves the static status page export with it; bench/statuspage.py too
#   wrk                      bench/statuspage.py measures tocsin and nginx with it
# Whatever is missing is installed with one apt-get call. Prints one line saying what it did.
set -eu

# package:program pairs; a program counts as present if it is on PATH or in /usr/sbin (nginx lives
# there, which is not on a normal user's PATH).
missing=""
for pair in prometheus-alertmanager:prometheus-alertmanager chromium:chromium nginx:nginx wrk:wrk; do
    package="${pair%%:*}"
    program="${pair#*:}"
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
        missing="$missing $package"
    fi
done
missing="${missing# }"

if [ -z "$missing" ]; then
    echo "test-deps: prometheus-alertmanager, chromium, nginx and wrk already installed"
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
# shellcheck disable=SC2086 # $missing is a space-separated list of package names
if ! { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "test-deps: FAILED to install $missing with apt-get" >&2
    exit 1
fi
echo "test-deps: installed $missing with apt-get"
