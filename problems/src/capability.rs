//! Capability traits: the small questions a solver may ask a problem.
//!
//! A solver bounds its problem type by exactly the capabilities it uses, so a problem
//! implements only what it can answer and no solver sees a wall of generic bounds.
//! Vectors are plain `f64` slices. The linear-system capability lives here; the
//! families' own capabilities live with them (`bcd::CoordinateProblem` for block
//! coordinate descent, `bilevel::Bilevel` for the bilevel solvers).

use solvent_linalg::{CsrMatrix, LinearOperator};

/// The number of unknowns.
pub trait Dimension {
    /// Length of the iterate.
    fn dim(&self) -> usize;
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
