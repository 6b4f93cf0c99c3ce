use crate::error::{LinalgError, Result};
use crate::operator::Preconditioner;
use crate::CsrMatrix;

/// IC(0): `A ≈ L Lᵀ` with `L` restricted to the pattern of A's lower triangle.
///
/// `L = D L̃` is stored as its diagonal `D` and the strictly lower part of
/// the unit lower `L̃ = D⁻¹ L`, by rows. The triangular solves are
/// latency-bound (each unknown waits for its neighbour), so the scaling is
/// taken off their dependency chains: `L̃ y = D⁻¹ r` forward, then
/// `L̃ᵀ u = y` backward by scattering along the same rows, and `z = D⁻¹ u`.
#[derive(Clone, Debug)]
pub struct Ic0 {
    row_ptr: Vec<u32>,
    col_idx: Vec<u32>,
    /// `l_ij / l_ii` for j < i.
    scaled: Vec<f64>,
    /// `1 / l_ii`.
    inv_diag: Vec<f64>,
}

impl Ic0 {
    /// Factorises the lower triangle of the symmetric matrix `a` (the upper
    /// triangle is ignored); fails with the row where a pivot is not positive.
    pub fn new(a: &CsrMatrix) -> Result<Self> {
        let n = a.nrows();
        let mut row_ptr = Vec::with_capacity(n + 1);
        let mut col_idx = Vec::new();
        let mut values = Vec::new();
        row_ptr.push(0u32);
        for i in 0..n {
            let (cols, vals) = a.row(i);
            let mut has_diag = false;
            for (&j, &v) in cols.iter().zip(vals) {
                if (j as usize) <= i {
                    col_idx.push(j);
                    values.push(v);
                    has_diag |= j as usize == i;
                }
            }
            if !has_diag {
                return Err(LinalgError::NotPositiveDefinite {
                    method: "ic0",
                    row: i,
                    pivot: 0.0,
                });
            }
            row_ptr.push(col_idx.len() as u32);
        }
        // Left-looking row factorisation: l_ik = (a_ik − Σ_m l_im l_km) / l_kk.
        for i in 0..n {
            let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
            for p in s..e - 1 {
                let k = col_idx[p] as usize;
                let (ks, ke) = (row_ptr[k] as usize, row_ptr[k + 1] as usize);
                // sparse dot of row i (entries before p) and row k (before its diagonal)
                let (mut a, mut b, mut sum) = (s, ks, 0.0);
                while a < p && b < ke - 1 {
                    let (ca, cb) = (col_idx[a], col_idx[b]);
                    if ca == cb {
                        sum += values[a] * values[b];
                        a += 1;
                        b += 1;
                    } else if ca < cb {
                        a += 1;
                    } else {
                        b += 1;
                    }
                }
                values[p] = (values[p] - sum) / values[ke - 1];
            }
            let sq: f64 = values[s..e - 1].iter().map(|v| v * v).sum();
            let d = values[e - 1] - sq;
            if d.is_nan() || d <= 0.0 || !d.is_finite() {
                return Err(LinalgError::NotPositiveDefinite {
                    method: "ic0",
                    row: i,
                    pivot: d,
                });
            }
            values[e - 1] = d.sqrt();
        }
        // split into D and the strictly lower part of D⁻¹L
        let mut inv_diag = Vec::with_capacity(n);
        let mut lp = Vec::with_capacity(n + 1);
        let mut lc = Vec::with_capacity(col_idx.len() - n);
        let mut lv = Vec::with_capacity(col_idx.len() - n);
        lp.push(0u32);
        for i in 0..n {
            let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
            let d = values[e - 1];
            inv_diag.push(1.0 / d);
            for p in s..e - 1 {
                lc.push(col_idx[p]);
                lv.push(values[p] / d);
            }
            lp.push(lc.len() as u32);
        }
        Ok(Self {
            row_ptr: lp,
            col_idx: lc,
            scaled: lv,
            inv_diag,
        })
    }

    /// The factor `L` (dense), for tests.
    #[cfg(test)]
    fn dense_l(&self) -> faer::Mat<f64> {
        let n = self.inv_diag.len();
        let mut l = faer::Mat::<f64>::zeros(n, n);
        for i in 0..n {
            let d = 1.0 / self.inv_diag[i];
            l[(i, i)] = d;
            for p in self.row_ptr[i] as usize..self.row_ptr[i + 1] as usize {
                l[(i, self.col_idx[p] as usize)] = self.scaled[p] * d;
            }
        }
        l
    }
}

impl Preconditioner for Ic0 {
    fn name(&self) -> &str {
        "ic0"
    }
    fn dim(&self) -> usize {
        self.inv_diag.len()
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        let (rp, ci, lv, inv) = (&self.row_ptr, &self.col_idx, &self.scaled, &self.inv_diag);
        let n = inv.len();
        assert!(r.len() == n && z.len() == n, "ic0: vector length");
        // SAFETY: rp has n + 1 monotone entries ending at lv.len() = ci.len(),
        // and every column index is < i < n (built in `new`); r, z have n entries.
        unsafe {
            // L̃ y = D⁻¹ r
            for i in 0..n {
                let (s, e) = (*rp.get_unchecked(i) as usize, *rp.get_unchecked(i + 1) as usize);
                let mut acc = *r.get_unchecked(i) * *inv.get_unchecked(i);
                for p in s..e {
                    acc -= *lv.get_unchecked(p) * *z.get_unchecked(*ci.get_unchecked(p) as usize);
                }
                *z.get_unchecked_mut(i) = acc;
            }
            // L̃ᵀ u = y (scatter along rows, last row first), then z = D⁻¹ u
            for i in (0..n).rev() {
                let (s, e) = (*rp.get_unchecked(i) as usize, *rp.get_unchecked(i + 1) as usize);
                let ui = *z.get_unchecked(i);
                for p in s..e {
                    *z.get_unchecked_mut(*ci.get_unchecked(p) as usize) -= *lv.get_unchecked(p) * ui;
                }
                *z.get_unchecked_mut(i) = ui * *inv.get_unchecked(i);
            }
        }
    }
    fn is_symmetric(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precond::test_support::laplacian;

    #[test]
    fn ic0_matches_a_on_its_pattern_and_is_exact_for_trees() {
        let a = laplacian(6, 0.0);
        let f = Ic0::new(&a).unwrap();
        let n = a.nrows();
        let l = f.dense_l();
        let llt = &l * l.transpose();
        for i in 0..n {
            let (cols, vals) = a.row(i);
            for (&j, &aij) in cols.iter().zip(vals) {
                assert!((llt[(i, j as usize)] - aij).abs() < 1e-12);
            }
        }
        // apply() solves L Lᵀ z = r
        let r: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let mut z = vec![0.0; n];
        f.apply(&r, &mut z);
        for i in 0..n {
            let s: f64 = (0..n).map(|j| llt[(i, j)] * z[j]).sum();
            assert!((s - r[i]).abs() < 1e-10);
        }
    }

    #[test]
    fn ic0_rejects_an_indefinite_matrix_with_its_row() {
        let a = laplacian(4, -3.5); // diagonal 0.5: indefinite
        match Ic0::new(&a) {
            Err(LinalgError::NotPositiveDefinite { row, .. }) => assert!(row > 0),
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
    }
}
