//! The dense core of GCRO-DR's recycled-space refresh: harmonic Ritz vectors of a
//! finished cycle, computed from the small factors only (no vector of length n), so
//! that the CPU solver and the GPU one (which forms the n-sized products on the
//! device) share one implementation.

use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};

/// The small (no vector-length) part of a cycle, for [`harmonic_ritz_coefficients`].
pub struct SmallCycle<'a> {
    /// Current recycle dimension.
    pub kk: usize,
    /// Arnoldi steps in the cycle.
    pub j: usize,
    /// `d_i = 1/‖u_i‖`.
    pub d: &'a [f64],
    /// `B = Cᵀ A M⁻¹ V`, column-major with leading dimension `ldb`.
    pub b: &'a [f64],
    /// Leading dimension of `b`.
    pub ldb: usize,
    /// Unrotated Hessenberg `H̄`, column-major with leading dimension `ldh`.
    pub h: &'a [f64],
    /// Leading dimension of `h`.
    pub ldh: usize,
}

/// The dense core of the harmonic Ritz refresh, shared by the CPU solver and
/// the GPU one (which computes the n-sized products on the device): given
/// `cvu = [C V]ᵀ U` (`(kk+j+1) × kk`), returns `(Q, P R⁻¹)` with the new
/// `C = [C V] Q` and `U = [U D, V] P R⁻¹` (at most `k` columns), or `None`
/// when the small eigenproblem fails.
pub fn harmonic_ritz_coefficients(
    cyc: &SmallCycle<'_>,
    k: usize,
    cvu: MatRef<'_, f64>,
) -> Option<(Mat<f64>, Mat<f64>)> {
    let (kk, j) = (cyc.kk, cyc.j);
    let s = kk + j;
    if s == 0 || k == 0 {
        return None;
    }
    let rows = s + 1;
    // Ĝ = [[D, B], [0, H̄]]
    let mut g = Mat::<f64>::zeros(rows, s);
    for i in 0..kk {
        g[(i, i)] = cyc.d[i];
    }
    for jj in 0..j {
        for i in 0..kk {
            g[(i, kk + jj)] = cyc.b[jj * cyc.ldb + i];
        }
        for i in 0..jj + 2 {
            g[(kk + i, kk + jj)] = cyc.h[jj * cyc.ldh + i];
        }
    }
    // T = [C V]ᵀ W,  W = [U D, V_{0..j}]
    let mut t = Mat::<f64>::zeros(rows, s);
    for i in 0..kk {
        for r in 0..rows {
            t[(r, i)] = cvu[(r, i)] * cyc.d[i];
        }
    }
    for jj in 0..j {
        t[(kk + jj, kk + jj)] = 1.0;
    }
    let gtg = g.transpose() * &g;
    let mut y = g.transpose() * &t;
    // (ĜᵀĜ)⁻¹ ĜᵀT z = μ z with μ = 1/θ: the largest |μ| are the smallest |θ|
    match gtg.llt(Side::Lower) {
        Ok(f) => f.solve_in_place(y.as_mut()),
        Err(_) => gtg.partial_piv_lu().solve_in_place(y.as_mut()),
    }
    if !y.as_ref().is_all_finite() {
        return None;
    }
    let eig = y.eigen().ok()?;
    let vals = eig.S();
    let vecs = eig.U();
    let mut idx: Vec<usize> = (0..s).collect();
    let mag = |i: usize| {
        let v = vals[i];
        v.re.hypot(v.im)
    };
    idx.sort_by(|&a, &b| mag(b).total_cmp(&mag(a)).then(a.cmp(&b)));
    let kmax = k.min(s);
    let mut p = Mat::<f64>::zeros(s, kmax);
    let mut cols = 0;
    let mut used = vec![false; s];
    for &i in &idx {
        if cols == kmax {
            break;
        }
        if used[i] || mag(i) == 0.0 {
            continue;
        }
        used[i] = true;
        let im = vals[i].im;
        for r in 0..s {
            p[(r, cols)] = vecs[(r, i)].re;
        }
        cols += 1;
        if im != 0.0 {
            // its conjugate partner carries the same information: use the
            // imaginary part as the second real vector of the pair
            if let Some(&partner) = idx.iter().find(|&&q| {
                !used[q]
                    && (vals[q].re - vals[i].re).abs() <= 1e-12 * mag(i)
                    && (vals[q].im + im).abs() <= 1e-12 * mag(i)
            }) {
                used[partner] = true;
                if cols < kmax {
                    for r in 0..s {
                        p[(r, cols)] = vecs[(r, i)].im;
                    }
                    cols += 1;
                }
            }
        }
    }
    if cols == 0 {
        return None;
    }
    let p = p.subcols(0, cols).to_owned();
    let gp = &g * &p;
    let qr = gp.qr();
    let q = qr.compute_thin_Q();
    let r = qr.thin_R().to_owned();
    let rmax = (0..cols).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    let kept = (0..cols)
        .position(|i| r[(i, i)].is_nan() || r[(i, i)].abs() <= 1e-12 * rmax)
        .unwrap_or(cols);
    if kept == 0 {
        return None;
    }
    // P R⁻¹ (upper triangular solve from the right), first `kept` columns
    let mut pr = Mat::<f64>::zeros(s, kept);
    for c in 0..kept {
        for rr in 0..s {
            let mut acc = p[(rr, c)];
            for l in 0..c {
                acc -= pr[(rr, l)] * r[(l, c)];
            }
            pr[(rr, c)] = acc / r[(c, c)];
        }
    }
    Some((q.subcols(0, kept).to_owned(), pr))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no recycled space (`kk = 0`) the harmonic Ritz values of a cycle are the
    /// eigenvalues of `H + h²_{j+1,j} H⁻ᵀ e_j e_jᵀ`; for a cycle that ended in an
    /// invariant subspace (`h_{j+1,j} = 0`) they are the eigenvalues of `H` itself, so
    /// the kept vector of a diagonal `H` is the unit vector of its smallest entry.
    #[test]
    fn keeps_the_smallest_harmonic_ritz_value() {
        let j = 3;
        let ldh = j + 1;
        // H̄ = diag(5, 0.5, 2) with a zero last row
        let mut h = vec![0.0; ldh * j];
        for (c, v) in [5.0, 0.5, 2.0].iter().enumerate() {
            h[c * ldh + c] = *v;
        }
        let cyc = SmallCycle {
            kk: 0,
            j,
            d: &[],
            b: &[],
            ldb: 1,
            h: &h,
            ldh,
        };
        let empty = Mat::<f64>::zeros(j + 1, 0);
        let (q, pr) = harmonic_ritz_coefficients(&cyc, 1, empty.as_ref()).unwrap();
        assert_eq!((q.ncols(), pr.ncols()), (1, 1));
        // P R⁻¹ is along e_1 (the 0.5 entry), and Q = Ĝ P R⁻¹ has unit norm
        assert!(pr[(0, 0)].abs() < 1e-12 && pr[(2, 0)].abs() < 1e-12);
        assert!((pr[(1, 0)].abs() - 2.0).abs() < 1e-12, "{:?}", pr);
        let qn: f64 = (0..=j).map(|i| q[(i, 0)] * q[(i, 0)]).sum::<f64>().sqrt();
        assert!((qn - 1.0).abs() < 1e-12);
    }
}
