//! What a problem can tell a solver.
//!
//! Problems describe themselves through small capability traits
//! ([`capability`]); each solver asks, through its trait bounds, only for what
//! it uses. This crate also holds the concrete problems and generators:
//! sparse linear systems ([`LinearSystemProblem`]) and the 2-D PDE matrices
//! used across tests, benches and the CLI ([`generators`]).
//!
//! ```
//! use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
//! use solvent_problems::LinearSystemProblem;
//!
//! // sample 3 of the Darcy family on a 16 × 16 grid: sample i depends only on (seed, i)
//! let sampler = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(16, 42)).unwrap();
//! let s = sampler.sample(2).unwrap();
//! assert_eq!((s.a.nrows(), s.b.len(), s.coeff.len()), (256, 256, 256));
//! assert!(s.a.is_symmetric(1e-14) && PdeFamily::Darcy.is_spd());
//! assert_eq!(sampler.sample(2).unwrap().coeff, s.coeff);
//! let problem = LinearSystemProblem::new(s.a, s.b).unwrap();
//! # let _ = problem;
//! ```
#![deny(missing_docs)]

pub mod allocation;
pub mod bcd;
pub mod bilevel;
pub mod capability;
pub mod completion;
pub mod error;
pub mod generators;
pub mod linear_system;

pub use capability::{Dimension, LinearSystem};
pub use error::{ProblemError, Result};
pub use linear_system::LinearSystemProblem;
