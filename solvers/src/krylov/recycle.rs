//! The recycled subspace that GCRO-DR carries from one system to the next,
//! and the small dense algebra that refreshes it (harmonic Ritz vectors).
//!
//! Convention (Parks et al. 2006, right preconditioning): `U` lives in the
//! preconditioned variable `u = M x`, and `C = A M⁻¹ U` has orthonormal
//! columns. Any `U` keeps GCRO-DR correct; a good one (approximate
//! eigenvectors of the slowest modes) is what makes the next solve fast.

use super::{apply_precond, SharedPrecond};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use solvent_linalg::gram_schmidt::{cgs2, subtract};
pub use solvent_linalg::small::{harmonic_ritz_coefficients, SmallCycle};
use solvent_linalg::vector::{norm2, scale};
use solvent_linalg::LinearOperator;

/// Vectors at least this long use faer's parallel matrix products.
const PAR_MIN_N: usize = 50_000;

pub(crate) fn par_for(n: usize) -> Par {
    if n >= PAR_MIN_N {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// `k` pairs `(u_i, c_i)` of length `n` with `C = A M⁻¹ U`, `CᵀC = I`.
#[derive(Clone, Debug)]
pub struct RecycleSpace {
    n: usize,
    k: usize,
    u: Vec<f64>,
    c: Vec<f64>,
    /// `C` does not hold `A M⁻¹ U` for any operator yet (built from vectors alone).
    needs_retarget: bool,
}

impl RecycleSpace {
    /// A space of no vectors whose buffers a later [`RecycleSpace::refill`] fills.
    pub(crate) fn empty(n: usize) -> Self {
        Self {
            n,
            k: 0,
            u: Vec::new(),
            c: Vec::new(),
            needs_retarget: false,
        }
    }
    /// A space from vectors GCRO-DR has not seen (column-major `n × k`, in the
    /// preconditioned variable; e.g. approximate eigenvectors computed elsewhere): `C`
    /// is computed on first use — `GcroDr::with_recycle` retargets such a space even
    /// when told the operator is unchanged.
    ///
    /// # Panics
    /// When `u.len() != n * k`.
    pub fn from_vectors(n: usize, k: usize, u: Vec<f64>) -> Self {
        assert_eq!(
            u.len(),
            n * k,
            "RecycleSpace::from_vectors: u must hold n × k values"
        );
        Self {
            n,
            k,
            c: vec![0.0; n * k],
            u,
            needs_retarget: true,
        }
    }
    /// Number of recycled vectors.
    pub fn dim(&self) -> usize {
        self.k
    }
    /// Length of each vector (the system size).
    pub fn len(&self) -> usize {
        self.n
    }
    /// True when the space holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }
    /// `U`, column-major `n × k`.
    pub fn u(&self) -> &[f64] {
        &self.u
    }
    /// `C`, column-major `n × k`.
    pub fn c(&self) -> &[f64] {
        &self.c
    }
    /// Keeps the first `k` vectors (`C = A M⁻¹ U` still holds; `C` stays
    /// orthonormal).
    pub fn truncate(&mut self, k: usize) {
        self.k = self.k.min(k);
        self.u.truncate(self.k * self.n);
        self.c.truncate(self.k * self.n);
    }

    /// Re-establishes `C = A M⁻¹ U`, `CᵀC = I` for a new operator or
    /// preconditioner: `A M⁻¹ U = Q R` (CGS2, column by column), `C = Q`,
    /// `U ← U R⁻¹`. Costs `k` SpMVs and preconditioner applications. Columns
    /// that become dependent (relative norm below 1e-10 after
    /// orthogonalisation) are dropped. (CholeskyQR2 through matrix products
    /// was measured 5% slower per sequence at n = 10⁴, k = 20, and needs a
    /// conditioning guard; CGS2 needs none.)
    pub fn retarget(&mut self, a: &dyn LinearOperator, m: &SharedPrecond) {
        let kept = retarget_in_place(self.n, self.k, &mut self.u, &mut self.c, a, m);
        self.needs_retarget = false;
        self.k = kept;
        self.u.truncate(kept * self.n);
        self.c.truncate(kept * self.n);
    }
    /// Gives `U`'s buffer to the caller in exchange for `other` (a solver that keeps
    /// `U` in its own state swaps instead of copying `n × k` values each way).
    pub(crate) fn swap_u(&mut self, other: &mut Vec<f64>) {
        std::mem::swap(&mut self.u, other);
    }
    /// Refills the space with `k` pairs, `U` by swapping with `u` (whose first `k·n`
    /// values are taken) and `C` copied from `c`, reusing this space's allocations.
    pub(crate) fn refill(&mut self, n: usize, k: usize, u: &mut Vec<f64>, c: &[f64]) {
        std::mem::swap(&mut self.u, u);
        self.u.truncate(k * n);
        self.c.clear();
        self.c.extend_from_slice(&c[..k * n]);
        self.n = n;
        self.k = k;
        self.needs_retarget = false;
    }
    /// True for a space whose `C` was never computed (see [`RecycleSpace::from_vectors`]):
    /// GCRO-DR retargets it whatever it is told about the operator.
    pub fn needs_retarget(&self) -> bool {
        self.needs_retarget
    }
}

/// [`RecycleSpace::retarget`] on buffers held elsewhere: `c[..k·n] = A M⁻¹ U`, then
/// its column-by-column CGS2 QR with `U` transformed alike, dependent columns
/// dropped; returns the number of columns kept (the first ones of `u` and `c`).
pub(crate) fn retarget_in_place(
    n: usize,
    k: usize,
    u: &mut [f64],
    c: &mut [f64],
    a: &dyn LinearOperator,
    m: &SharedPrecond,
) -> usize {
    let mut z = vec![0.0; n];
    for i in 0..k {
        apply_precond(m, &u[i * n..(i + 1) * n], &mut z);
        a.apply(&z, &mut c[i * n..(i + 1) * n]);
    }
    cgs2_qr(n, k, u, c)
}

/// Column-by-column CGS2 QR of `c` (holding `A M⁻¹ U`, `k` columns), dropping
/// dependent columns, with `u` transformed alike; returns the columns kept.
fn cgs2_qr(n: usize, k: usize, u: &mut [f64], c: &mut [f64]) -> usize {
    let mut kept = 0;
    let mut r = vec![0.0; k];
    let mut scratch = vec![0.0; k];
    for i in 0..k {
        if kept != i {
            c.copy_within(i * n..(i + 1) * n, kept * n);
            u.copy_within(i * n..(i + 1) * n, kept * n);
        }
        let (done, rest) = c.split_at_mut(kept * n);
        let ci = &mut rest[..n];
        let before = norm2(ci);
        let nrm = cgs2(done, n, ci, &mut r[..kept], &mut scratch[..kept]);
        if nrm.is_nan() || nrm <= 1e-10 * before || !nrm.is_finite() {
            continue;
        }
        scale(1.0 / nrm, ci);
        // u_new = (u_i − Σ_{l<kept} u_new_l r_l) / nrm
        let (done_u, rest_u) = u.split_at_mut(kept * n);
        let ui = &mut rest_u[..n];
        subtract(done_u, n, &r[..kept], ui);
        scale(1.0 / nrm, ui);
        kept += 1;
    }
    kept
}

/// The pieces of a finished GCRO-DR cycle that the refresh needs.
pub(crate) struct CycleData<'a> {
    /// Vector length.
    pub n: usize,
    /// `[C, v_0 … v_j]`, column-major, `kk + j + 1` columns.
    pub cv: &'a [f64],
    /// `U`, `kk` columns.
    pub u: &'a [f64],
    /// The small factors (`kk`, `j`, `D`, `B`, `H̄`).
    pub small: SmallCycle<'a>,
}

/// New `(U, C)` with at most `k` columns from the harmonic Ritz vectors of
/// the cycle: `Ĝᵀ Ĝ z = θ Ĝᵀ [C V]ᵀ W z`, keeping the `k` smallest `|θ|`,
/// then `Ĝ P = Q R`, `C = [C V] Q`, `U = W P R⁻¹` with `W = [U D, V]`.
/// The new `U` and `C` go to the first columns of `u_out` and `c_out`
/// (each at least `n × k`, reused across cycles so no refresh allocates
/// them); returns how many columns were kept, or `None` when the small
/// eigenproblem fails (the caller keeps its old space).
pub(crate) fn harmonic_ritz_refresh(
    cyc: &CycleData<'_>,
    k: usize,
    u_out: &mut [f64],
    c_out: &mut [f64],
) -> Option<usize> {
    let (n, kk, j) = (cyc.n, cyc.small.kk, cyc.small.j);
    let s = kk + j;
    if s == 0 || k == 0 {
        return None;
    }
    let rows = s + 1;
    let cv = MatRef::from_column_major_slice(&cyc.cv[..rows * n], n, rows);
    // [C V]ᵀ U (the only n-sized product the small problem needs)
    let mut cvu = Mat::<f64>::zeros(rows, kk);
    if kk > 0 {
        let u = MatRef::from_column_major_slice(&cyc.u[..kk * n], n, kk);
        matmul(cvu.as_mut(), Accum::Replace, cv.transpose(), u, 1.0, par_for(n));
    }
    let (q, pr) = harmonic_ritz_coefficients(&cyc.small, k, cvu.as_ref())?;
    let kept = q.ncols();
    matmul(
        faer::MatMut::from_column_major_slice_mut(&mut c_out[..n * kept], n, kept),
        Accum::Replace,
        cv,
        q.subcols(0, kept),
        1.0,
        par_for(n),
    );
    {
        let mut dst = faer::MatMut::from_column_major_slice_mut(&mut u_out[..n * kept], n, kept);
        let v = MatRef::from_column_major_slice(&cyc.cv[kk * n..(kk + j) * n], n, j);
        matmul(
            dst.as_mut(),
            Accum::Replace,
            v,
            pr.subrows(kk, j),
            1.0,
            par_for(n),
        );
        if kk > 0 {
            let mut top = pr.subrows(0, kk).to_owned();
            for i in 0..kk {
                for c in 0..kept {
                    top[(i, c)] *= cyc.small.d[i];
                }
            }
            let u = MatRef::from_column_major_slice(&cyc.u[..kk * n], n, kk);
            matmul(dst, Accum::Add, u, &top, 1.0, par_for(n));
        }
    }
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use solvent_linalg::vector::dot;
    use solvent_linalg::CsrMatrix;

    #[test]
    fn retarget_makes_c_orthonormal_and_equal_to_a_u() {
        let n = 50;
        let mut t = Vec::new();
        for i in 0..n {
            t.push((i, i, 2.0 + i as f64 * 0.1));
            if i + 1 < n {
                t.push((i, i + 1, -0.7));
            }
            if i > 0 {
                t.push((i, i - 1, -0.3));
            }
        }
        let a = CsrMatrix::from_triplets(n, n, &t).unwrap();
        let k = 4;
        // third column a combination of the first two: dropped
        let mut u = vec![0.0; n * k];
        for i in 0..n {
            u[i] = (i as f64).sin();
            u[n + i] = (i as f64 * 0.3).cos();
            u[2 * n + i] = 2.0 * u[i] - u[n + i];
            u[3 * n + i] = 1.0 / (1.0 + i as f64);
        }
        // independent columns 0, 1, 3: all kept
        let mut good = Vec::new();
        for c in [0, 1, 3] {
            good.extend_from_slice(&u[c * n..(c + 1) * n]);
        }
        let mut sp = RecycleSpace::from_vectors(n, 3, good);
        sp.retarget(&a, &None);
        check(&a, &sp, n);
        // with a dependent column: dropped
        let mut sp = RecycleSpace::from_vectors(n, k, u);
        sp.retarget(&a, &None);
        assert_eq!(sp.dim(), 3);
        check(&a, &sp, n);
    }

    fn check(a: &CsrMatrix, sp: &RecycleSpace, n: usize) {
        assert_eq!(sp.dim(), 3);
        let mut au = vec![0.0; n];
        for i in 0..3 {
            let ci = &sp.c()[i * n..(i + 1) * n];
            for l in 0..3 {
                let cl = &sp.c()[l * n..(l + 1) * n];
                let want = if i == l { 1.0 } else { 0.0 };
                assert!((dot(ci, cl) - want).abs() < 1e-12);
            }
            a.mul_vec(&sp.u()[i * n..(i + 1) * n], &mut au);
            for (x, y) in au.iter().zip(ci) {
                assert!((x - y).abs() < 1e-10);
            }
        }
    }
}
