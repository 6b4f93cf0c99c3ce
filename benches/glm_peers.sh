#!/usr/bin/env bash
# Sparse GLMs against the libraries users pick today, side by side in one run (not part of CI).
#
# Time to a relative duality gap ≤ 1e-6 (computed the same way for all, in glm_peers.py) of
# `solvent bcd` (at its defaults: the working-set solver) and of scikit-learn, skglm and celer
# on: sparse Lasso 10⁴ × 10⁵ at densities 1e-3 and 1e-2 and λ = 0.1, 0.05, 0.01·λ_max; dense
# Lasso 1000 × 5000 with correlated columns (ρ = 0.6); L1-logistic on the sparse designs; a
# 50-point Lasso path. The peers are installed from PyPI into a virtual environment under
# $WORK (default: a temporary folder); the data are generated there. Prints a markdown table.
#
#   bash benches/glm_peers.sh                 # every row (about 20 minutes on 2 cores)
#   bash benches/glm_peers.sh "d=0.001"       # rows whose label contains the filter
#   REPEAT=1 BUDGET=30 bash benches/glm_peers.sh   # one run per timing, peers cut off at 30 s
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q scikit-learn skglm celer
fi
"$work/venv/bin/python" -c "import sklearn, skglm, celer; print('scikit-learn', sklearn.__version__, '· skglm', skglm.__version__, '· celer', celer.__version__)"
cargo build --release -q
"$work/venv/bin/python" benches/glm_peers.py target/release/solvent "$work/data" "${1:-}"
