//! Krylov solvers for `A x = b` over [`solvent_linalg::LinearOperator`], and the
//! sparse direct path, all running through the shared loop.
//!
//! | solver | matrices | preconditioning |
//! |---|---|---|
//! | [`Cg`] | symmetric positive definite | SPD `M`, split implicitly |
//! | [`Gmres`] | any | right (`A M⁻¹ u = b`, `x = M⁻¹ u`) |
//! | [`DeflatedCg`] | SPD sequences (deflates a recycled space) | SPD `M` |
//! | [`GcroDr`] | any, sequences (recycles a subspace) | right |
//! | [`Bicgstab`] | any | right |
//! | [`Minres`] | symmetric (indefinite too) | SPD `M` |
//! | [`Direct`] | any assembled matrix | — (faer Cholesky or LU) |
//!
//! Each measures the true relative residual `‖b − A x‖/‖b‖` (recomputed from
//! scratch) as its convergence metric; recurrence residuals are only
//! estimates that the run loop verifies.

mod arnoldi;
mod bicgstab;
mod cg;
mod deflated_cg;
mod direct;
mod gcrodr;
mod gmres;
mod minres;
pub mod ordering;
mod recycle;
mod solve;
#[cfg(feature = "gpu")]
pub(crate) use solve::attach_plan;
pub(crate) use solve::run_method;

/// The decisions [`solve_system`] consults live in [`crate::policy`]; re-exported here
/// where Krylov users look for them.
pub use crate::policy::{
    analyse, direct_pays, iterative_pays, plan, MatrixAnalysis, AUTO_DIRECT_MAX_FILL,
    AUTO_DIRECT_MAX_FILL_PER_UNKNOWN, AUTO_DIRECT_MAX_N,
};
pub use bicgstab::{Bicgstab, BicgstabState};
pub use cg::{Cg, CgState};
pub use deflated_cg::{DeflatedCg, DeflatedCgState, DeflationSpace};
pub use direct::{Direct, DirectState};
pub use gcrodr::{GcroDr, GcroDrState};
pub use gmres::{Gmres, GmresState};
pub use minres::{Minres, MinresState};
pub use recycle::{harmonic_ritz_coefficients, RecycleSpace, SmallCycle};
pub use solve::{solve_system, Method, SolveConfig, SolvePlan, SystemSolution};

use crate::metrics::{Criterion, Metrics};
use solvent_linalg::vector::relative_residual;
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// A shared preconditioner; `None` is the identity (and costs nothing).
pub type SharedPrecond = Option<Arc<dyn Preconditioner>>;

/// Applies `M⁻¹` (or copies when there is no preconditioner).
pub(crate) fn apply_precond(m: &SharedPrecond, r: &[f64], z: &mut [f64]) {
    match m {
        Some(p) => p.apply(r, z),
        None => z.copy_from_slice(r),
    }
}

/// The starting iterate: the problem's guess, or zero.
pub(crate) fn initial_x<P: LinearSystem + ?Sized>(p: &P) -> Vec<f64> {
    p.initial_guess()
        .map(<[f64]>::to_vec)
        .unwrap_or_else(|| vec![0.0; p.operator().ncols()])
}

/// Checks the operator is square and matches `b` and the preconditioner.
pub(crate) fn check_system<P: LinearSystem + ?Sized>(p: &P, m: &SharedPrecond) -> crate::Result<usize> {
    let a = p.operator();
    let n = a.nrows();
    if a.ncols() != n {
        return Err(solvent_linalg::LinalgError::dims(
            "Krylov solve: operator columns (square)",
            n,
            a.ncols(),
        )
        .into());
    }
    if p.rhs().len() != n {
        return Err(solvent_linalg::LinalgError::dims("right-hand side length", n, p.rhs().len()).into());
    }
    if let Some(m) = m {
        if m.dim() != n {
            return Err(solvent_linalg::LinalgError::dims("preconditioner dimension", n, m.dim()).into());
        }
    }
    Ok(n)
}

/// True relative residual metrics of `x`.
pub(crate) fn residual_metrics<P: LinearSystem + ?Sized>(p: &P, x: &[f64]) -> Metrics {
    Metrics::new(
        Criterion::RelativeResidual,
        relative_residual(p.operator(), x, p.rhs()),
    )
}

/// `‖b‖`, or 1 when `b = 0` (so estimates become absolute).
pub(crate) fn rhs_scale(b: &[f64]) -> f64 {
    let nb = solvent_linalg::vector::norm2(b);
    if nb > 0.0 {
        nb
    } else {
        1.0
    }
}

/// The preconditioner's name for reports (`"none"` for the identity).
pub(crate) fn precond_name(m: &SharedPrecond) -> &str {
    m.as_ref().map_or("none", |m| m.name())
}

/// Implements [`HasSolution`] for a state whose iterate is its field `x`.
macro_rules! has_solution {
    ($state:ty) => {
        impl super::HasSolution for $state {
            fn solution(&self) -> &[f64] {
                &self.x
            }
            fn into_solution(self) -> Vec<f64> {
                self.x
            }
        }
    };
}
pub(crate) use has_solution;

/// Access to the solution held by a solver state.
pub trait HasSolution {
    /// The current iterate.
    fn solution(&self) -> &[f64];
    /// Takes the iterate out of the state.
    fn into_solution(self) -> Vec<f64>;
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gcrodr;
