#!/usr/bin/env bash
# GPU measurements as one table (markdown): device copy bandwidth, SpMV bandwidth against
# the device's peak, Jacobi-CG GPU vs CPU on 2-D Poisson (n = GRID², default 4·10⁶), and
# data-generation throughput, batched GPU vs the sequential CPU solver (Darcy 64×64,
# COUNT = 1000 samples). Builds the binaries first when cargo is present (skip with
# SOLVENT_PREBUILT=1 and point SOLVENT_BIN / SOLVENT_GPU_BENCH at them). The CPU side runs
# on CPU_THREADS cores (default 2, pinned with taskset when available).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SOLVENT_BIN:-target/release/solvent}
BENCH=${SOLVENT_GPU_BENCH:-target/release/examples/gpu_bench}
if [ -z "${SOLVENT_PREBUILT:-}" ] && command -v cargo >/dev/null; then
    cargo build --release --bin solvent >&2
    cargo build --release --example gpu_bench >&2
fi
GRID=${GRID:-2000}
CG_ITERS=${CG_ITERS:-300}
COUNT=${COUNT:-1000}
CPU_THREADS=${CPU_THREADS:-2}
PIN=()
if command -v taskset >/dev/null; then
    PIN=(taskset -c "0-$((CPU_THREADS - 1))")
fi
export RAYON_NUM_THREADS=$CPU_THREADS
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
echo "| measurement | result | note |"
echo "|---|---|---|"
"${PIN[@]}" "$BENCH" "$GRID" "$CG_ITERS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${PIN[@]}" "$BIN" datagen darcy --grid 64 --count "$COUNT" --device gpu --quiet --out "$tmp/g.npz" --json "$tmp/g.json"
"${PIN[@]}" "$BIN" datagen darcy --grid 64 --count "$COUNT" --device cpu --quiet --out "$tmp/c.npz" --json "$tmp/c.json"
python3 - "$tmp/g.json" "$tmp/c.json" "$COUNT" "$CPU_THREADS" <<'PY'
import json, sys
g, c = (json.load(open(p)) for p in sys.argv[1:3])
k, t = int(sys.argv[3]), sys.argv[4]
gw, cw = g["wall_s"], c["wall_s"]
print(f"| datagen darcy 64×64 × {k} (end to end, tol 1e-8) | batched GPU {k / gw:.0f} systems/s ({gw:.2f} s) vs "
      f"sequential CPU ({t} threads) {k / cw:.0f} systems/s ({cw:.2f} s) | speed-up {cw / gw:.2f}x |")
for name, d in (("GPU", g), ("CPU", c)):
    s = d["sequence"]
    print(f"| … of which {name} | solve {s['solve_s']:.2f} s, assembly {s['assembly_s']:.2f} s, "
          f"{s['total_iterations']} iterations | the rest: sampling the fields for the data set, writing .npz |")
PY
# a sequence that is not SPD (convection–diffusion) on the device: batched GMRES(40) (the
# default) vs GCRO-DR(40, 20) one system at a time carrying its recycled space
for method in gmres gcrodr; do
    "${PIN[@]}" "$BIN" datagen convdiff --grid "${CD_GRID:-128}" --count "${CD_COUNT:-20}" --device gpu --method "$method" \
        --strategy independent --quiet --out "$tmp/cd-$method.npz" --json "$tmp/cd-$method.json"
done
python3 - "$tmp/cd-gmres.json" "$tmp/cd-gcrodr.json" "${CD_GRID:-128}²" "${CD_COUNT:-20}" <<'PY'
import json, sys
g, r = (json.load(open(p))["sequence"] for p in sys.argv[1:3])
print(f"| convdiff {sys.argv[3]} × {sys.argv[4]} on the device: batched GMRES(40) vs recycled GCRO-DR(40,20) | "
      f"{g['total_iterations']} vs {r['total_iterations']} iterations, {g['solve_s']:.2f} s vs {r['solve_s']:.2f} s | "
      f"GCRO-DR {g['total_iterations'] / r['total_iterations']:.2f}x fewer iterations; batched {r['solve_s'] / g['solve_s']:.2f}x faster |")
PY
