//! A validated sparse linear system.

use crate::capability::{Dimension, LinearSystem};
use crate::error::{ProblemError, Result};
use solvent_linalg::error::check_finite;
use solvent_linalg::{CsrMatrix, LinalgError, LinearOperator};

/// `A x = b` with an assembled square matrix, checked on construction:
/// square, `b` of matching length, everything finite.
#[derive(Clone, Debug)]
pub struct LinearSystemProblem {
    a: CsrMatrix,
    b: Vec<f64>,
    x0: Option<Vec<f64>>,
}

impl LinearSystemProblem {
    /// Builds the system, rejecting non-square matrices, a right-hand side of
    /// the wrong length and non-finite values.
    pub fn new(a: CsrMatrix, b: Vec<f64>) -> Result<Self> {
        if a.nrows() != a.ncols() {
            return Err(ProblemError::Invalid(format!(
                "the matrix must be square, found {}×{}",
                a.nrows(),
                a.ncols()
            )));
        }
        if a.nrows() == 0 {
            return Err(LinalgError::Empty("0×0 matrix".into()).into());
        }
        if b.len() != a.nrows() {
            return Err(LinalgError::dims("right-hand side length (matrix rows)", a.nrows(), b.len()).into());
        }
        check_finite("right-hand side", &b)?;
        Ok(Self { a, b, x0: None })
    }

    /// Builds the system with `b = A·1` (so the exact solution is all ones)
    /// — the classic test right-hand side.
    pub fn with_ones_solution(a: CsrMatrix) -> Result<Self> {
        let mut b = vec![0.0; a.nrows()];
        a.mul_vec(&vec![1.0; a.ncols()], &mut b);
        Self::new(a, b)
    }

    /// Sets a starting guess (warm start).
    pub fn with_initial_guess(mut self, x0: Vec<f64>) -> Result<Self> {
        if x0.len() != self.a.ncols() {
            return Err(LinalgError::dims("initial guess length", self.a.ncols(), x0.len()).into());
        }
        check_finite("initial guess", &x0)?;
        self.x0 = Some(x0);
        Ok(self)
    }

    /// The matrix.
    pub fn a(&self) -> &CsrMatrix {
        &self.a
    }
    /// The right-hand side.
    pub fn b(&self) -> &[f64] {
        &self.b
    }
}

impl Dimension for LinearSystemProblem {
    fn dim(&self) -> usize {
        self.a.ncols()
    }
}

impl LinearSystem for LinearSystemProblem {
    fn operator(&self) -> &dyn LinearOperator {
        &self.a
    }
    fn rhs(&self) -> &[f64] {
        &self.b
    }
    fn initial_guess(&self) -> Option<&[f64]> {
        self.x0.as_deref()
    }
    fn matrix(&self) -> Option<&CsrMatrix> {
        Some(&self.a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let a = CsrMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (1, 1, 2.0)]).unwrap();
        assert!(LinearSystemProblem::new(a.clone(), vec![1.0]).is_err());
        assert!(LinearSystemProblem::new(a.clone(), vec![1.0, f64::NAN]).is_err());
        let rect = CsrMatrix::from_triplets(2, 3, &[(0, 0, 1.0)]).unwrap();
        assert!(LinearSystemProblem::new(rect, vec![1.0, 1.0]).is_err());
        let p = LinearSystemProblem::with_ones_solution(a).unwrap();
        assert_eq!(p.rhs(), &[1.0, 2.0]);
        assert!(p.clone().with_initial_guess(vec![0.0; 3]).is_err());
    }
}
