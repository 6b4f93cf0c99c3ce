use super::PIVOT_TOL;
use crate::error::{LinalgError, Result};
use crate::operator::Preconditioner;
use crate::CsrMatrix;

/// ILU(0): `A ≈ L U` with unit lower `L` and upper `U` restricted to the
/// sparsity pattern of `A`, stored together in one copy of A's values.
#[derive(Clone, Debug)]
pub struct Ilu0 {
    lu: CsrMatrix,
    diag_pos: Vec<usize>,
    /// `1 / u_ii`, so the backward solve multiplies instead of dividing.
    inv_diag: Vec<f64>,
}

impl Ilu0 {
    /// Factorises; fails with the row of the first zero pivot (or a missing
    /// diagonal entry).
    pub fn new(a: &CsrMatrix) -> Result<Self> {
        let n = a.nrows();
        let diag_pos = a.diagonal_positions("ilu0")?;
        let mut lu = a.clone();
        let rp: Vec<usize> = lu.row_ptr().iter().map(|&p| p as usize).collect();
        let ci: Vec<usize> = lu.col_idx().iter().map(|&c| c as usize).collect();
        let vals = lu.values_mut();
        // pos[j] = position of column j in the current row, or usize::MAX.
        let mut pos = vec![usize::MAX; n];
        for i in 0..n {
            let (s, e) = (rp[i], rp[i + 1]);
            let row_scale = vals[s..e].iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for p in s..e {
                pos[ci[p]] = p;
            }
            for p in s..diag_pos[i] {
                let k = ci[p];
                let pivot = vals[diag_pos[k]];
                let lik = vals[p] / pivot;
                vals[p] = lik;
                for q in diag_pos[k] + 1..rp[k + 1] {
                    let t = pos[ci[q]];
                    if t != usize::MAX {
                        vals[t] -= lik * vals[q];
                    }
                }
            }
            let d = vals[diag_pos[i]];
            for p in s..e {
                pos[ci[p]] = usize::MAX;
            }
            if !d.is_finite() || d.abs() <= PIVOT_TOL * row_scale {
                return Err(LinalgError::ZeroPivot {
                    method: "ilu0",
                    row: i,
                    pivot: d,
                });
            }
        }
        let inv_diag: Vec<f64> = diag_pos.iter().map(|&p| 1.0 / lu.values()[p]).collect();
        // scale U's strict upper part by 1/u_ii: the backward solve then keeps
        // the scaling off its dependency chain, as IC(0) does
        {
            let vals = lu.values_mut();
            for i in 0..n {
                for v in &mut vals[diag_pos[i] + 1..rp[i + 1]] {
                    *v *= inv_diag[i];
                }
            }
        }
        Ok(Self {
            lu,
            diag_pos,
            inv_diag,
        })
    }
}

impl Preconditioner for Ilu0 {
    fn name(&self) -> &str {
        "ilu0"
    }
    fn dim(&self) -> usize {
        self.lu.nrows()
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        let (rp, ci, va) = (self.lu.row_ptr(), self.lu.col_idx(), self.lu.values());
        let (dp, inv) = (&self.diag_pos, &self.inv_diag);
        let n = inv.len();
        assert!(r.len() == n && z.len() == n, "ilu0: vector length");
        // SAFETY: the factor has A's validated CSR structure (n rows, columns
        // < n, diag_pos[i] inside row i); r and z have n entries.
        unsafe {
            // L y = r (unit lower)
            for i in 0..n {
                let mut s = *r.get_unchecked(i);
                for p in *rp.get_unchecked(i) as usize..*dp.get_unchecked(i) {
                    s -= *va.get_unchecked(p) * *z.get_unchecked(*ci.get_unchecked(p) as usize);
                }
                *z.get_unchecked_mut(i) = s;
            }
            // (D⁻¹U) z = D⁻¹ y; the far columns first, so the entry that
            // waits on z[i+1] (the nearest) comes last on the chain
            for i in (0..n).rev() {
                let mut s = *z.get_unchecked(i) * *inv.get_unchecked(i);
                for p in (*dp.get_unchecked(i) + 1..*rp.get_unchecked(i + 1) as usize).rev() {
                    s -= *va.get_unchecked(p) * *z.get_unchecked(*ci.get_unchecked(p) as usize);
                }
                *z.get_unchecked_mut(i) = s;
            }
        }
    }
    fn is_symmetric(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precond::test_support::laplacian;

    #[test]
    fn ilu0_is_exact_for_tridiagonal_and_matches_pattern_product() {
        // For a tridiagonal matrix ILU(0) has no dropped fill: M = A exactly.
        let n = 30;
        let mut t = Vec::new();
        for i in 0..n {
            t.push((i, i, 3.0 + i as f64 * 0.1));
            if i > 0 {
                t.push((i, i - 1, -1.0 - 0.01 * i as f64));
            }
            if i + 1 < n {
                t.push((i, i + 1, -0.7));
            }
        }
        let a = CsrMatrix::from_triplets(n, n, &t).unwrap();
        let p = Ilu0::new(&a).unwrap();
        let b: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut z = vec![0.0; n];
        p.apply(&b, &mut z);
        let mut az = vec![0.0; n];
        a.mul_vec(&z, &mut az);
        for i in 0..n {
            assert!((az[i] - b[i]).abs() < 1e-12);
        }
        // On a 2-D Laplacian, (L U)_ij = a_ij on the pattern of A.
        let a = laplacian(5, 0.0);
        let f = Ilu0::new(&a).unwrap();
        let lu = f.lu.to_dense();
        let nn = a.nrows();
        for i in 0..nn {
            let (cols, vals) = a.row(i);
            for (&j, &aij) in cols.iter().zip(vals) {
                let j = j as usize;
                let s: f64 = (0..=i.min(j))
                    .map(|k| {
                        let l = if k == i { 1.0 } else { lu[(i, k)] };
                        // stored upper entries are u_kj / u_kk
                        let u = if j == k {
                            lu[(k, k)]
                        } else {
                            lu[(k, j)] / f.inv_diag[k]
                        };
                        if k <= i {
                            l * u
                        } else {
                            0.0
                        }
                    })
                    .sum();
                assert!((s - aij).abs() < 1e-12, "({i},{j}): {s} vs {aij}");
            }
        }
    }

    #[test]
    fn ilu0_reports_the_zero_pivot_row() {
        // Row 1 becomes zero after elimination: [[1,1],[1,1]].
        let a =
            CsrMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (0, 1, 1.0), (1, 0, 1.0), (1, 1, 1.0)]).unwrap();
        assert!(matches!(
            Ilu0::new(&a),
            Err(LinalgError::ZeroPivot { row: 1, .. })
        ));
        let missing = CsrMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (1, 0, 1.0)]).unwrap();
        assert!(matches!(
            Ilu0::new(&missing),
            Err(LinalgError::ZeroPivot { row: 1, .. })
        ));
    }
}
