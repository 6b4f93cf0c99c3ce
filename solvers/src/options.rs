//! Stopping rules and trace settings shared by every solver.

use crate::error::{Result, SolverError};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// When the run loop samples metrics into the trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TraceSchedule {
    /// Only the start and the end.
    Off,
    /// Every `k` iterations.
    Every(usize),
    /// Iterations 1–10, then whenever the count has grown by the factor
    /// (about 25 samples per decade at 1.1): dense early, sparse late.
    Geometric(f64),
}

/// Settings of a run: tolerance, limits, trace, interruption.
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) tol: f64,
    pub(crate) max_iters: usize,
    pub(crate) time_limit: Option<Duration>,
    pub(crate) trace: TraceSchedule,
    pub(crate) divergence_factor: f64,
    pub(crate) stall_iters: Option<usize>,
    pub(crate) interrupt: Option<Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tol: 1e-8,
            max_iters: 10_000,
            time_limit: None,
            trace: TraceSchedule::Geometric(1.1),
            divergence_factor: 1e10,
            stall_iters: None,
            interrupt: None,
        }
    }
}

impl Options {
    /// Tolerance on the solver's convergence measure (default 1e-8).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Iteration limit (default 10 000).
    pub fn max_iters(mut self, n: usize) -> Self {
        self.max_iters = n;
        self
    }
    /// Time limit on solver time.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }
    /// Trace schedule (default geometric, factor 1.1).
    pub fn trace(mut self, schedule: TraceSchedule) -> Self {
        self.trace = schedule;
        self
    }
    /// Declares divergence when the measure exceeds `factor` times its
    /// starting value (default 1e10).
    pub fn divergence_factor(mut self, factor: f64) -> Self {
        self.divergence_factor = factor;
        self
    }
    /// Declares a stall after `n` iterations without a new best measure.
    pub fn stall_iters(mut self, n: usize) -> Self {
        self.stall_iters = Some(n);
        self
    }
    /// A flag that stops the run (status `Interrupted`) when set.
    pub fn interrupt(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }
    /// Whether the interrupt flag ([`Options::interrupt`]) is set: loops over many runs
    /// (a sequence's systems) stop starting new ones.
    pub fn is_interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }
    /// The tolerance.
    pub fn get_tol(&self) -> f64 {
        self.tol
    }
    /// The iteration limit.
    pub fn get_max_iters(&self) -> usize {
        self.max_iters
    }

    /// Checks every setting, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(SolverError::setting(
                "tol",
                self.tol,
                "must be a positive finite number",
            ));
        }
        if self.max_iters == 0 {
            return Err(SolverError::setting("max_iters", 0, "must be at least 1"));
        }
        match self.trace {
            TraceSchedule::Every(0) => return Err(SolverError::setting("trace", "every 0", "k must be ≥ 1")),
            TraceSchedule::Geometric(f) if f.is_nan() || f <= 1.0 => {
                return Err(SolverError::setting("trace", f, "geometric factor must exceed 1"))
            }
            _ => {}
        }
        if self.divergence_factor.is_nan() || self.divergence_factor <= 1.0 {
            return Err(SolverError::setting(
                "divergence_factor",
                self.divergence_factor,
                "must exceed 1",
            ));
        }
        if self.stall_iters == Some(0) {
            return Err(SolverError::setting("stall_iters", 0, "must be at least 1"));
        }
        Ok(())
    }
}
