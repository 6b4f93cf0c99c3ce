//! The machine-readable record of a run.

use crate::metrics::Metrics;
use crate::status::Status;
use serde::{Deserialize, Serialize};

/// One sample of the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSample {
    /// Iteration count at the sample (0 = the starting point).
    pub iteration: usize,
    /// Solver time in seconds since the start, excluding the time spent
    /// computing metrics for the trace.
    pub time_s: f64,
    /// The measurement.
    pub metrics: Metrics,
}

/// Everything a run reports: serialisable, the same shape for every family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Solver name (`"cg"`, `"gmres(40)"`…).
    pub solver: String,
    /// Solver settings, as the solver describes them.
    pub settings: serde_json::Value,
    /// Why it stopped.
    pub status: Status,
    /// Iterations taken.
    pub iterations: usize,
    /// Solver time in seconds (metric evaluation for the trace excluded).
    pub elapsed_s: f64,
    /// Wall time in seconds, everything included.
    pub wall_s: f64,
    /// Metrics of the final iterate.
    pub metrics: Metrics,
    /// Samples taken along the way.
    pub trace: Vec<TraceSample>,
}

impl Report {
    /// A one-line human summary.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} after {} iterations in {:.3} s",
            self.solver,
            self.status.describe(self.metrics.value),
            self.iterations,
            self.elapsed_s
        )
    }
}
