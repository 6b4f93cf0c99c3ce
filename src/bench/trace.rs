//! What one run records: its status and its trace of (time, iterations, value) points.
//! External solvers write the same thing as JSON (the trace schema, docs/bench.md).

use serde::{Deserialize, Serialize};

/// One point of a run's trace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Point {
    /// Seconds of solving so far (measurements excluded).
    pub time_s: f64,
    /// Iterations so far (sweeps, Krylov iterations, coordinate-descent iterations).
    #[serde(default)]
    pub iterations: u64,
    /// The kind's value: the objective (lasso, l1-logistic), the relative residual of the
    /// system just solved (sequence), the test RMSE (completion). JSON has no NaN: a
    /// missing value is written as `null` and read back as NaN.
    #[serde(deserialize_with = "nan_if_null")]
    pub value: f64,
    /// The duality gap, where the solver computes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// How a run ended.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// It ran to its end (converged or not: the trace says how far it got).
    Ok,
    /// It was stopped at the suite's time limit.
    Timeout,
    /// It failed (an error, a crash, a missing or malformed trace).
    Failed,
    /// It could not run here (a peer library not installed).
    Skipped,
}

impl RunStatus {
    /// The spelling in the results.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Timeout => "timeout",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// What an external solver writes to `{out}` (and what Solvent's runs produce).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunTrace {
    /// The solver's own name (`sklearn.linear_model.Lasso`).
    #[serde(default)]
    pub solver: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
    /// How it ended.
    pub status: RunStatus,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The trace, in time order.
    #[serde(default)]
    pub trace: Vec<Point>,
}

impl RunTrace {
    /// A run that did not produce a trace.
    pub fn without_trace(status: RunStatus, reason: impl Into<String>) -> Self {
        Self {
            solver: String::new(),
            version: String::new(),
            status,
            reason: reason.into(),
            trace: Vec::new(),
        }
    }
}
