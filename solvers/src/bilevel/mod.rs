//! Bilevel optimization by fully first-order penalty methods (Kwon, Kwon, Wright, Nowak, ICLR
//! 2024), with F2SA and approximate implicit differentiation as baselines — all through the
//! shared [`crate::run()`] loop ([`BilevelSolver`]).
//!
//! The penalised hyper-objective ψ_σ(x) = min_y [f + g/σ] − min_z g/σ has the gradient
//! ∇ψ_σ = ∇ₓf(x, y_σ) + (∇ₓg(x, y_σ) − ∇ₓg(x, z*))/σ (Danskin), O(σ)-close to ∇ψ under a
//! proximal error bound on the lower level; only gradients are needed, the lower level may be
//! nonconvex and both levels may be constrained.

pub mod oracle;
pub mod solver;

#[cfg(test)]
mod tests;

pub use oracle::Calls;
pub use solver::{BilevelSolver, BilevelState, Method, Sigma};
