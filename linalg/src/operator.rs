//! The operator traits every iterative method consumes.

use crate::csr::CsrMatrix;
use crate::error::{LinalgError, Result};

/// A linear map `y = A x` on `f64` vectors.
///
/// Krylov solvers see nothing but this trait, so a CSR matrix, a matrix-free
/// stencil and a GPU-resident matrix plug in alike. Implementations must be
/// `Sync` so that solvers may run them from rayon tasks.
pub trait LinearOperator: Sync {
    /// Output dimension.
    fn nrows(&self) -> usize;
    /// Input dimension.
    fn ncols(&self) -> usize;
    /// `y = A x`; `x.len() == ncols()`, `y.len() == nrows()`.
    fn apply(&self, x: &[f64], y: &mut [f64]);
    /// `y = Aᵀ x`, where the operator offers it.
    fn apply_transpose(&self, _x: &[f64], _y: &mut [f64]) -> Result<()> {
        Err(LinalgError::Unsupported("this operator has no transpose".into()))
    }
    /// The assembled matrix behind the operator, when there is one (lets
    /// preconditioners and direct solvers see the entries).
    fn as_csr(&self) -> Option<&CsrMatrix> {
        None
    }
}

/// An approximate inverse `z = M⁻¹ r`, applied once per iteration.
pub trait Preconditioner: Sync {
    /// Short name for reports (`"ic0"`, `"jacobi"`…).
    fn name(&self) -> &str;
    /// Dimension of the vectors it maps.
    fn dim(&self) -> usize;
    /// `z = M⁻¹ r`.
    fn apply(&self, r: &[f64], z: &mut [f64]);
    /// Whether `M` is symmetric positive definite when the matrix it was built
    /// from is (required by CG and MINRES).
    fn is_symmetric(&self) -> bool;
}

/// The identity preconditioner (no preconditioning).
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    /// Vector dimension.
    pub n: usize,
}

impl Preconditioner for Identity {
    fn name(&self) -> &str {
        "none"
    }
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        z.copy_from_slice(r)
    }
    fn is_symmetric(&self) -> bool {
        true
    }
}

impl<T: LinearOperator + ?Sized> LinearOperator for &T {
    fn nrows(&self) -> usize {
        (**self).nrows()
    }
    fn ncols(&self) -> usize {
        (**self).ncols()
    }
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        (**self).apply(x, y)
    }
    fn apply_transpose(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        (**self).apply_transpose(x, y)
    }
    fn as_csr(&self) -> Option<&CsrMatrix> {
        (**self).as_csr()
    }
}
