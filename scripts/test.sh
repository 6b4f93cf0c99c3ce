#!/usr/bin/env bash
# The test suite, with every feature. Installs what it needs when missing (as root,
# with apt-get): libhdf5-dev and pkg-config for the `hdf5` feature, and Mesa's software
# Vulkan driver (lavapipe: mesa-vulkan-drivers, libvulkan1) for the GPU tests, which then
# run on it and fail rather than skip when no adapter can be opened (SOLVENT_REQUIRE_GPU),
# and MPICH with libclang (mpich, libmpich-dev, libclang-dev) for the `mpi` feature, whose
# tests launch real `mpirun` jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
pkg-config --exists hdf5 2>/dev/null || need+=(libhdf5-dev pkg-config)
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || ! ldconfig -p 2>/dev/null | grep libvulkan.so.1 >/dev/null; then
    need+=(mesa-vulkan-drivers libvulkan1)
fi
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    need+=(mpich libmpich-dev)
fi
ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${need[*]}…" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "error: the tests need ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
        exit 1
    fi
fi
export SOLVENT_REQUIRE_GPU=1
# lavapipe asks for a runtime dir it does not need; give it one to keep the log quiet
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --workspace --all-features "$@"

# The Python package: built from the same crates into a virtual environment under
# target/ (the dev profile, which the test profile inherits: it reuses what cargo test compiled), then its
# pytest suite, which compares with SciPy, scikit-learn and the CLI built above.
py="${PYTHON:-python3}"
venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
    if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
            rm -rf "$venv"
            "$py" -m venv "$venv"
        else
            echo "error: the Python tests need a venv ($py -m venv failed; apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "maturin>=1.7,<2" numpy scipy scikit-learn pytest
# the facade's features as `cargo test --all-features` had them, so nothing is rebuilt
# (the module never starts MPI; the feature only keeps the dependency graph the same)
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -m python/Cargo.toml \
    --features solvent/hdf5,solvent/sprs,solvent/nalgebra,solvent/mpi
target_dir="${CARGO_TARGET_DIR:-target}"
SOLVENT_BIN="$(cd "$target_dir" && pwd)/debug/solvent" "$venv/bin/python" -m pytest -q python/tests
