//! Allocation speed and memory at the scale: 1,000 layers × 101 levels, budget 30% of
//! the parameters at a resolution of 10⁶ units, on one core (the DP is sequential). Side by
//! side: the exact DP at that resolution, the LP/greedy it builds on, and the DP on exact
//! (unscaled) costs. Memory is the DP's own accounting (backtracking + working lists), printed
//! before the timings; `scripts/allocation-bench.sh` measures the whole process's peak RSS.
//!
//! `cargo bench --bench allocation`

use criterion::{criterion_group, criterion_main, Criterion};
use solvent::problems::allocation::{synthetic_table, SyntheticTable};
use solvent::solvers::allocation::{dp, hull, Mckp};

fn instance(noise: f64) -> Mckp {
    let t = synthetic_table(&SyntheticTable {
        layers: 1000,
        levels: 101,
        min_size: 10_000,
        max_size: 1_000_000,
        noise,
        seed: 1,
    })
    .unwrap();
    let budget = t.max_total(0) * 3 / 10;
    Mckp::from_table(&t, 0, budget).unwrap()
}

fn allocation(c: &mut Criterion) {
    let mut g = c.benchmark_group("allocate_1000x101");
    g.sample_size(10);
    for noise in [0.0, 0.05, 0.3] {
        let exact = instance(noise);
        let (scaled, sc) = exact.scaled(1_000_000);
        let s = dp::solve(&scaled).unwrap();
        let lb = hull::lagrange(&exact).lower_bound;
        println!(
            "noise {noise}: unit {:.1}, rounding ≤ {:.0} params; DP value {:.6e}, exact-cost LP bound {:.6e} \
             (gap {:.3e} relative); options kept {}/{}; states stored {}, peak list {}; memory {:.1} MB \
             (backtracking {:.1} MB + working {:.1} MB)",
            sc.unit,
            sc.cost_rounding,
            s.value,
            lb,
            (s.value - lb) / s.value,
            s.stats.options_kept,
            s.stats.options_total,
            s.stats.states_stored,
            s.stats.states_peak,
            (s.stats.backtrack_bytes + s.stats.working_bytes) as f64 / 1e6,
            s.stats.backtrack_bytes as f64 / 1e6,
            s.stats.working_bytes as f64 / 1e6
        );
        g.bench_function(format!("dp_res1e6_noise{noise}"), |b| {
            b.iter(|| dp::solve(&scaled).unwrap())
        });
        g.bench_function(format!("lagrange_noise{noise}"), |b| {
            b.iter(|| hull::lagrange(&exact))
        });
        {
            let e = dp::solve(&exact).unwrap();
            println!(
                "noise {noise}, exact costs: DP value {:.6e}; states stored {}; memory {:.1} MB; passes {} \
                 (divide and conquer: {})",
                e.value,
                e.stats.states_stored,
                (e.stats.backtrack_bytes + e.stats.working_bytes) as f64 / 1e6,
                e.stats.passes,
                e.stats.divide_and_conquer
            );
            g.bench_function(format!("dp_exact_noise{noise}"), |b| {
                b.iter(|| dp::solve(&exact).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, allocation);
criterion_main!(benches);
