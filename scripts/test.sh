#!/usr/bin/env bash
# The test suite, with every feature: installs what the `hdf5` feature needs
# (libhdf5-dev, pkg-config) when it is missing, then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pkg-config --exists hdf5 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "installing libhdf5-dev and pkg-config (for the hdf5 feature)…" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libhdf5-dev pkg-config >/dev/null
    else
        echo "error: the hdf5 feature needs libhdf5-dev and pkg-config; install them (apt-get install libhdf5-dev pkg-config) or run as root" >&2
        exit 1
    fi
fi
cargo test --workspace --all-features "$@"
