#!/usr/bin/env bash
# Strong scaling of the `mpi` feature on this machine, R = 1 and 2 ranks, one thread per
# rank (RAYON_NUM_THREADS=1: pure MPI, so that R ranks use R cores), runs interleaved
# and repeated (median of REPEAT):
#   1. datagen darcy --grid 128 --count 200 (the default `auto` plan: sparse Cholesky
#      with the analysis reused) — wall time of the whole command;
#   2. complete on a synthetic 10⁷-entry matrix (50,000 × 50,000, rank 10, .mtx) — the
#      sweeps' time (the run loop's solve time) and the whole command, and the factor
#      bytes each rank received per sweep against the model k · rows not owned · 8;
#   3. the iteration overhead of R chains on the Darcy sequence (skr, --jobs R = 1, 2,
#      4, 8; what each extra cold start costs).
# Usage: benches/mpi/scaling.sh [REPEAT]   (prints markdown tables; needs mpirun)
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat="${1:-3}"
cargo build -q --features mpi
bin="$PWD/target/debug/solvent"   # the dev profile is optimised (opt-level 3)
work="${TMPDIR:-/tmp}/solvent-mpi-bench"
mkdir -p "$work"
py="${PYTHON:-python3}"
export RAYON_NUM_THREADS=1

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(mpirun --version | head -1)"

# 1. datagen
for rep in $(seq "$repeat"); do
    for r in 1 2; do
        mpirun -n "$r" "$bin" datagen darcy --grid 128 --count 200 --quiet \
            --out "$work/d$r.npz" --json "$work/datagen-$r-$rep.json"
    done
done

# 2. completion data (made once)
if [ ! -s "$work/m1e7.mtx" ]; then
    "$py" - "$work/m1e7.mtx" <<'PY'
import random, sys
random.seed(0)
m = n = 50_000
k = 10
nnz = 10_000_000
import array
U = [[random.gauss(0, 1) for _ in range(k)] for _ in range(m)]
V = [[random.gauss(0, 1) for _ in range(k)] for _ in range(n)]
seen = set()
with open(sys.argv[1], "w") as f:
    f.write("%%MatrixMarket matrix coordinate real general\n")
    f.write(f"{m} {n} {nnz}\n")
    out = []
    while len(seen) < nnz:
        i = random.randrange(m); j = random.randrange(n)
        if (i, j) in seen:
            continue
        seen.add((i, j))
        u, v = U[i], V[j]
        x = sum(a * b for a, b in zip(u, v)) + random.gauss(0, 0.1)
        out.append(f"{i+1} {j+1} {x:.5f}\n")
        if len(out) == 100_000:
            f.write("".join(out)); out = []
    f.write("".join(out))
PY
fi
for rep in $(seq "$repeat"); do
    for r in 1 2; do
        /usr/bin/time -f "%e" -o "$work/complete-$r-$rep.time" \
            mpirun -n "$r" "$bin" complete --train "$work/m1e7.mtx" --rank 10 --sweeps 5 --tol 0 \
            --quiet --json "$work/complete-$r-$rep.json"
    done
done

# 3. chains
for r in 1 2 4 8; do
    "$bin" datagen darcy --grid 64 --count 200 --strategy skr --jobs "$r" --quiet \
        --out "$work/c$r.npz" --json "$work/chains-$r.json"
done

"$py" - "$work" "$repeat" <<'PY'
import json, statistics, sys
work, repeat = sys.argv[1], int(sys.argv[2])
def load(p): return json.load(open(p))
med = statistics.median
print("\n### datagen darcy --grid 128 --count 200 (auto), wall s of the command\n")
t = {r: [load(f"{work}/datagen-{r}-{i}.json")["wall_s"] for i in range(1, repeat + 1)] for r in (1, 2)}
print("| ranks | wall s (median) | min | max | efficiency t1/(R tR) |")
print("|---|---|---|---|---|")
for r in (1, 2):
    print(f"| {r} | {med(t[r]):.2f} | {min(t[r]):.2f} | {max(t[r]):.2f} | {med(t[1]) / (r * med(t[r])):.2f} |")
d2 = load(f"{work}/datagen-2-1.json")
print(f"\nimbalance at R = 2: {d2['ranks']['imbalance']:.3f}; per-rank wall {[round(x['wall_s'], 2) for x in d2['ranks']['ranks']]}")
print("\n### complete, 50,000 × 50,000, 10⁷ entries, rank 10, 5 sweeps\n")
rows = {}
for r in (1, 2):
    sweeps = [load(f"{work}/complete-{r}-{i}.json")["run"]["elapsed_s"] for i in range(1, repeat + 1)]
    wall = [float(open(f"{work}/complete-{r}-{i}.time").read().split()[-1]) for i in range(1, repeat + 1)]
    rows[r] = (sweeps, wall)
print("| ranks | sweeps s (median) | efficiency (sweeps) | command wall s (median) | efficiency (command) |")
print("|---|---|---|---|---|")
for r in (1, 2):
    s, w = rows[r]
    print(f"| {r} | {med(s):.2f} | {med(rows[1][0]) / (r * med(s)):.2f} | {med(w):.2f} | {med(rows[1][1]) / (r * med(w)):.2f} |")
c2 = load(f"{work}/complete-2-1.json")
mpi = c2["mpi"]
print(f"\nfactor bytes received per sweep, per rank: measured {mpi['sweep_bytes_received']}, model k·rows·8 {mpi['sweep_bytes_model']}")
r1 = load(f"{work}/complete-1-1.json")["run"]["trace"]
r2 = c2["run"]["trace"]
dev = max(abs(a["metrics"]["extra"]["train_rmse"] - b["metrics"]["extra"]["train_rmse"]) / b["metrics"]["extra"]["train_rmse"] for a, b in zip(r2, r1))
print(f"largest relative difference of the train RMSE trace, 2 ranks vs 1: {dev:.1e}")
print("\n### chains on the Darcy sequence (skr, grid 64, 200 samples)\n")
print("| chains (--jobs) | total iterations | vs 1 chain |")
print("|---|---|---|")
base = None
for r in (1, 2, 4, 8):
    its = load(f"{work}/chains-{r}.json")["sequence"]["total_iterations"]
    base = base or its
    print(f"| {r} | {its} | {its / base:.3f} |")
PY
