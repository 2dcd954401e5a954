#!/bin/sh
# Install the system programs the tests run against, if they are missing (Debian packages):
#   prometheus-alertmanager  tests/interop starts it as a real process
#   prometheus               tests/interop/test_prometheus_slo.py: an SLO's counts from a real Prometheus
#   chromium                 tests/e2e drives it with Playwright (/usr/bin/chromium)
#   nginx                    a test serves the static status page export with it; bench/statuspage.py too
#   wrk                      bench/statuspage.py measures tocsin and nginx with it
# and, from the npm registry, axe-core (pinned) into .venv/node: the browser tests inject it into
# every page they check for accessibility (tests/harness/browser.py's check_a11y).
# Whatever is missing is installed with one apt-get call. Prints one line saying what it did.
set -eu

# package:program pairs; a program counts as present if it is on PATH or in /usr/sbin (nginx lives
# there, which is not on a normal user's PATH).
missing=""
for pair in prometheus-alertmanager:prometheus-alertmanager prometheus:prometheus chromium:chromium nginx:nginx wrk:wrk; do
    package="${pair%%:*}"
    program="${pair#*:}"
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
        missing="$missing $package"
    fi
done
missing="${missing# }"

AXE_VERSION=4.14.1
axe_dir="$(dirname "$0")/../.venv/node"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ] || \
   ! grep -q "\"version\": \"$AXE_VERSION\"" "$axe_dir/node_modules/axe-core/package.json" 2>/dev/null; then
    mkdir -p "$axe_dir"
    if ! npm install --silent --no-audit --no-fund --prefix "$axe_dir" "axe-core@$AXE_VERSION" >/dev/null 2>&1; then
        echo "test-deps: FAILED to install axe-core@$AXE_VERSION with npm (is node/npm installed?)" >&2
        exit 1
    fi
    echo "test-deps: installed axe-core $AXE_VERSION into .venv/node"
fi

if [ -z "$missing" ]; then
    echo "test-deps: prometheus-alertmanager, prometheus, chromium, nginx and wrk already installed"
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
