//! Completion on the shared contract: [`Completion`] is a [`Solver`] whose step is one
//! sweep (a U and a V half-step) after a spectral start; [`Solver::metrics`] measures
//! train (and test) RMSE from scratch, so the run loop's trace holds both after every
//! sweep, timed apart from the sweeps.

use super::omega::Omega;
use super::regression::{half_step, mix, RowSolver};
use super::spectral::spectral_init;
use crate::error::{Result, SolverError};
use crate::metrics::{Criterion, Metrics};
use crate::solver::{Solver, Step};
use rayon::prelude::*;
use std::cell::Cell;

/// CG iterations per row and half-step of the default alternating minimisation: a
/// constant, so a sweep costs O(|Ω|k) whatever the rank.
pub const ALTMIN_CG_ITERS: usize = 3;

/// Rows with at least this many times k² observations ("n_i ≫ k²") that plain CG leaves
/// short of the reduction are finished by sketch-preconditioned CG.
pub const SKETCH_ABOVE_K2: usize = 8;

/// Entries per partial sum of a test RMSE and rows per partial sum of a train RMSE: the
/// sums are taken in fixed blocks, in order, so an RMSE is the same to the bit on every
/// run and thread count.
const RMSE_CHUNK: usize = 4096;
pub(crate) const RMSE_ROWS: usize = 64;

/// The observed training entries and, optionally, test entries that are only scored
/// (indices within the same m × n).
#[derive(Clone, Debug)]
pub struct CompletionProblem {
    /// Training entries, by rows and by columns.
    pub omega: Omega,
    /// Held-out `(row, column, value)` entries scored after every sweep.
    pub test: Vec<(u32, u32, f64)>,
}

/// Settings of a completion run (the sweep limit, tolerance and time limit are the run
/// loop's [`crate::Options`]).
#[derive(Clone, Copy, Debug)]
pub struct CompletionConfig {
    /// Rank k.
    pub rank: usize,
    /// Ridge λ (scaled by the row's observation count, as in ALS-WR).
    pub reg: f64,
    /// Per-row solver: exact (ALS) or CG (alternating minimisation).
    pub solver: RowSolver,
    /// Incoherence clipping constant μ of the spectral start.
    pub mu: f64,
    /// Seed of the randomized SVD (and of the sample split).
    pub seed: u64,
    /// Theory mode (Jain et al.; Gu et al.) for `Some(T)` sweeps: split Ω at random into
    /// 2T + 2 disjoint parts and give the spectral start and every half-step a fresh
    /// one; the run finishes when the parts run out. `None` (practical mode) uses all of
    /// Ω every time.
    pub sample_splitting: Option<usize>,
}

impl CompletionConfig {
    /// Alternating minimisation with CG rows (each row's residual reduced 100x per
    /// half-step, at most [`ALTMIN_CG_ITERS`] iterations: warm starts carry the rest to
    /// the next sweep).
    pub fn altmin(rank: usize) -> Self {
        Self {
            rank,
            reg: 0.0,
            solver: RowSolver::Cg {
                reduction: 1e-2,
                max_iters: ALTMIN_CG_ITERS,
                sketch_above: SKETCH_ABOVE_K2 * rank * rank,
            },
            mu: 1.0,
            seed: 0,
            sample_splitting: None,
        }
    }
    /// Exact ALS.
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
        // fixed chunks summed in order: the same bits on every run (a rayon sum's
        // association depends on how the work was stolen)
        let parts: Vec<f64> = entries
            .par_chunks(RMSE_CHUNK)
            .map(|c| {
                c.iter()
                    .map(|&(i, j, v)| (self.predict(i as usize, j as usize) - v).powi(2))
                    .sum()
            })
            .collect();
        (parts.iter().sum::<f64>() / entries.len() as f64).sqrt()
    }
    /// Root mean square error over Ω, streamed by rows (no copy of the entries).
    pub fn rmse_on(&self, omega: &Omega) -> f64 {
        if omega.is_empty() {
            return 0.0;
        }
        let rows = omega.by_rows();
        let parts: Vec<f64> = (0..rows.len().div_ceil(RMSE_ROWS))
            .into_par_iter()
            .map(|b| {
                (b * RMSE_ROWS..((b + 1) * RMSE_ROWS).min(rows.len()))
                    .flat_map(|i| (rows.ptr[i]..rows.ptr[i + 1]).map(move |p| (i, p)))
                    .map(|(i, p)| (self.predict(i, rows.idx[p] as usize) - rows.val[p]).powi(2))
                    .sum()
            })
            .collect();
        let s: f64 = parts.iter().sum();
        (s / omega.len() as f64).sqrt()
    }
}

/// The latest two (sweep, train RMSE) measurements of a run, older first.
pub(crate) type Measured = Cell<[Option<(usize, f64)>; 2]>;

/// The metrics of a sweep from its training RMSE: the relative decrease per sweep since
/// the previous measurement (1 at the start; a measurement repeated for the same sweep
/// compares with the one before), the RMSE as the objective, and the extras every
/// completion trace carries (train RMSE, sweep, CG iterations per row).
pub(crate) fn sweep_metrics(measured: &Measured, sweep: usize, rmse: f64, cg_per_row: f64) -> Metrics {
    let [older, newer] = measured.get();
    let reference = match newer {
        Some((sw, _)) if sw == sweep => older,
        _ => {
            measured.set([newer, Some((sweep, rmse))]);
            newer
        }
    };
    let value = match reference {
        Some((sw, r)) if sw < sweep && r > 0.0 => (r - rmse).max(0.0) / r / (sweep - sw) as f64,
        Some(_) => 0.0,
        None => 1.0,
    };
    Metrics::new(Criterion::RelativeChange, value)
        .with_objective(rmse)
        .with_extra("train_rmse", rmse)
        .with_extra("sweep", sweep as f64)
        .with_extra("cg_iterations_per_row", cg_per_row)
}

/// The alternating minimisation solver: exact ALS or CG rows, per its
/// [`CompletionConfig`].
#[derive(Clone, Debug)]
pub struct Completion {
    /// Settings.
    pub config: CompletionConfig,
}

impl Completion {
    /// A solver with these settings (checked in [`Solver::init`]).
    pub fn new(config: CompletionConfig) -> Self {
        Self { config }
    }
}

/// The factors and the sweep count of a run.
#[derive(Debug)]
pub struct CompletionState {
    /// The current model.
    pub factors: Factors,
    /// Sweeps done (0: the spectral start and the first V half-step).
    pub sweep: usize,
    /// Mean CG iterations per row over the last sweep's half-steps (0 for exact rows).
    pub cg_iterations_per_row: f64,
    parts: Vec<Omega>,
    /// The two latest (sweep, train RMSE) measurements, older first: the convergence
    /// measure compares the current RMSE with the previous sweep's.
    measured: Measured,
}

impl Completion {
    fn check(&self, problem: &CompletionProblem) -> Result<()> {
        let omega = &problem.omega;
        let (m, n, k) = (omega.nrows(), omega.ncols(), self.config.rank);
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
        let reg = self.config.reg;
        if !(reg >= 0.0 && reg.is_finite()) {
            return Err(SolverError::setting("reg", reg, "the regularisation must be ≥ 0"));
        }
        if let RowSolver::Cg {
            reduction, max_iters, ..
        } = self.config.solver
        {
            if !(reduction > 0.0 && reduction < 1.0) || max_iters == 0 {
                return Err(SolverError::setting(
                    "cg",
                    format!("{reduction}, {max_iters}"),
                    "CG rows need 0 < reduction < 1 and at least one iteration",
                ));
            }
        }
        if self.config.sample_splitting == Some(0) {
            return Err(SolverError::setting(
                "sample_splitting",
                0,
                "sample splitting needs at least one sweep",
            ));
        }
        if let Some((i, j, _)) = problem
            .test
            .iter()
            .find(|&&(i, j, _)| i as usize >= m || j as usize >= n)
        {
            return Err(SolverError::setting(
                "test",
                format!("({i}, {j})"),
                format!("a test entry lies outside the {m} × {n} training matrix"),
            ));
        }
        Ok(())
    }
}

/// The part of Ω that step `s` sees: all of it, or part `s` of the sample split.
fn part<'a>(omega: &'a Omega, parts: &'a [Omega], s: usize) -> &'a Omega {
    parts.get(s).unwrap_or(omega)
}

impl Solver<CompletionProblem> for Completion {
    type State = CompletionState;

    fn name(&self) -> String {
        match self.config.solver {
            RowSolver::Exact => "als".into(),
            RowSolver::Cg { .. } => "altmin".into(),
        }
    }

    fn settings(&self) -> serde_json::Value {
        let c = &self.config;
        let mut v = serde_json::json!({
            "rank": c.rank, "reg": c.reg, "mu": c.mu, "seed": c.seed,
            "sample_splitting_sweeps": c.sample_splitting,
        });
        if let RowSolver::Cg {
            reduction,
            max_iters,
            sketch_above,
        } = c.solver
        {
            v["cg_reduction"] = reduction.into();
            v["cg_max_iters"] = max_iters.into();
            v["sketch_above"] = sketch_above.into();
        }
        v
    }

    /// Spectral start, then the first V half-step (sweep 0).
    fn init(&mut self, problem: &CompletionProblem) -> Result<CompletionState> {
        self.check(problem)?;
        let c = self.config;
        let omega = &problem.omega;
        let (m, n, k) = (omega.nrows(), omega.ncols(), c.rank);
        let parts: Vec<Omega> = match c.sample_splitting {
            Some(sweeps) => {
                let count = 2 * sweeps + 2;
                let mut buckets: Vec<Vec<(u32, u32, f64)>> = vec![Vec::new(); count];
                let rows = omega.by_rows();
                for i in 0..m {
                    for p in rows.ptr[i]..rows.ptr[i + 1] {
                        let h = mix(c.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ p as u64);
                        buckets[(h % count as u64) as usize].push((i as u32, rows.idx[p], rows.val[p]));
                    }
                }
                buckets.iter().map(|b| Omega::new(m, n, b)).collect()
            }
            None => Vec::new(),
        };
        let mut factors = Factors {
            k,
            u: spectral_init(part(omega, &parts, 0), k, c.mu, c.seed),
            v: vec![0.0; n * k],
        };
        let stats = half_step(
            part(omega, &parts, 1).by_cols(),
            &factors.u,
            &mut factors.v,
            k,
            c.reg,
            c.solver,
        );
        Ok(CompletionState {
            factors,
            sweep: 0,
            cg_iterations_per_row: stats.cg_iterations as f64 / n as f64,
            parts,
            measured: Cell::new([None, None]),
        })
    }

    /// One sweep: U from V, then V from U.
    fn step(&mut self, problem: &CompletionProblem, s: &mut CompletionState) -> Result<Step> {
        let c = self.config;
        let omega = &problem.omega;
        let t = s.sweep + 1;
        if !s.parts.is_empty() && 2 * t + 1 >= s.parts.len() {
            return Ok(Step::Finished);
        }
        let k = c.rank;
        let f = &mut s.factors;
        let a = half_step(
            part(omega, &s.parts, 2 * t).by_rows(),
            &f.v,
            &mut f.u,
            k,
            c.reg,
            c.solver,
        );
        let b = half_step(
            part(omega, &s.parts, 2 * t + 1).by_cols(),
            &f.u,
            &mut f.v,
            k,
            c.reg,
            c.solver,
        );
        s.sweep = t;
        s.cg_iterations_per_row =
            (a.cg_iterations + b.cg_iterations) as f64 / (omega.nrows() + omega.ncols()) as f64;
        if f.u.iter().chain(&f.v).any(|x| !x.is_finite()) {
            return Ok(Step::Breakdown(format!(
                "sweep {t}: the factors are no longer finite"
            )));
        }
        Ok(Step::Continue { estimate: None })
    }

    /// The relative decrease of the training RMSE per sweep since the previous
    /// measurement (1 at the start), with train RMSE as the objective and test RMSE,
    /// CG iterations per row and the sweep number as extras.
    fn metrics(&self, problem: &CompletionProblem, s: &CompletionState) -> Metrics {
        let rmse = s.factors.rmse_on(&problem.omega);
        let mut m = sweep_metrics(&s.measured, s.sweep, rmse, s.cg_iterations_per_row);
        if !problem.test.is_empty() {
            m = m.with_extra("test_rmse", s.factors.rmse(&problem.test));
        }
        m
    }
}
