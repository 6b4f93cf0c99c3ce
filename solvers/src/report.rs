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

/// The one shape of every command's machine-readable report (`--json`): which command,
/// which Solvent, what went in, how it ended, how long it took — then the command's own
/// typed body (its plan or settings and per-item records), flattened into the same
/// object so that its fields sit beside these.
#[derive(Clone, Debug, Serialize)]
pub struct Envelope<I: Serialize, B: Serialize> {
    /// The subcommand (`"solve"`, `"datagen"`, …).
    pub command: &'static str,
    /// The version of Solvent that wrote it.
    pub solvent_version: &'static str,
    /// The inputs: files read, generators and their parameters.
    pub inputs: I,
    /// How the run ended.
    pub outcome: Outcome,
    /// Seconds, by phase (`wall_s` always; `solve_s`, `setup_s`, … where measured).
    pub timings: std::collections::BTreeMap<&'static str, f64>,
    /// The command's own fields.
    #[serde(flatten)]
    pub body: B,
}

impl<I: Serialize, B: Serialize> Envelope<I, B> {
    /// An envelope for `command`.
    pub fn new(command: &'static str, inputs: I, outcome: Outcome, body: B) -> Self {
        Self {
            command,
            solvent_version: env!("CARGO_PKG_VERSION"),
            inputs,
            outcome,
            timings: Default::default(),
            body,
        }
    }
    /// Adds a timing.
    pub fn timing(mut self, name: &'static str, seconds: f64) -> Self {
        self.timings.insert(name, seconds);
        self
    }
}

/// How a command ended, in the terms of its exit code: `converged` (exit 0) or not
/// (exit 2: it ran, and the summary says what fell short).
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Everything asked for was reached.
    pub converged: bool,
    /// One line saying how it ended.
    pub summary: String,
}

impl Outcome {
    /// From a run's status.
    pub fn of(status: &Status, last: f64) -> Self {
        Self {
            converged: status.is_converged(),
            summary: status.describe(last),
        }
    }
}
