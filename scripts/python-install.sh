#!/usr/bin/env bash
# Installs the `solvent` Python package (python/) from this checkout into the current
# Python (a virtual environment when one is active): pip builds the Rust extension with
# maturin, which it fetches from the package index. Needs the Rust toolchain (cargo).
# Extra arguments go to pip (e.g. --user). PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3}"
if ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "error: $py has no pip (Debian: apt-get install python3-pip python3-venv)" >&2
    exit 1
fi
"$py" -m pip install "$@" ./python
"$py" -c "import solvent; print('solvent', solvent.__version__, 'installed')"
