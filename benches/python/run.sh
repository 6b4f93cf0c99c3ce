#!/usr/bin/env bash
# The Python bench (bench.py): builds the CLI and the extension with one profile, installs
# the peers (scikit-learn, skglm) from the package index into target/python-venv, runs.
# Arguments go to bench.py (--quick, --skip-lasso, --repeat N).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" numpy scipy scikit-learn skglm
cargo build --bin solvent
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -m python/Cargo.toml
SOLVENT_BIN="$PWD/target/debug/solvent" "$venv/bin/python" benches/python/bench.py "$@"
