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
