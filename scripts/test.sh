#!/usr/bin/env bash
# Install Chimera with its dev tools into .venv and run every check and test: lint, types, the
# Python suite (unit, integration with real processes and databases, end-to-end `chimera up`),
# the web app's lint (Biome) and unit tests, and the browser tests in Debian's headless Chromium.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -k resume -x
# --fast as the first argument runs only lint and the unit tier on SQLite, less the tests that
# build diffusion pipelines (pytest -m 'unit and not postgres and not diffusion'): no types, no
# processes, no web app or browser; e.g. ./scripts/test.sh --fast -x
# PostgreSQL tests use 127.0.0.1:5432 (override: CHIMERA_TEST_POSTGRES_URL); with CI=true
# they must run, elsewhere they skip with the reason when no server is reachable.
# CHIMERA_SKIP_BROWSER=1 leaves out the web app and browser tests (for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
# Every process the tests start (room, gateway, nodes) imports services/: let Python keep the
# compiled modules instead of compiling them again in each one.
unset PYTHONDONTWRITEBYTECODE

fast=0
if [ "${1:-}" = --fast ]; then
    fast=1
    shift
fi

bootstrap_venv dev
echo "==> lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [ "$fast" = 1 ]; then
    # No mypy and no PostgreSQL halves here (the full run and CI have both): the unit tier on
    # SQLite only, on two workers (39 s with lint, 2-core AMD EPYC VM, 2026-12-04).
    echo "==> unit tests on SQLite (pytest -m 'unit and not postgres and not diffusion', 2 workers)"
    .venv/bin/python -m pytest -m "unit and not postgres and not diffusion" -n 2 -q "$@"
    exit 0
fi
echo "==> types (mypy)"
.venv/bin/mypy services
# The unit tier is in-process and independent test by test: two workers. The integration and
# end-to-end tiers start real processes, several per test, which already fill both cores.
# A tier that extra arguments (-k ...) leave empty is not a failure (pytest's exit code 5).
pytest_tier() {
    local rc=0
    .venv/bin/python -m pytest "$@" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 5 ]
}
echo "==> unit tests (pytest -m unit, 2 workers)"
pytest_tier -m unit -n 2 "$@"
echo "==> integration and end-to-end tests (pytest -m 'not unit')"
pytest_tier -m "not unit" "$@"

if [ "${CHIMERA_SKIP_BROWSER:-}" = 1 ] && [ "${CI:-}" != true ]; then
    echo "==> skipping the web app and browser tests (CHIMERA_SKIP_BROWSER=1)"
    exit 0
fi
build_frontend
echo "==> web app lint and format (biome)"
npm run --prefix frontend --silent lint
echo "==> web app unit tests (vitest)"
npm test --prefix frontend --silent
echo "==> browser tests (Playwright + Chromium)"
./scripts/test_browser.sh
