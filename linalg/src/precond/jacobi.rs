use crate::error::{LinalgError, Result};
use crate::operator::Preconditioner;
use crate::CsrMatrix;

/// Jacobi (diagonal) preconditioner `M = diag(A)`, or `|diag(A)|` for use
/// with MINRES on indefinite matrices, where M must be positive definite.
#[derive(Clone, Debug)]
pub struct Jacobi {
    inv_diag: Vec<f64>,
    positive: bool,
}

impl Jacobi {
    /// `M = diag(A)`; fails on a zero or missing diagonal entry.
    pub fn new(a: &CsrMatrix) -> Result<Self> {
        Self::build(a, false)
    }
    /// `M = |diag(A)|` (symmetric positive definite whenever the diagonal has no zero).
    pub fn new_abs(a: &CsrMatrix) -> Result<Self> {
        Self::build(a, true)
    }
    fn build(a: &CsrMatrix, abs: bool) -> Result<Self> {
        let d = a.diagonal();
        let mut inv_diag = Vec::with_capacity(d.len());
        for (row, &v) in d.iter().enumerate() {
            if v == 0.0 {
                return Err(LinalgError::ZeroPivot {
                    method: "jacobi",
                    row,
                    pivot: v,
                });
            }
            inv_diag.push(if abs { 1.0 / v.abs() } else { 1.0 / v });
        }
        let positive = inv_diag.iter().all(|&v| v > 0.0);
        Ok(Self { inv_diag, positive })
    }
}

impl Preconditioner for Jacobi {
    fn name(&self) -> &str {
        "jacobi"
    }
    fn dim(&self) -> usize {
        self.inv_diag.len()
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        for ((zi, ri), di) in z.iter_mut().zip(r).zip(&self.inv_diag) {
            *zi = ri * di;
        }
    }
    fn is_symmetric(&self) -> bool {
        self.positive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_inverts_the_diagonal_and_rejects_zeros() {
        let a = CsrMatrix::from_triplets(2, 2, &[(0, 0, 2.0), (1, 1, -4.0), (0, 1, 1.0)]).unwrap();
        let mut z = [0.0; 2];
        Jacobi::new(&a).unwrap().apply(&[1.0, 1.0], &mut z);
        assert_eq!(z, [0.5, -0.25]);
        Jacobi::new_abs(&a).unwrap().apply(&[1.0, 1.0], &mut z);
        assert_eq!(z, [0.5, 0.25]);
        let s = CsrMatrix::from_triplets(2, 2, &[(0, 0, 2.0), (0, 1, 1.0)]).unwrap();
        assert!(matches!(
            Jacobi::new(&s),
            Err(LinalgError::ZeroPivot { row: 1, .. })
        ));
    }
}
