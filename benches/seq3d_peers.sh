#!/usr/bin/env bash
# Solvent vs pyamg and PETSc (petsc4py: GAMG, hypre BoomerAMG, ILU(0)) on 3-D sequences.
# Installs petsc4py and SciPy from Debian and pyamg from PyPI (into a venv that sees the
# system packages), exports the systems with `solvent datagen --systems`, then runs
# benches/seq3d_peers.py. Usage: benches/seq3d_peers.sh [SIZES] (default "30 60"),
# K=20 systems each, FAMILIES="darcy3d convdiff3d".
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-"30 60"}
K=${K:-20}
FAMILIES=${FAMILIES:-"darcy3d convdiff3d"}
if ! /usr/bin/python3 -c "import petsc4py, scipy" 2>/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq python3-petsc4py python3-scipy python3-venv
fi
venv=target/seq3d-venv
[ -x $venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $venv
$venv/bin/python -c "import pyamg" 2>/dev/null || $venv/bin/pip install -q pyamg
cargo build --release -q
dir=target/seq3d
mkdir -p $dir
files=()
for fam in $FAMILIES; do
  for g in $SIZES; do
    f=$dir/$fam-$g.npz
    [ -f "$f" ] || target/release/solvent datagen "$fam" --grid "$g" --count "$K" --systems "$f" --quiet
    files+=("$f")
  done
done
$venv/bin/python benches/seq3d_peers.py --solvent target/release/solvent --out target/seq3d_peers.json "${files[@]}"
