//! What a problem can tell a solver.
//!
//! Problems describe themselves through small capability traits
//! ([`capability`]); each solver asks, through its trait bounds, only for what
//! it uses. This crate also holds the concrete problems and generators:
//! sparse linear systems ([`LinearSystemProblem`]) and the 2-D PDE matrices
//! used across tests, benches and the CLI ([`generators`]).
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
