//! Layer-wise compression allocation: choose one option (a sparsity level) per layer to
//! minimise the summed distortion under a global budget — a multiple-choice knapsack.
//!
//! - [`dp::solve`]: exact, O(B) working memory, compact backtracking, Lagrangian pruning;
//!   costs can be scaled ([`Mckp::scaled`]) with the rounding bounded and reported.
//! - [`hull::lagrange`]: the convex-hull/LP solve, its lower bound and multiplier.
//! - [`two_budget::solve`]: two budgets at once (e.g. params and FLOPs), the second relaxed by
//!   a Lagrange multiplier searched by bisection over exact DPs, with the dual bound.
//! - [`evolve()`]: budget-preserving evolutionary refinement under a pluggable [`Evaluator`].
//! - [`baselines`]: uniform, global magnitude, ERK and LAMP, placed on the same level grid.
//! - [`allocate`]: one call from a table and a request to an [`Allocation`] (what
//!   `solvent allocate` runs); [`CommandEvaluator`]: an external scorer for `evolve`.

pub mod baselines;
pub mod command;
pub mod dp;
pub mod evolve;
pub mod hull;
pub mod instance;
pub mod pipeline;
pub mod solver;
pub mod two_budget;

#[cfg(test)]
mod tests;

pub use command::CommandEvaluator;
pub use dp::{DpSettings, DpSolution, DpStats};
pub use evolve::{evolve, Additive, Evaluator, EvolveResult, EvolveSettings, EvolveState};
pub use hull::{dual, lagrange, Lagrange};
pub use instance::{Mckp, Scaling};
pub use pipeline::{
    allocate, layer_choices, totals, AllocateRequest, Allocation, AllocationMethod, Budget, Comparison,
    EvolveRequest, LayerChoice,
};
pub use solver::{DpState, EvolveSolver, ExactDpSolver};
