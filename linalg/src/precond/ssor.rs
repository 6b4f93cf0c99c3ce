use crate::error::{LinalgError, Result};
use crate::operator::Preconditioner;
use crate::CsrMatrix;

/// SSOR preconditioner `M = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω))`, applied by a
/// forward and a backward triangular sweep over A itself (no extra storage
/// beyond the diagonal positions). Symmetric positive definite when A is and
/// 0 < ω < 2.
#[derive(Clone, Debug)]
pub struct Ssor {
    a: CsrMatrix,
    diag_pos: Vec<usize>,
    omega: f64,
}

impl Ssor {
    /// Builds SSOR(ω); fails on a missing or zero diagonal or ω outside (0, 2).
    pub fn new(a: &CsrMatrix, omega: f64) -> Result<Self> {
        if !(omega > 0.0 && omega < 2.0) {
            return Err(LinalgError::InvalidMatrix(format!(
                "SSOR relaxation ω = {omega} must lie in (0, 2)"
            )));
        }
        let diag_pos = a.diagonal_positions("ssor")?;
        for (row, &p) in diag_pos.iter().enumerate() {
            if a.values()[p] == 0.0 {
                return Err(LinalgError::ZeroPivot {
                    method: "ssor",
                    row,
                    pivot: 0.0,
                });
            }
        }
        Ok(Self {
            a: a.clone(),
            diag_pos,
            omega,
        })
    }
}

impl Preconditioner for Ssor {
    fn name(&self) -> &str {
        "ssor"
    }
    fn dim(&self) -> usize {
        self.a.nrows()
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        let (rp, ci, va) = (self.a.row_ptr(), self.a.col_idx(), self.a.values());
        let w = self.omega;
        let n = r.len();
        // forward: (D + ωL) y = ω(2 − ω) r
        for i in 0..n {
            let dp = self.diag_pos[i];
            let mut s = w * (2.0 - w) * r[i];
            for p in rp[i] as usize..dp {
                s -= w * va[p] * z[ci[p] as usize];
            }
            z[i] = s / va[dp];
        }
        // y ← D y
        for i in 0..n {
            z[i] *= va[self.diag_pos[i]];
        }
        // backward: (D + ωU) z = y
        for i in (0..n).rev() {
            let dp = self.diag_pos[i];
            let mut s = z[i];
            for p in dp + 1..rp[i + 1] as usize {
                s -= w * va[p] * z[ci[p] as usize];
            }
            z[i] = s / va[dp];
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
    fn ssor_applies_the_inverse_of_its_dense_formula() {
        let a = laplacian(4, 0.3);
        let n = a.nrows();
        let w = 1.3;
        let p = Ssor::new(&a, w).unwrap();
        let d = a.to_dense();
        // M = (D + ωL) D⁻¹ (D + ωU) / (ω(2−ω)); check M z = r.
        let mut lo = faer::Mat::<f64>::zeros(n, n);
        let mut up = faer::Mat::<f64>::zeros(n, n);
        let mut dinv = faer::Mat::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..n {
                if j < i {
                    lo[(i, j)] = w * d[(i, j)];
                } else if j > i {
                    up[(i, j)] = w * d[(i, j)];
                } else {
                    lo[(i, i)] = d[(i, i)];
                    up[(i, i)] = d[(i, i)];
                    dinv[(i, i)] = 1.0 / d[(i, i)];
                }
            }
        }
        let m = &lo * &dinv * &up;
        let c = 1.0 / (w * (2.0 - w));
        let r: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos()).collect();
        let mut z = vec![0.0; n];
        p.apply(&r, &mut z);
        for i in 0..n {
            let mz: f64 = c * (0..n).map(|j| m[(i, j)] * z[j]).sum::<f64>();
            assert!((mz - r[i]).abs() < 1e-12, "row {i}: {mz} vs {}", r[i]);
        }
        assert!(Ssor::new(&a, 2.0).is_err());
    }
}
