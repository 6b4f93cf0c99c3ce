#!/usr/bin/env bash
# Lasso against the libraries users pick today, on the same data (not part of CI).
#
# A sparse least-squares problem with 10⁴ samples, 10⁵ features and ~10⁶ non-zeros (the
# paper's generator at density 1e-3, seed 0), λ = 0.1·λ_max, no intercept: the time each solver
# needs to reach a duality gap of 1e-6 — `solvent bcd` (median of 3 runs, solver time from its
# report) against scikit-learn's Lasso and skglm's Lasso (each fit timed; their tolerances are
# tightened until the gap, computed the same way for all, is ≤ 1e-6). scikit-learn and skglm
# are installed from PyPI into a virtual environment under $WORK (default: a temporary folder).
#
#   bash benches/bcd_vs_python.sh          # RATIO=0.01 bash benches/bcd_vs_python.sh for λ = 0.01·λ_max
set -euo pipefail
ratio=${RATIO:-0.1}
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q "scikit-learn>=1.5" "skglm>=0.4"
fi
"$work/venv/bin/python" -c "import sklearn, skglm; print('scikit-learn', sklearn.__version__, '· skglm', skglm.__version__)"
cargo build --release -q
reports=()
for k in 1 2 3; do
    ./target/release/solvent bcd --problem lasso --generate ls --samples 10000 --features 100000 \
        --density 0.001 --seed 0 --lambda-ratio "$ratio" --tol 1e-6 --quiet --no-trace \
        --save-data "$work/lasso.svm" --json "$work/solvent-$k.json"
    reports+=("$work/solvent-$k.json")
done
"$work/venv/bin/python" benches/bcd_vs_python.py "$work/lasso.svm" 100000 "$ratio" "${reports[@]}"
