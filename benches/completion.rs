//! The nearly-linear claim, measured: seconds per sweep of alternating minimisation (CG
//! rows) and exact ALS (Cholesky rows) at ranks 16, 32, 64 on the same data, side by side
//! in one run, then the time each needs at rank 64 to reach ALS's test RMSE.
//!
//! `cargo bench --bench completion -- [M N OBSERVED SWEEPS]` (default 5000 5000 2000000 2):
//! a synthetic rank-64 matrix with noise 0.1, 10% of the observed entries held out.
//! `cargo bench --bench completion -- M N OBSERVED SWEEPS scale`: only altmin at rank 10
//! (time per sweep and memory per observed entry at scale, e.g. 10⁸ entries).

use solvent::problems::completion::{synthetic, SyntheticConfig};
use solvent::solvers::completion::{complete, CompletionConfig, Omega};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (m, n, obs, sweeps) = match args[..] {
        [m, n, o, s, ..] => (m, n, o, s),
        _ => (5_000, 5_000, 2_000_000, 2),
    };
    if std::env::args().any(|a| a == "scale") {
        return scale(m, n, obs, sweeps);
    }
    let p = (obs as f64 / 0.9) / (m as f64 * n as f64);
    let (all, _, _) = synthetic(&SyntheticConfig {
        m,
        n,
        rank: 64,
        p: p.min(1.0),
        noise: 0.1,
        seed: 1,
    })
    .unwrap();
    let (train, test) = all.split(0.1, 2).unwrap();
    let omega = Omega::new(m, n, &train.entries);
    println!(
        "{m} × {n}, |Ω| = {} ({:.1} bytes per entry), {} held out, {sweeps} sweeps per run",
        omega.len(),
        omega.bytes_per_entry(),
        test.len()
    );
    println!("| rank | altmin s/sweep | ALS s/sweep | altmin CG its/row | ALS / altmin |");
    println!("|---|---|---|---|---|");
    let mut per = Vec::new();
    for k in [16usize, 32, 64] {
        let run = |mut c: CompletionConfig| {
            c.sweeps = sweeps;
            c.reg = 0.01;
            let (_, trace) = complete(&omega, &[], &c, &mut |_| {}).unwrap();
            let s: f64 = trace[1..].iter().map(|r| r.sweep_s).sum::<f64>() / sweeps as f64;
            (s, trace.last().unwrap().cg_iterations_per_row)
        };
        let (a, its) = run(CompletionConfig::altmin(k));
        let (e, _) = run(CompletionConfig::als(k));
        println!("| {k} | {a:.3} | {e:.3} | {its:.1} | {:.2}x |", e / a);
        per.push((a, e));
    }
    println!(
        "rank 16 → 64: altmin {:.2}x slower per sweep, ALS {:.2}x",
        per[2].0 / per[0].0,
        per[2].1 / per[0].1
    );
    // time to ALS's test RMSE at rank 64
    let target_run = |c: CompletionConfig| {
        let mut c = c;
        c.sweeps = 30;
        c.reg = 0.01;
        c.tol = 1e-4;
        complete(&omega, &test.entries, &c, &mut |_| {}).unwrap().1
    };
    let als = target_run(CompletionConfig::als(64));
    let target = als
        .iter()
        .map(|r| r.test_rmse.unwrap())
        .fold(f64::INFINITY, f64::min);
    let als_t = als
        .iter()
        .find(|r| r.test_rmse.unwrap() <= target * 1.001)
        .unwrap()
        .total_s;
    let alt = target_run(CompletionConfig::altmin(64));
    let hit = alt.iter().find(|r| r.test_rmse.unwrap() <= target * 1.001);
    match hit {
        Some(r) => println!(
            "rank 64 to ALS's best test RMSE {target:.4} (+0.1%): ALS {als_t:.2} s, altmin {:.2} s (sweep {}) → {:.2}x",
            r.total_s,
            r.sweep,
            als_t / r.total_s
        ),
        None => println!(
            "rank 64: altmin did not reach ALS's best test RMSE {target:.4} within 30 sweeps (best {:.4})",
            alt.iter().map(|r| r.test_rmse.unwrap()).fold(f64::INFINITY, f64::min)
        ),
    }
}

/// Alternating minimisation at rank 10 on a large synthetic problem: sweeps timed, memory
/// per observed entry stated (Ω by rows and columns; the generator's entry list is freed
/// before the sweeps).
fn scale(m: usize, n: usize, obs: usize, sweeps: usize) {
    let t = std::time::Instant::now();
    let p = obs as f64 / (m as f64 * n as f64);
    let (r, _, _) = synthetic(&SyntheticConfig {
        m,
        n,
        rank: 10,
        p: p.min(1.0),
        noise: 0.1,
        seed: 1,
    })
    .unwrap();
    let omega = Omega::new(m, n, &r.entries);
    drop(r);
    println!(
        "{m} × {n}, |Ω| = {} generated and stored in {:.1} s; Ω holds {:.1} bytes per observed entry, factors {} MB",
        omega.len(),
        t.elapsed().as_secs_f64(),
        omega.bytes_per_entry(),
        (m + n) * 10 * 8 / 1_000_000
    );
    let mut c = CompletionConfig::altmin(10);
    c.sweeps = sweeps;
    c.reg = 0.01;
    complete(&omega, &[], &c, &mut |r| {
        println!(
            "sweep {}: {:.2} s (train RMSE {:.4}, {:.1} CG iterations per row)",
            r.sweep, r.sweep_s, r.train_rmse, r.cg_iterations_per_row
        )
    })
    .unwrap();
}
