//! Strength of connection: which off-diagonal entries the aggregation follows.

use crate::CsrMatrix;

/// The strong neighbours of every node as a CSR pattern (`ptr`, `idx`), without
/// the diagonal: `j` is strongly connected to `i` when
/// `|a_ij| ≥ θ √|a_ii a_jj|` (the symmetric measure of Vaněk, Mandel and Brezina,
/// pyamg's `symmetric_strength_of_connection`). With `θ = 0` every stored
/// off-diagonal entry is strong, which is pyamg's and PETSc GAMG's default.
/// Explicitly stored zeros are never strong.
pub(super) fn strong_neighbours(a: &CsrMatrix, theta: f64) -> (Vec<u32>, Vec<u32>) {
    let d: Vec<f64> = a.diagonal().iter().map(|v| v.abs()).collect();
    let n = a.nrows();
    let mut ptr = Vec::with_capacity(n + 1);
    let mut idx = Vec::with_capacity(a.nnz());
    ptr.push(0u32);
    for i in 0..n {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let ju = j as usize;
            if ju != i && v != 0.0 && v.abs() >= theta * (d[i] * d[ju]).sqrt() {
                idx.push(j);
            }
        }
        ptr.push(idx.len() as u32);
    }
    (ptr, idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_couplings_are_dropped_by_the_symmetric_measure() {
        // row 0 couples strongly to 1 (|−1| ≥ 0.25·√(4·4)) and weakly to 2 (0.5 < 1)
        let a = CsrMatrix::from_triplets(
            3,
            3,
            &[
                (0, 0, 4.0),
                (0, 1, -1.0),
                (0, 2, -0.5),
                (1, 0, -1.0),
                (1, 1, 4.0),
                (2, 0, -0.5),
                (2, 2, 4.0),
            ],
        )
        .unwrap();
        let (p, i) = strong_neighbours(&a, 0.25);
        assert_eq!(p, vec![0, 1, 2, 2]);
        assert_eq!(i, vec![1, 0]);
        let (p, i) = strong_neighbours(&a, 0.0);
        assert_eq!(p, vec![0, 2, 3, 4]);
        assert_eq!(i, vec![1, 2, 0, 0]);
    }
}
