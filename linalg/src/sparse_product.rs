//! Sparse matrix–matrix products (SpGEMM), in parallel over rows.
//!
//! Gustavson's row-by-row algorithm: row `i` of `A B` accumulates `a_ik · (row k
//! of B)` in a dense scratch row indexed by column, then gathers the touched
//! columns in increasing order. Each rayon task owns its scratch (one `f64` and
//! one `u32` per column of `B`), so the product runs without locks and gives the
//! same result, bit for bit, on any number of threads (each row is summed in
//! the same order). The algebraic multigrid setup's Galerkin products
//! `Pᵀ (A P)` are its main users.

use crate::csr::{rows_per_task, CsrMatrix};
use crate::error::{LinalgError, Result};
use rayon::prelude::*;

/// The rows `rows` of `A B`: (row lengths, columns, values).
fn product_rows(
    a: &CsrMatrix,
    b: &CsrMatrix,
    rows: std::ops::Range<usize>,
) -> (Vec<u32>, Vec<u32>, Vec<f64>) {
    let nc = b.ncols();
    let mut acc = vec![0.0f64; nc];
    // marker[j] == row + 1 when column j was touched by `row`
    let mut marker = vec![0u32; nc];
    let mut touched: Vec<u32> = Vec::new();
    let (mut lens, mut cols, mut vals) = (Vec::with_capacity(rows.len()), Vec::new(), Vec::new());
    for i in rows {
        touched.clear();
        let stamp = i as u32 + 1;
        let (ac, av) = a.row(i);
        for (&k, &aik) in ac.iter().zip(av) {
            let (bc, bv) = b.row(k as usize);
            for (&j, &bkj) in bc.iter().zip(bv) {
                let j = j as usize;
                if marker[j] != stamp {
                    marker[j] = stamp;
                    acc[j] = aik * bkj;
                    touched.push(j as u32);
                } else {
                    acc[j] += aik * bkj;
                }
            }
        }
        touched.sort_unstable();
        for &j in &touched {
            cols.push(j);
            vals.push(acc[j as usize]);
        }
        lens.push(touched.len() as u32);
    }
    (lens, cols, vals)
}

/// Rows built by one task: their lengths, then their columns and values back to back.
pub(crate) type RowBlock = (Vec<u32>, Vec<u32>, Vec<f64>);

/// An `n × ncols` CSR matrix whose rows `rows(range)` builds block by block (each row's
/// columns sorted and distinct) — in parallel blocks of [`rows_per_task`] rows when
/// `parallel`, in one block otherwise — concatenated in row order, so the result does
/// not depend on the number of threads. Fails past the `u32` entry limit.
pub(crate) fn build_rows(
    n: usize,
    ncols: usize,
    parallel: bool,
    rows: impl Fn(std::ops::Range<usize>) -> RowBlock + Sync,
) -> Result<CsrMatrix> {
    let parts: Vec<RowBlock> = if parallel {
        let chunk = rows_per_task(n).max(1);
        (0..n.div_ceil(chunk))
            .into_par_iter()
            .map(|c| rows(c * chunk..((c + 1) * chunk).min(n)))
            .collect()
    } else {
        vec![rows(0..n)]
    };
    let nnz: usize = parts.iter().map(|p| p.1.len()).sum();
    if nnz >= u32::MAX as usize {
        return Err(LinalgError::InvalidMatrix(format!(
            "sparse product has {nnz} entries, over the u32 index limit"
        )));
    }
    let mut row_ptr = Vec::with_capacity(n + 1);
    row_ptr.push(0u32);
    let (mut col_idx, mut values) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for (lens, cols, vals) in parts {
        for l in lens {
            let last = *row_ptr.last().expect("starts with 0");
            row_ptr.push(last + l);
        }
        col_idx.extend_from_slice(&cols);
        values.extend_from_slice(&vals);
    }
    Ok(CsrMatrix::from_validated(n, ncols, row_ptr, col_idx, values))
}

/// `A B` for CSR matrices with `A.ncols() == B.nrows()`. Entries that cancel to
/// zero stay stored (the pattern is the structural product), so products of
/// matrices with fixed patterns have fixed patterns.
pub fn spgemm(a: &CsrMatrix, b: &CsrMatrix) -> Result<CsrMatrix> {
    if a.ncols() != b.nrows() {
        return Err(LinalgError::dims(
            "sparse product: rows of B",
            a.ncols(),
            b.nrows(),
        ));
    }
    let parallel = a.nnz() + b.nnz() >= crate::csr::PAR_MIN_NNZ;
    build_rows(a.nrows(), b.ncols(), parallel, |rows| product_rows(a, b, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_sparse(r: usize, c: usize, density: f64, seed: u64) -> CsrMatrix {
        // a small LCG: the test needs variety, not statistics
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut t = Vec::new();
        for i in 0..r {
            for j in 0..c {
                if next() < density {
                    t.push((i, j, next() * 2.0 - 1.0));
                }
            }
        }
        CsrMatrix::from_triplets(r, c, &t).unwrap()
    }

    #[test]
    fn spgemm_matches_the_dense_product_serial_and_parallel() {
        for (r, k, c, d, seed) in [
            (7, 5, 9, 0.4, 1),
            (40, 30, 50, 0.1, 2),
            (600, 500, 400, 0.05, 3),
            (2000, 1500, 1000, 0.02, 4),
        ] {
            let a = random_sparse(r, k, d, seed);
            let b = random_sparse(k, c, d, seed + 10);
            let p = spgemm(&a, &b).unwrap();
            let dense = a.to_dense() * b.to_dense();
            let pd = p.to_dense();
            for i in 0..r {
                for j in 0..c {
                    assert!((pd[(i, j)] - dense[(i, j)]).abs() < 1e-12, "({i},{j})");
                }
            }
            // one thread gives the same bits
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let q = pool.install(|| spgemm(&a, &b).unwrap());
            assert_eq!(q.values(), p.values());
            assert_eq!(q.col_idx(), p.col_idx());
        }
        assert!(spgemm(&random_sparse(3, 4, 0.5, 1), &random_sparse(3, 4, 0.5, 2)).is_err());
    }
}
