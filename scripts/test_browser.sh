#!/usr/bin/env bash
# The web app's end-to-end tests in real headless Chromium against `chimera up` with a fake model.
# Installs what they need itself: Debian's chromium (apt, as root), the npm packages, the
# frontend build. Extra arguments go to `playwright test`, e.g. ./scripts/test_browser.sh -g Stop
# Screenshots land in artifacts/screenshots/, logs, traces and the HTML report in artifacts/browser/.
# CHIMERA_CHROMIUM names another Chromium binary (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

chromium="${CHIMERA_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    # Test tools cannot download browsers here: Debian's package is the browser.
    if [ "$chromium" != /usr/bin/chromium ] || [ "$(id -u)" -ne 0 ]; then
        echo "error: $chromium is missing (as root: apt-get install -y chromium)" >&2
        exit 1
    fi
    echo "==> installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "==> $("$chromium" --version 2>/dev/null || echo "$chromium")"

bootstrap_venv dev  # as scripts/test.sh does: the same install, not a second one

# Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! command -v npm >/dev/null 2>&1; then
    echo "error: the browser tests need Node.js 20+ and npm" >&2
    exit 1
fi
build_frontend
echo "==> installing the browser tests' packages (tests/browser/)"
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

rm -rf artifacts/screenshots artifacts/browser
mkdir -p artifacts/screenshots
echo "==> browser tests (Playwright, $chromium)"
cd tests/browser
npx tsc --noEmit
CHIMERA_CHROMIUM="$chromium" npx playwright test "$@"
