# Sourced by dev.sh and test.sh: make .venv with Python 3.11 and install Chimera into it.
# Usage: bootstrap_venv [EXTRAS]   e.g. bootstrap_venv dev
# Re-running is cheap: pip runs only when pyproject.toml changed since the last install.

find_python() {
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Chimera needs Python 3.11 (python3.11 not found on PATH)" >&2
    return 1
}

bootstrap_venv() {
    local extras="${1:-}"
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv"
        "$(find_python)" -m venv .venv
    fi
    local stamp=".venv/.chimera-install-${extras:-base}"
    local want
    want="$(cat pyproject.toml scripts/constraints.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing Chimera into .venv ($spec)"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e "$spec" -c scripts/constraints.txt
        echo "$want" >"$stamp"
    else
        echo "==> .venv is up to date"
    fi
}

build_frontend() {
    # The web app (frontend/) is built into frontend/dist, which the gateway serves at /.
    if ! command -v npm >/dev/null 2>&1; then
        echo "warning: npm not found; skipping the web app (the API still runs). Install Node.js 20+." >&2
        return 0
    fi
    local stamp="frontend/node_modules/.chimera-lock"
    local want
    want="$(sha256sum frontend/package-lock.json | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing the web app's packages (frontend/)"
        npm ci --prefix frontend --no-audit --no-fund --loglevel=error
        echo "$want" >"$stamp"
    fi
    # Rebuild only when the sources changed since the last build (test.sh and test_browser.sh
    # both ask for it).
    local built="frontend/node_modules/.chimera-build"
    local source
    source="$(find frontend/src frontend/public frontend/index.html frontend/package-lock.json \
        frontend/tsconfig.json frontend/vite.config.ts -type f -print0 2>/dev/null |
        sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    if [ -f frontend/dist/index.html ] && [ -f "$built" ] && [ "$(cat "$built")" = "$source" ]; then
        echo "==> the web app build is up to date (frontend/dist)"
        return 0
    fi
    echo "==> building the web app (frontend/dist)"
    npm run --prefix frontend --silent build >/dev/null
    echo "$source" >"$built"
}
