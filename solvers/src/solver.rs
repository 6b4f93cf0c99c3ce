//! The contract every solver family implements.

use crate::error::Result;
use crate::metrics::Metrics;

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The iterate moved. `estimate` is a cheap estimate of the convergence
    /// measure (a recurrence residual, a gap computed this step), if the
    /// solver has one; the loop verifies it with [`Solver::metrics`] before
    /// declaring convergence.
    Continue {
        /// Cheap estimate of the convergence measure.
        estimate: Option<f64>,
    },
    /// The iterate moved by `iterations` inner iterations at once (a GPU refinement
    /// round: one device solve of the correction equation, often thousands of device
    /// iterations). The loop counts them all toward the iteration limit and the report,
    /// and samples the trace after every such step.
    Advanced {
        /// Inner iterations this step did (at least 1 is counted).
        iterations: usize,
        /// Cheap estimate of the convergence measure.
        estimate: Option<f64>,
    },
    /// The solver has nothing left to do (a direct solve, an exact
    /// answer); the loop measures the result.
    Finished,
    /// The method cannot continue, and why.
    Breakdown(String),
}

/// A solver: a value with settings that advances a state one step at a time.
///
/// The run loop ([`crate::run()`]) calls `init` once, `step` until a stopping
/// rule fires, `metrics` to measure (timed separately, so traces do not
/// charge the solver for measuring), and `finalize` once at the end.
pub trait Solver<P: ?Sized> {
    /// The iterate and the solver's internals.
    type State;
    /// Short name for reports.
    fn name(&self) -> String;
    /// The settings, for the report.
    fn settings(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Builds the starting state.
    fn init(&mut self, problem: &P) -> Result<Self::State>;
    /// Advances one iteration.
    fn step(&mut self, problem: &P, state: &mut Self::State) -> Result<Step>;
    /// Measures the current iterate (from scratch, not from recurrences).
    fn metrics(&self, problem: &P, state: &Self::State) -> Metrics;
    /// Brings the state's iterate up to date (e.g. GMRES forms `x` from its
    /// basis mid-cycle). Called once when the run ends.
    fn finalize(&mut self, _problem: &P, _state: &mut Self::State) -> Result<()> {
        Ok(())
    }
}
