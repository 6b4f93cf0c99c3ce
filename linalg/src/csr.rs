//! Compressed sparse row matrices on faer's `SparseRowMat<u32, f64>`.
//!
//! Indices are `u32`: a matrix may hold up to 2³²−1 entries, which covers
//! everything that fits one machine's memory in f64 (≥ 48 GB), and each stored
//! entry then moves 12 bytes instead of 16 through SpMV.

use crate::error::{check_finite, LinalgError, Result};
use crate::operator::LinearOperator;
use faer::sparse::{SparseColMat, SparseRowMat, SparseRowMatRef, SymbolicSparseRowMat};
use rayon::prelude::*;

/// Below this many stored entries SpMV runs serially: rayon's fork/join costs
/// more than it saves on problems that sit in cache.
pub const PAR_MIN_NNZ: usize = 50_000;

/// A real sparse matrix in CSR form with sorted, duplicate-free rows.
#[derive(Clone, Debug)]
pub struct CsrMatrix {
    inner: SparseRowMat<u32, f64>,
}

impl CsrMatrix {
    /// Builds a matrix from `(row, col, value)` triplets; duplicates are summed
    /// (the Matrix Market and finite-element assembly convention).
    pub fn from_triplets(nrows: usize, ncols: usize, triplets: &[(usize, usize, f64)]) -> Result<Self> {
        check_u32(nrows, "number of rows")?;
        check_u32(ncols, "number of columns")?;
        check_u32(triplets.len(), "number of entries")?;
        let mut counts = vec![0u32; nrows + 1];
        for (k, &(i, j, v)) in triplets.iter().enumerate() {
            if i >= nrows || j >= ncols {
                return Err(LinalgError::InvalidMatrix(format!(
                    "entry {k} at ({i}, {j}) lies outside the {nrows}×{ncols} matrix"
                )));
            }
            if !v.is_finite() {
                return Err(LinalgError::NonFinite {
                    what: format!("matrix entry ({i}, {j})"),
                    index: k,
                    value: v,
                });
            }
            counts[i + 1] += 1;
        }
        for i in 0..nrows {
            counts[i + 1] += counts[i];
        }
        // Bucket by row, then sort each row by column and merge duplicates.
        let mut next = counts.clone();
        let mut cols = vec![0u32; triplets.len()];
        let mut vals = vec![0f64; triplets.len()];
        for &(i, j, v) in triplets {
            let p = next[i] as usize;
            cols[p] = j as u32;
            vals[p] = v;
            next[i] += 1;
        }
        let mut row_ptr = Vec::with_capacity(nrows + 1);
        let mut col_idx = Vec::with_capacity(triplets.len());
        let mut values = Vec::with_capacity(triplets.len());
        row_ptr.push(0u32);
        let mut perm: Vec<usize> = Vec::new();
        for i in 0..nrows {
            let (s, e) = (counts[i] as usize, counts[i + 1] as usize);
            perm.clear();
            perm.extend(s..e);
            // stable: duplicates are summed in input order, so the result is
            // reproducible and equals a dense accumulation bit for bit
            perm.sort_by_key(|&p| cols[p]);
            for &p in &perm {
                if col_idx.len() > row_ptr[i] as usize && *col_idx.last().unwrap_or(&u32::MAX) == cols[p] {
                    *values.last_mut().expect("non-empty row") += vals[p];
                } else {
                    col_idx.push(cols[p]);
                    values.push(vals[p]);
                }
            }
            row_ptr.push(col_idx.len() as u32);
        }
        // SAFETY-free path: the arrays were built sorted and in range above.
        Ok(Self::from_validated(nrows, ncols, row_ptr, col_idx, values))
    }

    /// Builds a matrix from raw CSR arrays, checking every structural invariant
    /// (monotone row pointers, in-range, strictly increasing columns per row,
    /// finite values).
    pub fn from_raw_parts(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<u32>,
        col_idx: Vec<u32>,
        values: Vec<f64>,
    ) -> Result<Self> {
        check_u32(nrows, "number of rows")?;
        check_u32(ncols, "number of columns")?;
        if row_ptr.len() != nrows + 1 {
            return Err(LinalgError::dims(
                "CSR row pointer length",
                nrows + 1,
                row_ptr.len(),
            ));
        }
        if col_idx.len() != values.len() {
            return Err(LinalgError::dims(
                "CSR values length",
                col_idx.len(),
                values.len(),
            ));
        }
        if row_ptr[0] != 0 || row_ptr[nrows] as usize != col_idx.len() {
            return Err(LinalgError::InvalidMatrix(format!(
                "row pointers must run from 0 to nnz = {}, found {}..{}",
                col_idx.len(),
                row_ptr[0],
                row_ptr[nrows]
            )));
        }
        for i in 0..nrows {
            let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
            if s > e {
                return Err(LinalgError::InvalidMatrix(format!(
                    "row pointers decrease at row {i}"
                )));
            }
            if e > col_idx.len() {
                return Err(LinalgError::InvalidMatrix(format!(
                    "row {i} ends at {e}, past nnz = {}",
                    col_idx.len()
                )));
            }
            let row = &col_idx[s..e];
            for (k, &j) in row.iter().enumerate() {
                if j as usize >= ncols {
                    return Err(LinalgError::InvalidMatrix(format!(
                        "row {i}: column {j} out of range (ncols = {ncols})"
                    )));
                }
                if k > 0 && row[k - 1] >= j {
                    return Err(LinalgError::InvalidMatrix(format!(
                        "row {i}: columns not strictly increasing ({} then {j})",
                        row[k - 1]
                    )));
                }
            }
        }
        check_finite("matrix values", &values)?;
        Ok(Self::from_validated(nrows, ncols, row_ptr, col_idx, values))
    }

    pub(crate) fn from_validated(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<u32>,
        col_idx: Vec<u32>,
        values: Vec<f64>,
    ) -> Self {
        // The invariants faer checks were established by the callers; faer's
        // own check is cheap (linear) and keeps us honest.
        let symbolic = SymbolicSparseRowMat::new_checked(nrows, ncols, row_ptr, None, col_idx);
        Self {
            inner: SparseRowMat::new(symbolic, values),
        }
    }

    /// Wraps a faer matrix.
    pub fn from_faer(inner: SparseRowMat<u32, f64>) -> Result<Self> {
        let (symbolic, values) = inner.into_parts();
        let (nrows, ncols, row_ptr, row_nnz, col_idx) = symbolic.into_parts();
        if row_nnz.is_some() {
            return Err(LinalgError::InvalidMatrix(
                "non-compact faer matrix (row_nnz set); compact it first".into(),
            ));
        }
        Self::from_raw_parts(nrows, ncols, row_ptr, col_idx, values)
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.inner.nrows()
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.inner.ncols()
    }
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.inner.val().len()
    }
    /// Row pointers (`nrows + 1` entries).
    pub fn row_ptr(&self) -> &[u32] {
        self.inner.symbolic().row_ptr()
    }
    /// Column indices of all stored entries, row after row.
    pub fn col_idx(&self) -> &[u32] {
        self.inner.symbolic().col_idx()
    }
    /// Stored values, aligned with [`Self::col_idx`].
    pub fn values(&self) -> &[f64] {
        self.inner.val()
    }
    /// Mutable stored values (the pattern stays fixed).
    pub fn values_mut(&mut self) -> &mut [f64] {
        self.inner.val_mut()
    }
    /// Column indices and values of row `i`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let rp = self.row_ptr();
        let (s, e) = (rp[i] as usize, rp[i + 1] as usize);
        (&self.col_idx()[s..e], &self.values()[s..e])
    }
    /// The faer view, for faer's own algorithms.
    pub fn as_faer(&self) -> SparseRowMatRef<'_, u32, f64> {
        self.inner.as_ref()
    }
    /// The same matrix in compressed-column form (faer's factorizations take CSC).
    pub fn to_csc(&self) -> Result<SparseColMat<u32, f64>> {
        self.inner
            .as_ref()
            .to_col_major()
            .map_err(|e| LinalgError::InvalidMatrix(format!("CSR→CSC conversion failed: {e:?}")))
    }
    /// The transpose, as a new CSR matrix.
    pub fn transpose(&self) -> Result<Self> {
        let csc = self.to_csc()?;
        let (symbolic, values) = csc.into_parts();
        let (nrows, ncols, col_ptr, _, row_idx) = symbolic.into_parts();
        // CSC of A is CSR of Aᵀ: Aᵀ has ncols rows.
        Ok(Self::from_validated(ncols, nrows, col_ptr, row_idx, values))
    }

    /// Entry `(i, j)`, zero when not stored.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (cols, vals) = self.row(i);
        match cols.binary_search(&(j as u32)) {
            Ok(k) => vals[k],
            Err(_) => 0.0,
        }
    }

    /// The main diagonal (zeros where no entry is stored).
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.nrows().min(self.ncols()))
            .map(|i| self.get(i, i))
            .collect()
    }

    /// Position within the value array of each row's diagonal entry, or an
    /// error naming the first row that stores none.
    pub fn diagonal_positions(&self, method: &'static str) -> Result<Vec<usize>> {
        let rp = self.row_ptr();
        (0..self.nrows())
            .map(|i| {
                let (cols, _) = self.row(i);
                cols.binary_search(&(i as u32))
                    .map(|k| rp[i] as usize + k)
                    .map_err(|_| LinalgError::ZeroPivot {
                        method,
                        row: i,
                        pivot: 0.0,
                    })
            })
            .collect()
    }

    /// Whether the matrix is square and symmetric up to a relative tolerance
    /// `|a_ij − a_ji| ≤ tol · max|a|`. Costs one transpose.
    pub fn is_symmetric(&self, tol: f64) -> bool {
        if self.nrows() != self.ncols() {
            return false;
        }
        let Ok(t) = self.transpose() else { return false };
        if t.row_ptr() != self.row_ptr() || t.col_idx() != self.col_idx() {
            return false;
        }
        let scale = self.values().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        self.values()
            .iter()
            .zip(t.values())
            .all(|(a, b)| (a - b).abs() <= tol * scale)
    }

    /// `y = A x`, in parallel above [`PAR_MIN_NNZ`] stored entries.
    pub fn mul_vec(&self, x: &[f64], y: &mut [f64]) {
        assert_eq!(x.len(), self.ncols(), "SpMV: x has the wrong length");
        assert_eq!(y.len(), self.nrows(), "SpMV: y has the wrong length");
        let (rp, ci, va) = (self.row_ptr(), self.col_idx(), self.values());
        if self.nnz() < PAR_MIN_NNZ {
            spmv_rows(rp, ci, va, x, y, 0);
            return;
        }
        let chunk = rows_per_task(self.nrows());
        y.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(c, yc)| spmv_rows(rp, ci, va, x, yc, c * chunk));
    }

    /// `y = Aᵀ x` (serial scatter; build the transpose for repeated use).
    pub fn mul_vec_transpose(&self, x: &[f64], y: &mut [f64]) {
        assert_eq!(x.len(), self.nrows(), "SpMVᵀ: x has the wrong length");
        assert_eq!(y.len(), self.ncols(), "SpMVᵀ: y has the wrong length");
        y.fill(0.0);
        for (i, &xi) in x.iter().enumerate() {
            let (cols, vals) = self.row(i);
            for (&j, &a) in cols.iter().zip(vals) {
                y[j as usize] += a * xi;
            }
        }
    }

    /// Dense copy, for tests and tiny problems.
    pub fn to_dense(&self) -> faer::Mat<f64> {
        let mut m = faer::Mat::zeros(self.nrows(), self.ncols());
        for i in 0..self.nrows() {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                m[(i, j as usize)] = v;
            }
        }
        m
    }
}

/// Rows handed to one rayon task: about four tasks per thread, never fewer
/// than 1024 rows.
pub(crate) fn rows_per_task(n: usize) -> usize {
    let tasks = rayon::current_num_threads().max(1) * 4;
    n.div_ceil(tasks).max(1024)
}

/// The SpMV inner loop over rows `first..first + y.len()`.
///
/// One running position `p` walks the stored entries of consecutive rows
/// (rows are contiguous in CSR), and indexing is unchecked: with bounds
/// checks and per-row slicing this loop ran 1.35x slower on the n = 10⁶
/// Poisson matrix (`benches/kernels.rs`).
#[inline]
fn spmv_rows(rp: &[u32], ci: &[u32], va: &[f64], x: &[f64], y: &mut [f64], first: usize) {
    assert!(first + y.len() < rp.len(), "SpMV: rows out of range");
    assert_eq!(ci.len(), va.len());
    // SAFETY: rows first..first+y.len() exist (asserted above); their row
    // pointers are monotone and end at most at nnz = ci.len() = va.len(), and
    // every column index is < ncols == x.len() (all checked at construction,
    // x's length asserted by the caller).
    unsafe {
        let mut p = *rp.get_unchecked(first) as usize;
        let term = |p: usize| *va.get_unchecked(p) * *x.get_unchecked(*ci.get_unchecked(p) as usize);
        for (k, yi) in y.iter_mut().enumerate() {
            let e = *rp.get_unchecked(first + k + 1) as usize;
            let (mut a0, mut a1) = (0.0, 0.0);
            while p + 2 <= e {
                a0 += term(p);
                a1 += term(p + 1);
                p += 2;
            }
            if p < e {
                a0 += term(p);
                p += 1;
            }
            *yi = a0 + a1;
        }
    }
}

fn check_u32(n: usize, what: &str) -> Result<()> {
    if n >= u32::MAX as usize {
        return Err(LinalgError::InvalidMatrix(format!(
            "{what} = {n} exceeds the u32 index range of CsrMatrix"
        )));
    }
    Ok(())
}

impl LinearOperator for CsrMatrix {
    fn nrows(&self) -> usize {
        CsrMatrix::nrows(self)
    }
    fn ncols(&self) -> usize {
        CsrMatrix::ncols(self)
    }
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        self.mul_vec(x, y)
    }
    fn apply_transpose(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        self.mul_vec_transpose(x, y);
        Ok(())
    }
    fn as_csr(&self) -> Option<&CsrMatrix> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CsrMatrix {
        CsrMatrix::from_triplets(
            3,
            3,
            &[
                (0, 0, 4.0),
                (0, 1, -1.0),
                (1, 0, -1.0),
                (1, 1, 4.0),
                (2, 2, 2.0),
                (1, 2, 0.5),
                (1, 1, 1.0),
            ],
        )
        .unwrap()
    }

    #[test]
    fn raw_parts_with_a_row_past_nnz_are_an_error_not_a_panic() {
        // a row pointer past nnz before the one that decreases (found from Python)
        let e = CsrMatrix::from_raw_parts(2, 3, vec![0, 5, 2], vec![0, 1], vec![1.0, 2.0]);
        assert!(matches!(e, Err(LinalgError::InvalidMatrix(m)) if m.contains("past nnz")));
    }

    #[test]
    fn triplets_sum_duplicates_and_sort() {
        let a = small();
        assert_eq!(a.nnz(), 6);
        assert_eq!(a.get(1, 1), 5.0);
        assert_eq!(a.row(1).0, &[0, 1, 2]);
    }

    #[test]
    fn spmv_matches_dense_serial_and_parallel() {
        let a = small();
        let x = [1.0, 2.0, 3.0];
        let mut y = [0.0; 3];
        a.mul_vec(&x, &mut y);
        let d = a.to_dense();
        for i in 0..3 {
            let e: f64 = (0..3).map(|j| d[(i, j)] * x[j]).sum();
            assert!((y[i] - e).abs() < 1e-14);
        }
        // a large banded matrix exercises the parallel path
        let n = 60_000;
        let mut t = Vec::new();
        for i in 0..n {
            t.push((i, i, 2.0 + (i % 7) as f64));
            if i > 0 {
                t.push((i, i - 1, -1.0));
            }
            if i + 1 < n {
                t.push((i, i + 1, -0.5));
            }
        }
        let a = CsrMatrix::from_triplets(n, n, &t).unwrap();
        assert!(a.nnz() >= PAR_MIN_NNZ);
        let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut y = vec![0.0; n];
        a.mul_vec(&x, &mut y);
        let mut ys = vec![0.0; n];
        spmv_rows(a.row_ptr(), a.col_idx(), a.values(), &x, &mut ys, 0);
        assert_eq!(y, ys);
    }

    #[test]
    fn transpose_and_symmetry() {
        let a = small();
        let t = a.transpose().unwrap();
        assert_eq!(t.get(2, 1), 0.5);
        assert_eq!(t.get(1, 2), 0.0);
        assert!(!a.is_symmetric(1e-12));
        let s =
            CsrMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (0, 1, 2.0), (1, 0, 2.0), (1, 1, 3.0)]).unwrap();
        assert!(s.is_symmetric(0.0));
        let x = [1.0, -2.0, 0.5];
        let (mut y1, mut y2) = ([0.0; 3], [0.0; 3]);
        a.mul_vec_transpose(&x, &mut y1);
        t.mul_vec(&x, &mut y2);
        assert_eq!(y1, y2);
    }

    #[test]
    fn bad_structure_is_an_error() {
        assert!(CsrMatrix::from_triplets(2, 2, &[(2, 0, 1.0)]).is_err());
        assert!(matches!(
            CsrMatrix::from_triplets(2, 2, &[(0, 0, f64::NAN)]),
            Err(LinalgError::NonFinite { .. })
        ));
        assert!(CsrMatrix::from_raw_parts(2, 2, vec![0, 2, 1], vec![0, 1], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::from_raw_parts(1, 2, vec![0, 2], vec![1, 0], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::from_raw_parts(1, 2, vec![0, 2], vec![0, 1], vec![1.0, 1.0]).is_ok());
    }
}
