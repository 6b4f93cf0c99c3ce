//! The allocation solvers on the shared contract ([`crate::Solver`], run by [`crate::run()`]), so
//! they report like every other family: status, timings, a trace, observers, limits.
//!
//! - [`ExactDpSolver`]: the iterate starts at the LP greedy; the measure is its certified
//!   relative suboptimality (value − LP bound)/value. One step runs the exact DP, after which
//!   the measure is 0 (the DP is exact by construction); the LP bound and gap stay in the
//!   metrics' extras. A greedy already within the tolerance is accepted without the DP.
//! - [`EvolveSolver`]: one step is one generation; the measure is the current value relative
//!   to the start's (criterion `objective`), so it runs until the iteration (generation), time
//!   or stall limit.

use super::dp::{solve_with, DpSettings, DpStats};
use super::evolve::{Evaluator, EvolveSettings, EvolveState};
use super::hull::{lagrange, Lagrange};
use super::instance::Mckp;
use crate::error::Result;
use crate::metrics::{Criterion, Metrics};
use crate::solver::{Solver, Step};

/// The exact DP as a one-step solver.
#[derive(Clone, Debug, Default)]
pub struct ExactDpSolver {
    /// DP settings.
    pub settings: DpSettings,
}

/// The DP's iterate.
#[derive(Clone, Debug)]
pub struct DpState {
    /// The current allocation (the greedy until the DP has run).
    pub choice: Vec<usize>,
    /// Its value.
    pub value: f64,
    /// The LP solve (bound, multiplier, greedy).
    pub lagrange: Lagrange,
    /// The DP's statistics once it has run.
    pub stats: Option<DpStats>,
}

impl Solver<Mckp> for ExactDpSolver {
    type State = DpState;
    fn name(&self) -> String {
        "allocation-dp".into()
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"backtrack_cap_bytes": self.settings.backtrack_cap_bytes})
    }
    fn init(&mut self, p: &Mckp) -> Result<DpState> {
        p.check("cost")?;
        let lag = lagrange(p);
        Ok(DpState {
            choice: lag.choice.clone(),
            value: lag.value,
            lagrange: lag,
            stats: None,
        })
    }
    fn step(&mut self, p: &Mckp, state: &mut DpState) -> Result<Step> {
        let s = solve_with(p, &self.settings)?;
        state.choice = s.choice;
        state.value = s.value;
        state.stats = Some(s.stats);
        Ok(Step::Finished)
    }
    fn metrics(&self, p: &Mckp, state: &DpState) -> Metrics {
        let value = p.value_of(&state.choice);
        let lb = state.lagrange.lower_bound;
        let rel = |v: f64| {
            if v.abs() > 0.0 {
                ((v - lb) / v.abs()).max(0.0)
            } else {
                0.0
            }
        };
        let measure = if state.stats.is_some() { 0.0 } else { rel(value) };
        Metrics::new(Criterion::BoundGap, measure)
            .with_objective(value)
            .with_extra("lp_lower_bound", lb)
            .with_extra("lp_relative_gap", rel(value))
            .with_extra("cost", p.cost_of(&state.choice) as f64)
    }
}

/// The evolutionary refinement as a solver: one generation per step.
pub struct EvolveSolver<'e> {
    /// The allocation to refine (must fit the budget).
    pub start: Vec<usize>,
    /// The black-box measure.
    pub evaluator: &'e mut dyn Evaluator,
    /// Search settings (`generations` is ignored: the run's iteration limit decides).
    pub settings: EvolveSettings,
}

impl Solver<Mckp> for EvolveSolver<'_> {
    type State = EvolveState;
    fn name(&self) -> String {
        "allocation-evolve".into()
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or(serde_json::Value::Null)
    }
    fn init(&mut self, p: &Mckp) -> Result<EvolveState> {
        EvolveState::new(p, &self.start, self.evaluator, &self.settings)
    }
    fn step(&mut self, p: &Mckp, state: &mut EvolveState) -> Result<Step> {
        state.generation(p, self.evaluator, &self.settings)?;
        Ok(Step::Continue {
            estimate: Some(relative(state)),
        })
    }
    fn metrics(&self, p: &Mckp, state: &EvolveState) -> Metrics {
        Metrics::new(Criterion::Objective, relative(state))
            .with_objective(state.value)
            .with_extra("start_value", state.start_value)
            .with_extra("additive_value", p.value_of(&state.choice))
            .with_extra("evaluations", state.evaluations as f64)
            .with_extra("cost", p.cost_of(&state.choice) as f64)
    }
}

fn relative(s: &EvolveState) -> f64 {
    if s.start_value.abs() > 0.0 {
        s.value / s.start_value.abs()
    } else {
        s.value
    }
}
