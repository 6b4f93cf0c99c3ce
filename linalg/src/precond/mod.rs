//! Preconditioners built from an assembled matrix: Jacobi, SSOR, ILU(0), IC(0) and
//! smoothed-aggregation algebraic multigrid.
//!
//! Each constructor checks what it needs and fails with a typed error naming
//! the row (zero pivot, missing diagonal, loss of positive definiteness)
//! instead of producing infinities that would poison the solve.

mod amg;
mod ic0;
mod ilu0;
mod jacobi;
mod ssor;

pub use amg::{Amg, AmgOptions};
pub use ic0::Ic0;
pub use ilu0::Ilu0;
pub use jacobi::Jacobi;
pub use ssor::Ssor;

use crate::error::{LinalgError, Result};
use crate::operator::{Identity, Preconditioner};
use crate::CsrMatrix;

/// Which preconditioner to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrecondKind {
    /// No preconditioning.
    None,
    /// Diagonal scaling.
    Jacobi,
    /// Symmetric successive over-relaxation with ω = 1 (symmetric Gauss–Seidel).
    Ssor,
    /// Incomplete LU with the sparsity pattern of A.
    Ilu0,
    /// Incomplete Cholesky with the pattern of A's lower triangle (SPD only).
    Ic0,
    /// Smoothed-aggregation algebraic multigrid, one V-cycle per application
    /// ([`Amg`], default [`AmgOptions`]).
    Amg,
}

crate::named_enum!(PrecondKind, "preconditioner" {
    None => "none",
    Jacobi => "jacobi",
    Ssor => "ssor",
    Ilu0 => "ilu0",
    Ic0 => "ic0",
    Amg => "amg",
});

/// Builds the preconditioner `kind` for the square matrix `a`.
pub fn build(kind: PrecondKind, a: &CsrMatrix) -> Result<Box<dyn Preconditioner>> {
    if a.nrows() != a.ncols() {
        return Err(LinalgError::dims(
            "preconditioner: square matrix columns",
            a.nrows(),
            a.ncols(),
        ));
    }
    Ok(match kind {
        PrecondKind::None => Box::new(Identity { n: a.nrows() }),
        PrecondKind::Jacobi => Box::new(Jacobi::new(a)?),
        PrecondKind::Ssor => Box::new(Ssor::new(a, 1.0)?),
        PrecondKind::Ilu0 => Box::new(Ilu0::new(a)?),
        PrecondKind::Ic0 => Box::new(Ic0::new(a)?),
        PrecondKind::Amg => Box::new(Amg::new(a)?),
    })
}

/// A pivot is treated as zero when `|p| ≤ PIVOT_TOL · max|a_ij|` of its row.
pub(crate) const PIVOT_TOL: f64 = 1e-14;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::CsrMatrix;

    /// The 5-point Laplacian on an `m × m` grid (SPD), plus `shift` on the diagonal.
    pub fn laplacian(m: usize, shift: f64) -> CsrMatrix {
        let n = m * m;
        let mut t = Vec::new();
        for i in 0..m {
            for j in 0..m {
                let k = i * m + j;
                t.push((k, k, 4.0 + shift));
                if i > 0 {
                    t.push((k, k - m, -1.0));
                }
                if i + 1 < m {
                    t.push((k, k + m, -1.0));
                }
                if j > 0 {
                    t.push((k, k - 1, -1.0));
                }
                if j + 1 < m {
                    t.push((k, k + 1, -1.0));
                }
            }
        }
        CsrMatrix::from_triplets(n, n, &t).unwrap()
    }
}
