//! Solvent: an optimization solver engine in Rust.
//!
//! A numerical core of sparse and dense linear algebra ([`linalg`], faer at
//! its heart) hosts solver families ([`solvers`]) behind one Problem/Solver
//! contract: problems describe themselves through capability traits
//! ([`problems`]), solvers advance a state one step at a time, and one run
//! loop ([`run()`]) owns stopping rules, traces and observers, producing a
//! serialisable [`Report`].
//!
//! ```
//! use solvent::prelude::*;
//!
//! // −Δu = f on a 64×64 grid, b = A·1 so the solution is all ones
//! let a = solvent::problems::generators::poisson2d(64).unwrap();
//! let problem = LinearSystemProblem::with_ones_solution(a).unwrap();
//! let ic0 = std::sync::Arc::new(solvent::linalg::precond::Ic0::new(problem.a()).unwrap());
//! let out = solvent::run(&problem, &mut Cg::new().preconditioner(ic0), &Options::default().tol(1e-10)).unwrap();
//! assert!(out.report.status.is_converged());
//! assert!(out.state.x.iter().all(|v| (v - 1.0).abs() < 1e-6));
//! ```
#![deny(missing_docs)]

pub mod bench;
pub mod cli;
#[cfg(feature = "mpi")]
pub mod distributed;

#[cfg(feature = "gpu")]
pub use solvent_gpu as gpu;
pub use solvent_linalg as linalg;
#[cfg(feature = "nn")]
pub use solvent_nn as nn;
pub use solvent_problems as problems;
pub use solvent_solvers as solvers;

pub use solvent_solvers::{run, run_observed, Metrics, Options, Report, RunOutput, Solver, Status, Step};

/// The names most programs need.
pub mod prelude {
    pub use solvent_linalg::io::matrix_market::{read_matrix, read_vector, write_vector};
    pub use solvent_linalg::{CsrMatrix, LinearOperator, Preconditioner};
    pub use solvent_problems::{LinearSystem, LinearSystemProblem};
    pub use solvent_solvers::krylov::{
        solve_system, Bicgstab, Cg, Direct, Gmres, HasSolution, Method, Minres, SolveConfig,
    };
    pub use solvent_solvers::{run, Options, Report, Status};
}

/// The Rust examples of the README and of the library guide (`docs/api.md`), compiled
/// and run by `cargo test --doc` so that none can rot.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/api.md")]
    struct LibraryGuide;
}
