//! The small dense algebra inside Krylov methods, written once for the CPU solvers
//! (`solvent_solvers::krylov`) and the GPU ones (`solvent_gpu`):
//!
//! - [`givens`]: the Hessenberg least-squares problem of GMRES-type methods, kept upper
//!   triangular by Givens rotations as it grows, and its triangular solve;
//! - [`harmonic_ritz`]: GCRO-DR's recycled-space refresh from a cycle's small factors.

pub mod givens;
pub mod harmonic_ritz;

pub use givens::{rotate_column, solve_triangular};
pub use harmonic_ritz::{harmonic_ritz_coefficients, SmallCycle};
