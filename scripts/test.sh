#!/usr/bin/env bash
# Install Chimera with its dev tools into .venv and run every check and test.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -k resume -x
# PostgreSQL tests use 127.0.0.1:5432 (override: CHIMERA_TEST_POSTGRES_URL); with CI=true
# they must run, elsewhere they skip with the reason when no server is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

bootstrap_venv dev
echo "==> lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> types (mypy)"
.venv/bin/mypy services
echo "==> tests (pytest)"
.venv/bin/python -m pytest "$@"
