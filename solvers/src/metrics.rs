//! What a solver reports about an iterate.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which quantity a solver's convergence measure is; the tolerance is
/// compared with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// `‖b − A x‖₂ / ‖b‖₂`, recomputed from scratch (linear systems).
    #[default]
    RelativeResidual,
    /// Primal–dual gap (convex composite problems).
    DualityGap,
    /// Norm of the KKT residual (bound- or L1-constrained problems).
    KktResidual,
    /// Norm of the projected (hyper)gradient.
    ProjectedGradient,
    /// Relative change of the iterate or objective between iterations.
    RelativeChange,
    /// Relative gap to a certified bound (combinatorial problems).
    BoundGap,
    /// The objective itself (relative to the start), for searches without a convergence
    /// measure: they run until an iteration, time or stall limit.
    Objective,
}

impl Criterion {
    /// Human name for summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Self::RelativeResidual => "relative residual",
            Self::DualityGap => "duality gap",
            Self::KktResidual => "KKT residual",
            Self::ProjectedGradient => "projected gradient norm",
            Self::RelativeChange => "relative change",
            Self::BoundGap => "bound gap",
            Self::Objective => "objective (relative to the start)",
        }
    }
}

/// A measurement of the current iterate: the convergence measure, an
/// objective when there is one, and any family-specific extras (test error,
/// lower-level optimality, oracle calls…).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// What `value` measures.
    pub criterion: Criterion,
    /// The convergence measure compared with the tolerance.
    pub value: f64,
    /// Objective value, for optimisation problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// Further named quantities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

impl Metrics {
    /// Metrics with just a convergence measure.
    pub fn new(criterion: Criterion, value: f64) -> Self {
        Self {
            criterion,
            value,
            objective: None,
            extra: BTreeMap::new(),
        }
    }
    /// Adds an objective value.
    pub fn with_objective(mut self, objective: f64) -> Self {
        self.objective = Some(objective);
        self
    }
    /// Adds a named extra.
    pub fn with_extra(mut self, name: &str, value: f64) -> Self {
        self.extra.insert(name.to_string(), value);
        self
    }
}
