#!/usr/bin/env bash
# MovieLens-100k, end to end: fetches the ratings from the PyPI package that carries them
# (recbole==1.2.1, recbole/dataset_example/ml-100k/ml-100k.inter; nothing is committed),
# then completes a random 80/20 split. Extra arguments go to `solvent complete`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DATA_DIR:-target/movielens}
mkdir -p "$dir"
if [ ! -f "$dir/ml-100k.inter" ]; then
    python3 -m pip download --no-deps --quiet recbole==1.2.1 -d "$dir"
    unzip -o -j -q "$dir"/recbole-1.2.1-*.whl recbole/dataset_example/ml-100k/ml-100k.inter -d "$dir"
fi
cargo run --release --quiet -- complete --train "$dir/ml-100k.inter" --split 0.2 --rank 10 --reg 0.12 \
    --json "$dir/report.json" "$@"
