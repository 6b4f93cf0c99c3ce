//! Completion against planted low-rank matrices and between the two row solvers.

use super::*;
use crate::{run, Options, Status, TraceSchedule};
use faer::linalg::solvers::Solve;
use solvent_problems::completion::{synthetic, SyntheticConfig};

/// One sweep's trace line: train RMSE, test RMSE, CG iterations per row.
struct Line {
    train: f64,
    test: f64,
    cg: f64,
}

/// Runs `cfg` for exactly `sweeps` sweeps (no early stop), measuring every sweep.
fn fit(problem: &CompletionProblem, cfg: CompletionConfig, sweeps: usize) -> (Factors, Vec<Line>) {
    let options = Options::default()
        .tol(f64::MIN_POSITIVE)
        .max_iters(sweeps)
        .trace(TraceSchedule::Every(1));
    let out = run(problem, &mut Completion::new(cfg), &options).unwrap();
    let lines = out
        .report
        .trace
        .iter()
        .map(|t| Line {
            train: t.metrics.extra["train_rmse"],
            test: t.metrics.extra.get("test_rmse").copied().unwrap_or(f64::NAN),
            cg: t.metrics.extra["cg_iterations_per_row"],
        })
        .collect();
    (out.state.factors, lines)
}

fn problem(m: usize, n: usize, train: &[(u32, u32, f64)], test: &[(u32, u32, f64)]) -> CompletionProblem {
    CompletionProblem {
        omega: Omega::new(m, n, train),
        test: test.to_vec(),
    }
}

fn rel_error(f: &Factors, entries: &[(u32, u32, f64)]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for &(i, j, v) in entries {
        num += (f.predict(i as usize, j as usize) - v).powi(2);
        den += v * v;
    }
    (num / den).sqrt()
}

#[test]
fn altmin_recovers_a_planted_rank_5_matrix_to_1e6_on_held_out_entries() {
    // 2000 × 2000, rank 5, |Ω| ≈ 10·k·(m+n) = 2·10⁵ noiseless training samples
    let (m, n, k) = (2000, 2000, 5);
    let cfg = SyntheticConfig {
        m,
        n,
        rank: k,
        p: 0.055,
        noise: 0.0,
        seed: 1,
    };
    let (all, _, _) = synthetic(&cfg).unwrap();
    let (train, test) = all.split(0.09, 2).unwrap();
    assert!((train.len() as f64 - 2e5).abs() < 1e4, "|Ω| = {}", train.len());
    let p = problem(m, n, &train.entries, &test.entries);
    let (f, trace) = fit(&p, CompletionConfig::altmin(k), 60);
    let err = rel_error(&f, &test.entries);
    eprintln!(
        "held-out relative error {err:.2e} after {} sweeps",
        trace.len() - 1
    );
    assert!(err <= 1e-6, "held-out relative error {err:.2e}");
    // the CG rows did the work in O(k) iterations each
    let its = trace.iter().map(|r| r.cg).fold(0.0, f64::max);
    assert!(its > 0.0 && its <= solver::ALTMIN_CG_ITERS as f64, "{its}");
}

#[test]
fn als_and_altmin_reach_the_same_fit_on_noisy_data() {
    let (m, n, k) = (300, 200, 4);
    let cfg = SyntheticConfig {
        m,
        n,
        rank: k,
        p: 0.3,
        noise: 0.1,
        seed: 5,
    };
    let (all, _, _) = synthetic(&cfg).unwrap();
    let (train, test) = all.split(0.2, 6).unwrap();
    let p = problem(m, n, &train.entries, &test.entries);
    let mut a = CompletionConfig::als(k);
    a.reg = 0.01;
    let mut b = CompletionConfig::altmin(k);
    b.reg = 0.01;
    let (fa, ta) = fit(&p, a, 40);
    let (fb, tb) = fit(&p, b, 40);
    let (ra, rb) = (fa.rmse(&test.entries), fb.rmse(&test.entries));
    // both near the noise level, and within 1% of each other
    assert!(ra < 0.15 && rb < 0.15, "test RMSE als {ra}, altmin {rb}");
    assert!((ra - rb).abs() <= 0.01 * ra, "als {ra} vs altmin {rb}");
    assert_eq!(ta.last().unwrap().cg, 0.0);
    assert!(tb.last().unwrap().cg > 0.0);
    // the trace's test RMSE is the factors' own
    assert_eq!(ta.last().unwrap().test, ra);
    // the train RMSE never rises along ALS (each half-step is an exact minimisation)
    for w in ta.windows(2) {
        assert!(
            w[1].train <= w[0].train * (1.0 + 1e-9),
            "{:?}",
            (w[0].train, w[1].train)
        );
    }
}

#[test]
fn exact_rows_match_a_dense_least_squares_solve() {
    // one half-step of ALS equals the normal equations solved densely, row by row: short
    // rows, rows of ~420 observations at a rank off the 4 × 8 tiles (the Gram matrix
    // built from two gathered chunks), and a rank factorised by faer's Cholesky
    const { assert!(super::kernels::GRAM_CHUNK < 400) };
    for (m, n, k) in [(30, 20, 3), (12, 700, 11), (6, 300, 70)] {
        exact_rows_match_dense(m, n, k);
    }
}

fn exact_rows_match_dense(m: usize, n: usize, k: usize) {
    // the data's own rank does not matter here (the fixed factor is made up below)
    let (r, _, _) = synthetic(&SyntheticConfig {
        m,
        n,
        rank: k.min(m),
        p: 0.6,
        noise: 0.05,
        seed: 9,
    })
    .unwrap();
    let omega = Omega::new(m, n, &r.entries);
    let v: Vec<f64> = (0..n * k)
        .map(|t| ((t * 7919) % 13) as f64 / 13.0 - 0.4)
        .collect();
    let mut u = vec![0.0; m * k];
    let lambda = 0.1;
    regression::half_step(omega.by_rows(), &v, &mut u, k, lambda, RowSolver::Exact);
    let mut u_cg = vec![0.0; m * k];
    regression::half_step(
        omega.by_rows(),
        &v,
        &mut u_cg,
        k,
        lambda,
        RowSolver::Cg {
            reduction: 1e-12,
            max_iters: 50,
            sketch_above: 0,
        },
    );
    let rows = omega.by_rows();
    for i in 0..m {
        let idx = &rows.idx[rows.ptr[i]..rows.ptr[i + 1]];
        let val = &rows.val[rows.ptr[i]..rows.ptr[i + 1]];
        let a = faer::Mat::<f64>::from_fn(idx.len(), k, |r, c| v[idx[r] as usize * k + c]);
        let mut g = a.transpose() * &a;
        for c in 0..k {
            g[(c, c)] += lambda * idx.len() as f64;
        }
        let bvec = faer::Mat::<f64>::from_fn(idx.len(), 1, |r, _| val[r]);
        let rhs = a.transpose() * &bvec;
        let x = g.partial_piv_lu().solve(&rhs);
        let mut scattered = vec![0.0; k];
        let ridge = lambda * idx.len() as f64;
        regression::cg_row(idx, val, &v, k, ridge, 1e-12, 50, &mut scattered);
        for c in 0..k {
            assert!(
                (u[i * k + c] - x[(c, 0)]).abs() <= 1e-10 * (1.0 + x[(c, 0)].abs()),
                "row {i}"
            );
            assert!(
                (u_cg[i * k + c] - x[(c, 0)]).abs() <= 1e-8 * (1.0 + x[(c, 0)].abs()),
                "CG row {i}"
            );
            // CG on the rows read where they lie (the path of rows too heavy to gather)
            assert!(
                (scattered[c] - x[(c, 0)]).abs() <= 1e-8 * (1.0 + x[(c, 0)].abs()),
                "scattered CG row {i}"
            );
        }
    }
}

#[test]
fn a_row_too_heavy_to_gather_is_solved_in_place_by_the_half_step() {
    // one row observing all of 17000 columns at rank 64: 1.09e6 gathered doubles would be
    // over the cap, so the half-step's CG reads the factor rows where they lie
    let (n, k) = (17_000usize, 64usize);
    assert!(!super::kernels::gathers(n, k) && super::kernels::gathers(n, 8));
    let entries: Vec<(u32, u32, f64)> = (0..n)
        .map(|j| (0, j as u32, ((j * 37) % 11) as f64 - 5.0))
        .collect();
    let omega = Omega::new(1, n, &entries);
    let v: Vec<f64> = (0..n * k)
        .map(|t| ((t * 7919 + 3) % 101) as f64 / 50.0 - 1.0)
        .collect();
    let lambda = 0.01;
    let mut u = vec![0.0; k];
    let cg = RowSolver::Cg {
        reduction: 1e-12,
        max_iters: 300,
        sketch_above: 0,
    };
    regression::half_step(omega.by_rows(), &v, &mut u, k, lambda, cg);
    let a = faer::Mat::<f64>::from_fn(n, k, |r, c| v[r * k + c]);
    let mut g = a.transpose() * &a;
    for c in 0..k {
        g[(c, c)] += lambda * n as f64;
    }
    let b = faer::Mat::<f64>::from_fn(n, 1, |r, _| entries[r].2);
    let x = g.partial_piv_lu().solve(&(a.transpose() * &b));
    for c in 0..k {
        assert!(
            (u[c] - x[(c, 0)]).abs() <= 1e-8 * (1.0 + x[(c, 0)].abs()),
            "x[{c}]"
        );
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    let p = problem(3, 4, &[(0, 0, 1.0), (1, 2, 2.0)], &[]);
    let go =
        |p: &CompletionProblem, c: CompletionConfig| run(p, &mut Completion::new(c), &Options::default());
    for k in [0, 4] {
        let e = go(&p, CompletionConfig::altmin(k)).unwrap_err().to_string();
        assert!(e.contains("rank") && e.contains("min(m, n) = 3"), "rank {k}: {e}");
    }
    let mut c = CompletionConfig::altmin(2);
    c.reg = f64::NAN;
    assert!(go(&p, c).unwrap_err().to_string().contains("reg"));
    assert!(go(&problem(3, 4, &[], &[]), CompletionConfig::als(1)).is_err());
    // a test entry outside the training matrix
    let e = go(
        &problem(3, 4, &[(0, 0, 1.0)], &[(3, 0, 1.0)]),
        CompletionConfig::als(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("(3, 0)"), "{e}");
}

/// One row with `ni` observations of a factor (`ni × k`) whose columns span seven orders
/// of magnitude: the factor, the observed columns `0..ni` and their values.
/// Euclidean distance between two row solutions.
fn distance(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt()
}

fn ill_conditioned_row(ni: usize, k: usize) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
    let f: Vec<f64> = (0..ni * k)
        .map(|t| {
            let (r, c) = (t / k, t % k);
            let u = (((r * 7 + c * 13) * 2654435761usize) % 1000) as f64 / 1000.0 - 0.5;
            u * 10f64.powf(c as f64)
        })
        .collect();
    let idx: Vec<u32> = (0..ni as u32).collect();
    let val: Vec<f64> = (0..ni).map(|r| ((r * 31 % 17) as f64) - 8.0).collect();
    (f, idx, val)
}

#[test]
fn sketch_preconditioning_makes_ill_conditioned_rows_converge_in_few_iterations() {
    // one row with n_i = 4000 ≫ k² = 64 observations of a factor whose columns span
    // seven orders of magnitude
    let (k, ni) = (8, 4000);
    let (f, idx, val) = ill_conditioned_row(ni, k);
    let ridge = 1e-3;
    let solve = |sketch: bool, reduction: f64, max_iters: usize| {
        let mut x = vec![0.0; k];
        let its = if sketch {
            regression::sketch_cg_row(&idx, &val, &f, k, ridge, reduction, max_iters, 7, &mut x)
        } else {
            regression::cg_row(&idx, &val, &f, k, ridge, reduction, max_iters, &mut x)
        };
        (x, its)
    };
    let (exact, _) = solve(false, 1e-14, 1000);
    let (xs, its_s) = solve(true, 1e-10, 200);
    let (_, its_p) = solve(false, 1e-10, 200);
    let err = xs
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let scale = exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(err <= 1e-6 * scale, "sketched solution off by {err:.2e}");
    assert!(its_s * 2 <= its_p, "sketch {its_s} vs plain {its_p} iterations");
    // at altmin's budget (3 iterations from zero) the sketched row is far closer to the answer
    let dist = |x: &[f64]| distance(x, &exact);
    let (x3s, _) = solve(true, 1e-30, 3);
    let (x3p, _) = solve(false, 1e-30, 3);
    let (es, ep) = (dist(&x3s), dist(&x3p));
    assert!(
        es * 10.0 <= ep,
        "error after 3 iterations: sketched {es:.2e}, plain {ep:.2e}"
    );
    eprintln!("iterations to 1e-10: sketched {its_s}, plain {its_p}; error after 3: {es:.2e} vs {ep:.2e}");
}

#[test]
fn sample_splitting_recovers_with_a_fresh_part_per_half_step() {
    // 400 × 400 rank 3 densely sampled: 2·8 + 2 = 18 disjoint parts of ≈ 6,400 entries each
    let (m, n, k) = (400, 400, 3);
    let (all, _, _) = synthetic(&SyntheticConfig {
        m,
        n,
        rank: k,
        p: 0.8,
        noise: 0.0,
        seed: 11,
    })
    .unwrap();
    let (train, test) = all.split(0.1, 12).unwrap();
    let p = problem(m, n, &train.entries, &test.entries);
    let mut c = CompletionConfig::als(k);
    c.sample_splitting = Some(8);
    let (f, trace) = fit(&p, c, 8);
    let err = rel_error(&f, &test.entries);
    eprintln!("sample splitting: held-out relative error {err:.2e}");
    assert!(
        err <= 1e-3,
        "held-out relative error {err:.2e} with sample splitting"
    );
    // the error falls sweep after sweep although every half-step sees only 1/18 of Ω
    let first = trace[1].test;
    let last = trace.last().unwrap().test;
    assert!(last < 1e-2 * first, "{first:.2e} → {last:.2e}");
}

#[test]
fn the_run_loop_stops_when_a_sweep_barely_lowers_the_training_rmse() {
    // noisy data: the training RMSE levels off at the noise; with tol 1e-3 the run stops
    // at the first sweep whose relative decrease (measured from scratch) is below it
    let (m, n, k) = (200, 150, 3);
    let (all, _, _) = synthetic(&SyntheticConfig {
        m,
        n,
        rank: k,
        p: 0.3,
        noise: 0.1,
        seed: 21,
    })
    .unwrap();
    let p = problem(m, n, &all.entries, &[]);
    let (_, full) = fit(&p, CompletionConfig::als(k), 30);
    let first_small = (1..full.len())
        .find(|&s| (full[s - 1].train - full[s].train) / full[s - 1].train <= 1e-3)
        .expect("the decrease falls below 1e-3 within 30 sweeps");
    let options = Options::default()
        .tol(1e-3)
        .max_iters(30)
        .trace(TraceSchedule::Every(1));
    let out = run(&p, &mut Completion::new(CompletionConfig::als(k)), &options).unwrap();
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
    assert_eq!(out.report.iterations, first_small);
    let rmse = out.state.factors.rmse_on(&p.omega);
    assert_eq!(out.report.metrics.objective, Some(rmse));
    assert!((rmse - full[first_small].train).abs() <= 1e-12 * rmse);
    // an interrupted run still hands back its factors
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let out = run(
        &p,
        &mut Completion::new(CompletionConfig::altmin(k)),
        &Options::default().interrupt(flag),
    )
    .unwrap();
    assert_eq!(out.report.status, Status::Interrupted);
    assert_eq!(out.state.factors.u.len(), m * k);
}

#[test]
fn heavy_rows_that_plain_cg_cannot_finish_fall_back_to_the_sketch() {
    // one row with 4000 observations of an ill-conditioned factor (columns spanning 10⁷)
    // and one well-conditioned heavy row: at 3 CG iterations the first needs the sketch,
    // the second reaches the reduction with plain CG and is left alone
    let (k, ni) = (8, 4000);
    let (f, idx, val) = ill_conditioned_row(ni, k);
    let entries: Vec<(u32, u32, f64)> = idx.iter().zip(&val).map(|(&j, &v)| (0, j, v)).collect();
    let omega = Omega::new(1, ni, &entries);
    let ridge_per_obs = 1e-3 / ni as f64;
    // one half-step of the single row with factor `f`, 3 CG iterations at most
    let row = |f: &[f64], reduction: f64, sketch_above: usize| {
        let mut u = vec![0.0; k];
        let stats = regression::half_step(
            omega.by_rows(),
            f,
            &mut u,
            k,
            ridge_per_obs,
            RowSolver::Cg {
                reduction,
                max_iters: 3,
                sketch_above,
            },
        );
        (u, stats.cg_iterations)
    };
    let mut exact = vec![0.0; k];
    regression::cg_row(&idx, &val, &f, k, 1e-3, 1e-14, 1000, &mut exact);
    let dist = |x: &[f64]| distance(x, &exact);
    let ((plain, its_plain), (fallback, its_fb)) = (row(&f, 1e-10, 0), row(&f, 1e-10, 64));
    assert_eq!(its_plain, 3);
    assert!(its_fb > 3, "the fallback ran: {its_fb} iterations");
    assert!(
        dist(&fallback) * 10.0 <= dist(&plain),
        "with fallback {:.2e}, plain {:.2e}",
        dist(&fallback),
        dist(&plain)
    );
    // a well-conditioned heavy row: plain CG finishes, no sketch iterations are added
    let g: Vec<f64> = (0..ni * k)
        .map(|t| (regression::mix(t as u64) % 1000) as f64 / 1000.0 - 0.5)
        .collect();
    let (_, its) = row(&g, 1e-2, 64);
    assert!(its <= 3, "{its}");
}
