//! The alternating loop: spectral start, then V ← argmin, U ← argmin per sweep, with
//! train (and test) RMSE after every sweep in the trace.

use super::omega::Omega;
use super::regression::{half_step, mix, RowSolver};
use super::spectral::spectral_init;
use crate::error::{Result, SolverError};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// CG iterations per row and half-step of the default alternating minimisation: a
/// constant, so a sweep costs O(|Ω|k) whatever the rank.
pub const ALTMIN_CG_ITERS: usize = 3;

/// Rows with at least this many times k² observations are sketch-preconditioned by
/// default ("n_i ≫ k²").
pub const SKETCH_ABOVE_K2: usize = 8;

/// Settings of a completion run.
#[derive(Clone, Copy, Debug)]
pub struct CompletionConfig {
    /// Rank k.
    pub rank: usize,
    /// Ridge λ (scaled by the row's observation count, as in ALS-WR).
    pub reg: f64,
    /// Per-row solver: exact (ALS) or CG (alternating minimisation).
    pub solver: RowSolver,
    /// Most sweeps (one sweep = a U and a V half-step).
    pub sweeps: usize,
    /// Stop when a sweep lowers the train RMSE by less than this fraction (0: never).
    pub tol: f64,
    /// Incoherence clipping constant μ of the spectral start.
    pub mu: f64,
    /// Seed of the randomized SVD (and of the sample split).
    pub seed: u64,
    /// Theory mode (Jain et al.; Gu et al.): split Ω at random into 2·sweeps + 2 disjoint
    /// parts and give the spectral start and every half-step a fresh one. Each step then
    /// sees |Ω|/(2·sweeps + 2) entries; the practical mode (false) uses all of Ω every time.
    pub sample_splitting: bool,
}

impl CompletionConfig {
    /// Alternating minimisation with CG rows (each row's residual reduced 100x per
    /// half-step, at most [`ALTMIN_CG_ITERS`] iterations: warm starts carry the rest to
    /// the next sweep), 20 sweeps.
    pub fn altmin(rank: usize) -> Self {
        Self {
            rank,
            reg: 0.0,
            solver: RowSolver::Cg {
                reduction: 1e-2,
                max_iters: ALTMIN_CG_ITERS,
                sketch_above: SKETCH_ABOVE_K2 * rank * rank,
            },
            sweeps: 20,
            tol: 0.0,
            mu: 1.0,
            seed: 0,
            sample_splitting: false,
        }
    }
    /// Exact ALS, 20 sweeps.
    pub fn als(rank: usize) -> Self {
        Self {
            solver: RowSolver::Exact,
            ..Self::altmin(rank)
        }
    }
}

/// U (m × k) and V (n × k), row-major: X = U Vᵀ.
#[derive(Clone, Debug)]
pub struct Factors {
    /// Rank.
    pub k: usize,
    /// Row factors.
    pub u: Vec<f64>,
    /// Column factors.
    pub v: Vec<f64>,
}

impl Factors {
    /// The model's value at (i, j).
    pub fn predict(&self, i: usize, j: usize) -> f64 {
        let k = self.k;
        self.u[i * k..(i + 1) * k]
            .iter()
            .zip(&self.v[j * k..(j + 1) * k])
            .map(|(a, b)| a * b)
            .sum()
    }
    /// Root mean square error over `(i, j, value)` entries.
    pub fn rmse(&self, entries: &[(u32, u32, f64)]) -> f64 {
        if entries.is_empty() {
            return 0.0;
        }
        let s: f64 = entries
            .par_iter()
            .map(|&(i, j, v)| (self.predict(i as usize, j as usize) - v).powi(2))
            .sum();
        (s / entries.len() as f64).sqrt()
    }
}

/// One line of the trace.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRecord {
    /// Sweep number (0: after the spectral start and the first V step).
    pub sweep: usize,
    /// RMSE on the observed (training) entries.
    pub train_rmse: f64,
    /// RMSE on the test entries, when given.
    pub test_rmse: Option<f64>,
    /// Seconds of this sweep's two half-steps (scoring excluded).
    pub sweep_s: f64,
    /// Seconds since the start, up to the end of this sweep's half-steps.
    pub total_s: f64,
    /// Mean CG iterations per row over the sweep's half-steps (0 for exact).
    pub cg_iterations_per_row: f64,
}

fn entries_of(omega: &Omega) -> Vec<(u32, u32, f64)> {
    let rows = omega.by_rows();
    let mut out = Vec::with_capacity(omega.len());
    for i in 0..rows.len() {
        for p in rows.ptr[i]..rows.ptr[i + 1] {
            out.push((i as u32, rows.idx[p], rows.val[p]));
        }
    }
    out
}

/// Runs the alternating loop on `omega`, reporting each sweep to `on_sweep`; `test`
/// entries (indices within the same m × n) are only scored.
pub fn complete(
    omega: &Omega,
    test: &[(u32, u32, f64)],
    cfg: &CompletionConfig,
    on_sweep: &mut dyn FnMut(&SweepRecord),
) -> Result<(Factors, Vec<SweepRecord>)> {
    let (m, n, k) = (omega.nrows(), omega.ncols(), cfg.rank);
    if k == 0 || k > m.min(n) {
        return Err(SolverError::setting(
            "rank",
            k,
            format!("the rank must be between 1 and min(m, n) = {}", m.min(n)),
        ));
    }
    if omega.is_empty() {
        return Err(SolverError::setting("train", 0, "no observed entries"));
    }
    if !(cfg.reg >= 0.0 && cfg.reg.is_finite()) {
        return Err(SolverError::setting(
            "reg",
            cfg.reg,
            "the regularisation must be ≥ 0",
        ));
    }
    if let RowSolver::Cg {
        reduction, max_iters, ..
    } = cfg.solver
    {
        if !(reduction > 0.0 && reduction < 1.0) || max_iters == 0 {
            return Err(SolverError::setting(
                "cg",
                format!("{reduction}, {max_iters}"),
                "CG rows need 0 < reduction < 1 and at least one iteration",
            ));
        }
    }
    let train = entries_of(omega);
    let start = Instant::now();
    // the set each step sees: all of Ω, or (sample splitting) part s of 2·sweeps + 2
    let parts: Vec<Omega> = if cfg.sample_splitting {
        let count = 2 * cfg.sweeps + 2;
        let mut buckets: Vec<Vec<(u32, u32, f64)>> = vec![Vec::new(); count];
        for (t, &e) in train.iter().enumerate() {
            buckets[(mix(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ t as u64) % count as u64) as usize]
                .push(e);
        }
        buckets.iter().map(|b| Omega::new(m, n, b)).collect()
    } else {
        Vec::new()
    };
    let part = |s: usize| parts.get(s).unwrap_or(omega);
    let mut f = Factors {
        k,
        u: spectral_init(part(0), k, cfg.mu, cfg.seed),
        v: vec![0.0; n * k],
    };
    let mut trace = Vec::new();
    let mut t = Instant::now();
    let mut its =
        half_step(part(1).by_cols(), &f.u, &mut f.v, k, cfg.reg, cfg.solver).cg_iterations as f64 / n as f64;
    for sweep in 0..=cfg.sweeps {
        if sweep > 0 {
            t = Instant::now();
            let a = half_step(part(2 * sweep).by_rows(), &f.v, &mut f.u, k, cfg.reg, cfg.solver);
            let b = half_step(
                part(2 * sweep + 1).by_cols(),
                &f.u,
                &mut f.v,
                k,
                cfg.reg,
                cfg.solver,
            );
            its = (a.cg_iterations + b.cg_iterations) as f64 / (m + n) as f64;
        }
        // the sweep's time is the half-steps'; scoring is reported apart
        let sweep_s = t.elapsed().as_secs_f64();
        let total_s = start.elapsed().as_secs_f64();
        let rec = SweepRecord {
            sweep,
            train_rmse: f.rmse(&train),
            test_rmse: (!test.is_empty()).then(|| f.rmse(test)),
            sweep_s,
            total_s,
            cg_iterations_per_row: its,
        };
        on_sweep(&rec);
        let prev = trace.last().map(|r: &SweepRecord| r.train_rmse);
        let now = rec.train_rmse;
        trace.push(rec);
        if let Some(p) = prev {
            if cfg.tol > 0.0 && p - now < cfg.tol * p {
                break;
            }
        }
    }
    Ok((f, trace))
}
