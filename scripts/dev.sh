#!/usr/bin/env bash
# Install Chimera into .venv (first run only) and start the whole stack with `chimera up`.
# Extra arguments go to `chimera up`, e.g. ./scripts/dev.sh --port 9000 --data-dir /tmp/chimera
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

bootstrap_venv "${CHIMERA_EXTRAS:-}"
echo "==> starting Chimera (gateway + room service); Ctrl-C stops everything"
exec .venv/bin/chimera up "$@"
