//! A sparse design matrix stored both by columns (coordinate updates stream one column) and by
//! rows (a maintained gradient follows the rows an update reaches).

use crate::error::{ProblemError, Result};
use solvent_linalg::CsrMatrix;

/// `X` (samples × features) by columns and by rows.
#[derive(Clone, Debug)]
pub struct Design {
    rows: CsrMatrix,
    col_ptr: Vec<usize>,
    col_row: Vec<u32>,
    col_val: Vec<f64>,
}

impl Design {
    /// Builds both orientations from a CSR matrix; rejects non-finite entries (naming sample
    /// and feature) and an empty matrix.
    pub fn new(x: CsrMatrix) -> Result<Self> {
        let (n, p) = (x.nrows(), x.ncols());
        if n == 0 || p == 0 {
            return Err(ProblemError::Invalid(format!(
                "the design matrix is {n}×{p}: it needs samples and features"
            )));
        }
        // the column orientation and the solvers' per-feature vectors are sized by p,
        // which a file may declare far beyond what it holds (one entry at index 2·10⁹)
        solvent_linalg::mem::check(
            p as f64 * 64.0 + x.nnz() as f64 * 24.0,
            &format!("a design of {n} samples × {p} features"),
        )?;
        let mut count = vec![0usize; p + 1];
        for i in 0..n {
            let (cols, vals) = x.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                if !v.is_finite() {
                    return Err(ProblemError::Invalid(format!(
                        "feature {j} of sample {i} is {v} (features must be finite)"
                    )));
                }
                count[j as usize + 1] += 1;
            }
        }
        for j in 0..p {
            count[j + 1] += count[j];
        }
        let mut next = count.clone();
        let mut col_row = vec![0u32; x.nnz()];
        let mut col_val = vec![0f64; x.nnz()];
        for i in 0..n {
            let (cols, vals) = x.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let k = next[j as usize];
                col_row[k] = i as u32;
                col_val[k] = v;
                next[j as usize] += 1;
            }
        }
        Ok(Self {
            rows: x,
            col_ptr: count,
            col_row,
            col_val,
        })
    }

    /// Samples.
    pub fn nrows(&self) -> usize {
        self.rows.nrows()
    }
    /// Features.
    pub fn ncols(&self) -> usize {
        self.rows.ncols()
    }
    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.rows.nnz()
    }
    /// Column `j`: (sample indices, values).
    #[inline]
    pub fn col(&self, j: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.col_ptr[j], self.col_ptr[j + 1]);
        (&self.col_row[a..b], &self.col_val[a..b])
    }
    /// Row `i`: (feature indices, values).
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        self.rows.row(i)
    }
    /// The row-oriented matrix.
    pub fn csr(&self) -> &CsrMatrix {
        &self.rows
    }
    /// `‖X_j‖²` for every column.
    pub fn col_sq_norms(&self) -> Vec<f64> {
        (0..self.ncols())
            .map(|j| self.col(j).1.iter().map(|v| v * v).sum())
            .collect()
    }
    /// `out = Xᵀ v` (`v` of length n).
    pub fn mul_transpose(&self, v: &[f64], out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            let (r, x) = self.col(j);
            *o = r.iter().zip(x).map(|(&i, &a)| a * v[i as usize]).sum();
        }
    }
}
