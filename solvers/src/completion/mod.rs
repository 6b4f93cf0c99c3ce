//! Low-rank matrix completion by alternating minimisation (Jain, Netrapalli, Sanghavi
//! 2013), with the approximate per-row regressions of Gu, Song, Yin, Zhang (ICLR 2024):
//! each half-step solves one small least-squares problem per row (column) — exactly by
//! Cholesky of the k × k normal equations (ALS, O(n_i k² + k³) per row) or inexactly by
//! warm-started CG on the normal equations without forming them (O(n_i k) per
//! iteration).
//!
//! - [`kernels`]: the per-observation Gram and normal-equation kernels (AVX2 + FMA at
//!   run time when the CPU has them).
//! - [`omega`]: the observed set stored by rows and by columns.
//! - [`regression`]: the per-row solvers and the parallel half-step.
//! - [`spectral`]: initialisation from a randomized truncated SVD of the sparse data.
//! - [`distributed`]: the same sweeps with rows and columns spread over processes.
//! - [`solver`]: the alternating loop as a [`crate::Solver`] (one step = one sweep), its
//!   settings and its metrics (train and test RMSE after every sweep).

pub mod distributed;
pub mod kernels;
pub mod omega;
pub mod ratings_model;
pub mod regression;
pub mod solver;
pub mod spectral;

pub use omega::Omega;
pub use ratings_model::{choose_reg, Prediction, RatingsProblem, RegChoice, REG_GRID};
pub use regression::RowSolver;
pub use solver::{Completion, CompletionConfig, CompletionProblem, CompletionState, Factors};

#[cfg(test)]
mod tests;
