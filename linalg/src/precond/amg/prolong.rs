//! Prolongators: the tentative one from the aggregates and the near-null space,
//! smoothed by one damped Jacobi step.

use super::aggregate::UNAGGREGATED;
use crate::csr::{CsrMatrix, PAR_MIN_NNZ};
use crate::error::Result;
use crate::sparse_product::build_rows;

/// The tentative prolongator's entries for the constant near-null space: node `i`
/// of aggregate `c` gets `1/√|c|`, so every column has unit norm (the per-aggregate
/// QR of the constant vector). Unaggregated nodes get 0 (no entry).
pub(super) fn tentative_weights(agg: &[u32], count: usize) -> Vec<f64> {
    let mut size = vec![0usize; count];
    for &a in agg {
        if a != UNAGGREGATED {
            size[a as usize] += 1;
        }
    }
    agg.iter()
        .map(|&a| {
            if a == UNAGGREGATED {
                0.0
            } else {
                1.0 / (size[a as usize] as f64).sqrt()
            }
        })
        .collect()
}

/// `P = (I − ω D⁻¹ A) T` for the tentative `T` with one entry `t_i` in column
/// `agg[i]` per aggregated row. Row `i` of `A T` sums `a_ij t_j` by the aggregate of
/// `j`; the rows are independent, so they are built in parallel.
pub(super) fn smoothed_prolongator(
    a: &CsrMatrix,
    inv_diag: &[f64],
    agg: &[u32],
    t: &[f64],
    count: usize,
    omega: f64,
) -> Result<CsrMatrix> {
    let n = a.nrows();
    let rows = |range: std::ops::Range<usize>| {
        let mut acc = vec![0.0f64; count];
        let mut marker = vec![u32::MAX; count];
        let mut touched: Vec<u32> = Vec::new();
        let (mut lens, mut cols, mut vals) = (Vec::with_capacity(range.len()), Vec::new(), Vec::new());
        for i in range {
            touched.clear();
            let mut add = |c: u32, v: f64, touched: &mut Vec<u32>| {
                let cu = c as usize;
                if marker[cu] != i as u32 {
                    marker[cu] = i as u32;
                    acc[cu] = v;
                    touched.push(c);
                } else {
                    acc[cu] += v;
                }
            };
            if agg[i] != UNAGGREGATED {
                add(agg[i], t[i], &mut touched);
            }
            let scale = -omega * inv_diag[i];
            let (ac, av) = a.row(i);
            for (&j, &aij) in ac.iter().zip(av) {
                let j = j as usize;
                if agg[j] != UNAGGREGATED {
                    add(agg[j], scale * aij * t[j], &mut touched);
                }
            }
            touched.sort_unstable();
            for &c in &touched {
                cols.push(c);
                vals.push(acc[c as usize]);
            }
            lens.push(touched.len() as u32);
        }
        (lens, cols, vals)
    };
    build_rows(n, count, a.nnz() >= PAR_MIN_NNZ, rows)
}
