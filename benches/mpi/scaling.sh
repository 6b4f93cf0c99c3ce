#!/usr/bin/env bash
# Strong scaling of the `mpi` feature on this machine, R = 1 and 2 ranks, one thread per
# rank (RAYON_NUM_THREADS=1: pure MPI, so that R ranks use R cores), runs interleaved
# and repeated (median of REPEAT):
#   1. datagen darcy --grid 128 --count 200 (the default `auto` plan: sparse Cholesky
#      with the analysis reused) — the generation's wall time (the report's wall_s: from
#      the start to the whole data set on rank 0) and the whole command's (MPI start-up
#      and the file write included);
#   2. complete on a synthetic 10⁷-entry matrix (50,000 × 50,000, rank 10, .mtx) — the
#      median time of one sweep (from the per-sweep trace, which excludes the RMSE
#      measurements), the run loop's solve time (spectral start + sweeps) and the whole
#      command (rank 0 reads the file alone), and the factor bytes each rank received per
#      sweep against the model k · rows not owned · 8; beside them one process with two
#      rayon threads, for context;
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

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), MPI: $(mpirun --version 2>&1 | grep -m1 -E 'Version:|Open MPI' | xargs)"

# 1. datagen
for rep in $(seq "$repeat"); do
    for r in 1 2; do
        /usr/bin/time -f "%e" -o "$work/datagen-$r-$rep.time" \
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
            mpirun -n "$r" "$bin" complete --train "$work/m1e7.mtx" --rank 10 --sweeps 10 --tol 0 \
            --quiet --json "$work/complete-$r-$rep.json"
    done
    # for context: one process on both cores (rayon threads instead of ranks)
    RAYON_NUM_THREADS=2 "$bin" complete --train "$work/m1e7.mtx" --rank 10 --sweeps 10 --tol 0 \
        --quiet --json "$work/complete-threads-$rep.json"
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
print("\n### datagen darcy --grid 128 --count 200 (auto)\n")
t = {r: [load(f"{work}/datagen-{r}-{i}.json")["wall_s"] for i in range(1, repeat + 1)] for r in (1, 2)}
c = {r: [float(open(f"{work}/datagen-{r}-{i}.time").read().split()[-1]) for i in range(1, repeat + 1)] for r in (1, 2)}
print("| ranks | generation s (median, min–max) | efficiency | command s (median, min–max) | efficiency |")
print("|---|---|---|---|---|")
for r in (1, 2):
    print(f"| {r} | {med(t[r]):.2f} ({min(t[r]):.2f}–{max(t[r]):.2f}) | {med(t[1]) / (r * med(t[r])):.2f} "
          f"| {med(c[r]):.2f} ({min(c[r]):.2f}–{max(c[r]):.2f}) | {med(c[1]) / (r * med(c[r])):.2f} |")
d2 = load(f"{work}/datagen-2-1.json")
print(f"\nimbalance at R = 2: {d2['ranks']['imbalance']:.3f}; per-rank wall {[round(x['wall_s'], 2) for x in d2['ranks']['ranks']]}")
print("\n### complete, 50,000 × 50,000, 10⁷ entries, rank 10, altmin, 10 sweeps\n")
def sweep_times(p):
    t = [x["time_s"] for x in load(p)["run"]["trace"]]
    return [b - a for a, b in zip(t, t[1:])]
rows = {}
for r in (1, 2, "threads"):
    name = lambda i: f"{work}/complete-{r}-{i}.json"
    per = [med(sweep_times(name(i))) for i in range(1, repeat + 1)]
    solve = [load(name(i))["run"]["elapsed_s"] for i in range(1, repeat + 1)]
    wall = [float(open(f"{work}/complete-{r}-{i}.time").read().split()[-1]) for i in range(1, repeat + 1)] if r != "threads" else None
    rows[r] = (per, solve, wall)
print("| ranks × threads | one sweep s (median, min–max) | efficiency | start + sweeps s (median) | efficiency | command s (median) | efficiency |")
print("|---|---|---|---|---|---|---|")
for r, label, cores in ((1, "1 × 1", 1), (2, "2 × 1", 2), ("threads", "1 × 2", 2)):
    per, solve, wall = rows[r]
    e = lambda x, base: med(base) / (cores * med(x))
    w = f"{med(wall):.2f} | {e(wall, rows[1][2]):.2f}" if wall else "– | –"
    print(f"| {label} | {med(per):.3f} ({min(per):.3f}–{max(per):.3f}) | {e(per, rows[1][0]):.2f} | {med(solve):.2f} | {e(solve, rows[1][1]):.2f} | {w} |")
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
