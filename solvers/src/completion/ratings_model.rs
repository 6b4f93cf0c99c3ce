//! From ratings (string ids, values) to a completion problem and back: centring, the id
//! maps, the mapping of test entries onto the training indices, and predictions with the
//! documented fallback — what `solvent complete` runs, callable from Rust.
//!
//! Test entries whose user or item has no training entry cannot be scored by the model:
//! they are counted ([`RatingsProblem::unseen_test`]) and predicted by the **training
//! mean**, both in [`RatingsProblem::predict`] and in
//! [`RatingsProblem::test_rmse_with_fallback`]; the per-sweep test RMSE the solver traces
//! covers the scorable pairs only.
//!
//! ```
//! use solvent_problems::completion::Ratings;
//! use solvent_solvers::completion::{CompletionConfig, RatingsProblem};
//!
//! let mut train = Ratings::default();
//! for (u, i, r) in [("ann", "x", 4.0), ("ann", "y", 2.0), ("bob", "x", 5.0), ("bob", "y", 3.0)] {
//!     train.push(u, i, r);
//! }
//! let model = RatingsProblem::new(train, None, false);
//! let out = model.fit(&CompletionConfig::als(1), &solvent_solvers::Options::default().max_iters(20), &mut []).unwrap();
//! let p = model.predict(&out.state.factors, "ann", "x");
//! assert!(!p.fallback && (p.value - 4.0).abs() < 0.5);
//! assert!(model.predict(&out.state.factors, "carol", "x").fallback);
//! ```

use super::omega::Omega;
use super::solver::{Completion, CompletionConfig, CompletionProblem, CompletionState, Factors};
use crate::{run_observed, Observer, Options, Result, RunOutput};
use solvent_problems::completion::Ratings;

/// A completion problem built from ratings, with what it takes to map results back to
/// the ids.
#[derive(Clone, Debug)]
pub struct RatingsProblem {
    /// The training ratings (their id maps name the factors' rows and columns).
    pub train: Ratings,
    /// The problem the solver runs on (training entries minus the offset, scorable test
    /// entries minus the offset).
    pub problem: CompletionProblem,
    /// The training mean: the fallback prediction.
    pub mean: f64,
    /// What was subtracted before fitting (the mean when centred, else 0).
    pub offset: f64,
    /// Values of the test entries the model cannot score (an id never seen in training).
    pub unseen_test: Vec<f64>,
    user_count: Vec<u32>,
    item_count: Vec<u32>,
}

/// One prediction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// The predicted value.
    pub value: f64,
    /// Whether it is the training-mean fallback (the pair cannot be scored).
    pub fallback: bool,
}

impl RatingsProblem {
    /// Builds the problem from `train` and, optionally, `test` (its ids matched to the
    /// training ids); with `center`, the model fits deviations from the training mean.
    pub fn new(train: Ratings, test: Option<&Ratings>, center: bool) -> Self {
        let (m, n) = (train.nrows(), train.ncols());
        let mut user_count = vec![0u32; m];
        let mut item_count = vec![0u32; n];
        for &(i, j, _) in &train.entries {
            user_count[i as usize] += 1;
            item_count[j as usize] += 1;
        }
        let mean = train.mean();
        let offset = if center { mean } else { 0.0 };
        let mut this = Self {
            problem: CompletionProblem {
                omega: Omega::new(m, n, &[]),
                test: Vec::new(),
            },
            train,
            mean,
            offset,
            unseen_test: Vec::new(),
            user_count,
            item_count,
        };
        if let Some(t) = test {
            for &(i, j, v) in &t.entries {
                match this.lookup(t.users.name(i), t.items.name(j)) {
                    Some((a, b)) => this.problem.test.push((a, b, v - offset)),
                    None => this.unseen_test.push(v),
                }
            }
        }
        let centered: Vec<(u32, u32, f64)> = this
            .train
            .entries
            .iter()
            .map(|&(i, j, v)| (i, j, v - offset))
            .collect();
        this.problem.omega = Omega::new(m, n, &centered);
        this
    }

    /// The (row, column) of a `user item` pair when both have training entries; `None`
    /// for a pair the model cannot score (an id never seen, or seen only on the test side
    /// of a split).
    pub fn lookup(&self, user: &str, item: &str) -> Option<(u32, u32)> {
        match (self.train.users.get(user), self.train.items.get(item)) {
            (Some(a), Some(b)) if self.user_count[a as usize] > 0 && self.item_count[b as usize] > 0 => {
                Some((a, b))
            }
            _ => None,
        }
    }

    /// The model's prediction for a pair, or the training mean when it cannot score it.
    pub fn predict(&self, factors: &Factors, user: &str, item: &str) -> Prediction {
        match self.lookup(user, item) {
            Some((a, b)) => Prediction {
                value: self.offset + factors.predict(a as usize, b as usize),
                fallback: false,
            },
            None => Prediction {
                value: self.mean,
                fallback: true,
            },
        }
    }

    /// Test RMSE over every test entry: the model's predictions where it can score them,
    /// the training mean elsewhere; `None` without test entries.
    pub fn test_rmse_with_fallback(&self, factors: &Factors) -> Option<f64> {
        let count = self.problem.test.len() + self.unseen_test.len();
        if count == 0 {
            return None;
        }
        let se: f64 = self
            .problem
            .test
            .iter()
            .map(|&(i, j, v)| (factors.predict(i as usize, j as usize) - v).powi(2))
            .sum::<f64>()
            + self
                .unseen_test
                .iter()
                .map(|v| (self.mean - v).powi(2))
                .sum::<f64>();
        Some((se / count as f64).sqrt())
    }

    /// Fits the model through the shared run loop (one step per sweep; `options`' sweep
    /// limit, tolerance and time limit apply), reporting to `observers`.
    pub fn fit(
        &self,
        config: &CompletionConfig,
        options: &Options,
        observers: &mut [&mut dyn Observer],
    ) -> Result<RunOutput<CompletionState>> {
        run_observed(&self.problem, &mut Completion::new(*config), options, observers)
    }
}

/// The ridge λ grid [`choose_reg`] searches (ALS-WR scaling: each row's λ is multiplied by
/// its number of observations).
pub const REG_GRID: [f64; 7] = [0.02, 0.05, 0.08, 0.12, 0.18, 0.25, 0.35];

/// The outcome of choosing λ on held-out training entries.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RegChoice {
    /// The λ with the smallest held-out RMSE.
    pub reg: f64,
    /// Every `(λ, held-out RMSE)` tried.
    pub scores: Vec<(f64, f64)>,
}

/// Picks the ridge λ from `grid` by fitting on all but a `holdout` fraction of `train`'s
/// entries (drawn with `seed`) and scoring the held-out ones (with the training-mean
/// fallback for ids the fitting part lacks); the caller then fits on all of `train`.
pub fn choose_reg(
    train: &Ratings,
    config: &CompletionConfig,
    options: &Options,
    grid: &[f64],
    holdout: f64,
    center: bool,
    seed: u64,
) -> Result<RegChoice> {
    let (fit_part, held) = train.split(holdout, seed ^ 0x5e1e_c7ed)?;
    let model = RatingsProblem::new(fit_part, Some(&held), center);
    let mut scores = Vec::with_capacity(grid.len());
    for &reg in grid {
        let cfg = CompletionConfig { reg, ..*config };
        let out = model.fit(&cfg, options, &mut [])?;
        let rmse = model
            .test_rmse_with_fallback(&out.state.factors)
            .unwrap_or(f64::INFINITY);
        scores.push((reg, rmse));
    }
    let reg = scores
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|&(r, _)| r)
        .unwrap_or(config.reg);
    Ok(RegChoice { reg, scores })
}
