//! The Solver contract, the shared run loop, reports, observers, and the
//! solver families.
//!
//! Every family implements [`Solver`] — `init`, then `step` until done, with
//! `metrics` to measure — and runs through one loop, [`run()`], which owns the
//! clock, the stopping rules, the trace and the observers. A benchmark
//! compares solvers through their [`Report`]s; no family invents its own.
//!
//! ```
//! use solvent_problems::{generators::poisson2d, LinearSystemProblem};
//! use solvent_solvers::{krylov::Cg, run, Options};
//!
//! let problem = LinearSystemProblem::with_ones_solution(poisson2d(32).unwrap()).unwrap();
//! let out = run(&problem, &mut Cg::new(), &Options::default().tol(1e-10)).unwrap();
//! assert!(out.report.status.is_converged());
//! assert!(out.state.x.iter().all(|v| (v - 1.0).abs() < 1e-7));
//! ```
#![deny(missing_docs)]

pub mod allocation;
pub mod bcd;
pub mod bilevel;
pub mod completion;
pub mod datagen;
#[cfg(feature = "gpu")]
mod device;
pub mod error;
pub mod exchange;
pub mod krylov;
pub mod metrics;
pub mod observer;
pub mod options;
pub mod policy;
pub mod report;
pub mod run;
pub mod sequence;
pub mod solver;
pub mod status;

pub use error::{Result, SolverError};
pub use metrics::{Criterion, Metrics};
pub use observer::{JsonLinesObserver, Observer, ProgressObserver};
pub use options::{Options, TraceSchedule};
pub use report::{Envelope, Outcome, Report, TraceSample};
pub use run::{run, run_observed, RunOutput};
pub use solver::{Solver, Step};
pub use status::Status;
