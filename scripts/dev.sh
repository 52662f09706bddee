#!/usr/bin/env bash
# Install Chimera into .venv and build the web app (first run only), then start the whole stack
# with `chimera up`. Extra arguments go to `chimera up`, e.g.
#   ./scripts/dev.sh --port 9000 --data-dir /tmp/chimera --models my-models.toml --voices my-voices.toml
# CHIMERA_EXTRAS=local also installs torch + transformers for local models.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

bootstrap_venv "${CHIMERA_EXTRAS:-}"
build_frontend
echo "==> starting Chimera (LLM node, TTS node, room service, gateway); Ctrl-C stops everything"
exec .venv/bin/chimera up "$@"
