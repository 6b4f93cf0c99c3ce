//! Capability traits: the small questions a solver may ask a problem.
//!
//! A solver bounds its problem type by exactly the capabilities it uses
//! (`P: LinearSystem` for Krylov methods, `P: Objective + Gradient` for a
//! first-order method…), so a problem implements only what it can answer and
//! no solver sees a wall of generic bounds. Vectors are plain `f64` slices.

use solvent_linalg::{CsrMatrix, LinearOperator};

/// The number of unknowns.
pub trait Dimension {
    /// Length of the iterate.
    fn dim(&self) -> usize;
}

/// A scalar objective `f(x)` to minimise.
pub trait Objective: Dimension {
    /// `f(x)`.
    fn objective(&self, x: &[f64]) -> f64;
}

/// The gradient of a smooth objective.
pub trait Gradient: Dimension {
    /// `g = ∇f(x)`.
    fn gradient(&self, x: &[f64], g: &mut [f64]);
}

/// Hessian-vector products `∇²f(x) v` (for Newton-type and implicit methods).
pub trait HessianVectorProduct: Dimension {
    /// `out = ∇²f(x) v`.
    fn hessian_vector(&self, x: &[f64], v: &[f64], out: &mut [f64]);
}

/// A square linear system `A x = b` seen through its operator.
pub trait LinearSystem {
    /// The operator `A`.
    fn operator(&self) -> &dyn LinearOperator;
    /// The right-hand side `b`.
    fn rhs(&self) -> &[f64];
    /// A starting guess (a warm start); zero when `None`.
    fn initial_guess(&self) -> Option<&[f64]> {
        None
    }
    /// The assembled matrix, when `A` is one (preconditioners and direct
    /// solvers need the entries).
    fn matrix(&self) -> Option<&CsrMatrix> {
        self.operator().as_csr()
    }
}
