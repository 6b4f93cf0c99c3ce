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
if ! dpkg -s python3-petsc4py python3-scipy python3-venv >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq python3-petsc4py python3-scipy python3-venv
  # Debian's PETSc brings Open MPI and makes it the default mpicc/mpirun; Solvent's
  # `mpi` feature and its tests use MPICH (scripts/test.sh): point them back
  if [ -x /usr/bin/mpicc.mpich ]; then
    $sudo update-alternatives --set mpi /usr/bin/mpicc.mpich >/dev/null
    $sudo update-alternatives --set mpirun /usr/bin/mpirun.mpich >/dev/null
  fi
fi
# Debian's petsc4py finds PETSc through /usr/lib/petsc (from petsc-dev) or PETSC_DIR
if [ ! -d /usr/lib/petsc ] && [ -z "${PETSC_DIR:-}" ]; then
  PETSC_DIR=$(ls -d /usr/lib/petscdir/petsc3.*/x86_64-linux-gnu-real 2>/dev/null | tail -1)
  export PETSC_DIR
fi
venv=target/seq3d-venv
[ -x $venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $venv
# --no-deps: keep Debian's NumPy, which petsc4py was built against (pyamg 5.0.1 wheels run on it)
$venv/bin/python -c "import pyamg" 2>/dev/null || $venv/bin/pip install -q --no-deps "pyamg==5.0.1"
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
