//! Low-rank matrix completion by alternating minimisation (Jain, Netrapalli, Sanghavi
//! 2013), with the approximate per-row regressions of Gu, Song, Yin, Zhang (ICLR 2024):
//! each half-step solves one small least-squares problem per row (column) — exactly by
//! Cholesky of the k × k normal equations (ALS, O(n_i k² + k³) per row) or inexactly by
//! warm-started CG on the normal equations without forming them (O(n_i k) per
//! iteration). See `shared/algorithms/matrix-completion.md`.
//!
//! - [`omega`]: the observed set stored by rows and by columns.
//! - [`regression`]: the per-row solvers and the parallel half-step.
//! - [`spectral`]: initialisation from a randomized truncated SVD of the sparse data.
//! - [`sweep`]: the alternating loop, its settings and its trace.

pub mod omega;
pub mod regression;
pub mod spectral;
pub mod sweep;

pub use omega::Omega;
pub use regression::RowSolver;
pub use sweep::{complete, CompletionConfig, Factors, SweepRecord};

#[cfg(test)]
mod tests;
