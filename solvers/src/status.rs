//! Why a run stopped.

use crate::metrics::Criterion;
use serde::{Deserialize, Serialize};

/// One reason for every way a run can end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Status {
    /// The convergence measure reached the tolerance.
    Converged {
        /// Which measure.
        criterion: Criterion,
        /// Its final value.
        value: f64,
        /// The tolerance it met.
        tol: f64,
    },
    /// The iteration limit was reached first.
    IterationLimit {
        /// The limit.
        limit: usize,
    },
    /// The time limit was reached first.
    TimeLimit {
        /// The limit in seconds.
        limit_s: f64,
    },
    /// Stopped from outside (Ctrl-C, a flag).
    Interrupted,
    /// No progress for the configured number of iterations, or the solver
    /// finished above the tolerance.
    Stalled {
        /// What was observed.
        detail: String,
    },
    /// The convergence measure grew without bound or became NaN.
    Diverged {
        /// The last value seen.
        value: f64,
    },
    /// The method broke down (e.g. `pᵀAp ≤ 0` in CG: not positive definite).
    Breakdown {
        /// Why.
        reason: String,
    },
}

impl Status {
    /// Whether the run converged.
    pub fn is_converged(&self) -> bool {
        matches!(self, Self::Converged { .. })
    }

    /// One line for humans, including the measure reached when it did not converge.
    pub fn describe(&self, last: f64) -> String {
        match self {
            Self::Converged {
                criterion,
                value,
                tol,
            } => {
                format!("converged: {} {value:.3e} ≤ tol {tol:.1e}", criterion.describe())
            }
            Self::IterationLimit { limit } => {
                format!("not converged: iteration limit {limit} reached (measure {last:.3e})")
            }
            Self::TimeLimit { limit_s } => {
                format!("not converged: time limit {limit_s} s reached (measure {last:.3e})")
            }
            Self::Interrupted => format!("interrupted (measure {last:.3e})"),
            Self::Stalled { detail } => format!("stalled: {detail} (measure {last:.3e})"),
            Self::Diverged { value } => format!("diverged: measure reached {value:.3e}"),
            Self::Breakdown { reason } => format!("breakdown: {reason} (measure {last:.3e})"),
        }
    }
}
