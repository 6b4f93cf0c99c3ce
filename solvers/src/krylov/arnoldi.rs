//! The Arnoldi step GMRES and GCRO-DR share: expand the basis by one right-preconditioned
//! operator application, orthogonalise by CGS2, and append the normalised vector.

use super::SharedPrecond;
use solvent_linalg::gram_schmidt::{cgs2, Basis};
use solvent_linalg::LinearOperator;

/// The work vectors of an Arnoldi step.
pub(crate) struct ArnoldiWork<'a> {
    /// The new vector (length n).
    pub w: &'a mut [f64],
    /// `M⁻¹ v` (length n; used only with a preconditioner).
    pub z: &'a mut [f64],
    /// The orthogonalisation coefficients (at least `col + 1`).
    pub hcol: &'a mut [f64],
    /// CGS2's second-pass coefficients (at least `col + 1`).
    pub scratch: &'a mut [f64],
}

/// `w = A M⁻¹ v_col`, orthogonalised by CGS2 against the basis columns `0..=col`, their
/// coefficients in `hcol[..=col]`. Returns `‖w‖` after orthogonalisation (the
/// subdiagonal entry `h_{col+1,col}`); the caller checks it is finite.
pub(crate) fn arnoldi_step(
    op: &dyn LinearOperator,
    precond: &SharedPrecond,
    basis: &mut Basis,
    col: usize,
    work: ArnoldiWork<'_>,
) -> f64 {
    let ArnoldiWork { w, z, hcol, scratch } = work;
    match precond {
        Some(pc) => {
            pc.apply(basis.col(col), z);
            op.apply(z, w);
        }
        None => op.apply(basis.col(col), w),
    }
    let n = w.len();
    let (cols, _) = basis.split_at_col(col + 1);
    cgs2(cols, n, w, &mut hcol[..=col], &mut scratch[..=col])
}

/// Appends `w / hn` as basis column `col + 1`, unless the step ended in (near) breakdown
/// (`hn ≤ 1e-14 · max(r, hn)` with `r` the new diagonal of the rotated Hessenberg
/// factor): then the Krylov space is invariant, the column is zeroed (a recycled-space
/// refresh still reads it, with weight `hn`) and `false` says the cycle is over.
pub(crate) fn append_basis_vector(basis: &mut Basis, col: usize, w: &[f64], hn: f64, r: f64) -> bool {
    let next = basis.col_mut(col + 1);
    if hn > 1e-14 * r.max(hn) {
        let inv = 1.0 / hn;
        for (vi, &wi) in next.iter_mut().zip(w) {
            *vi = wi * inv;
        }
        true
    } else {
        next.fill(0.0);
        false
    }
}
