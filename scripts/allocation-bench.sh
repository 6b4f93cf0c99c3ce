#!/usr/bin/env bash
# Allocation at the issue's scale, end to end on one core: 1,000 layers × 101 levels (built-in
# synthetic curves), budget 30% of the parameters, resolution 10⁶ units. Prints the CLI's summary
# and the whole process's wall time and peak memory (GNU time), then the criterion bench.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
export RAYON_NUM_THREADS=1
run() { taskset -c 0 /usr/bin/time -f "  wall %e s, peak RSS %M KB" ./target/release/solvent allocate "$@"; }
run --generate 1000x101 --budget-frac 0.3 --resolution 1000000
run --generate 1000x101 --budget-frac 0.3 --resolution 1000000 --method lagrange
run --generate 1000x101 --budget-frac 0.3
taskset -c 0 cargo bench --bench allocation
