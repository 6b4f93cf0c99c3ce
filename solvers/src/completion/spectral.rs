//! Spectral initialisation: the top-k left singular vectors of the rescaled data
//! (1/p)·P_Ω(M) by a randomized range finder with two power iterations, computed from
//! the sparse entries only (never densified), then rows clipped to the incoherence
//! bound 2μ√(k/m) and re-orthonormalised (Jain, Netrapalli, Sanghavi 2013).

use super::omega::{Omega, Side};
use faer::{Mat, Side as Tri};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// `out (rows × l) = S · x (cols × l)`, S the sparse side scaled by `scale`.
pub(crate) fn sparse_times(side: Side<'_>, x: &[f64], l: usize, scale: f64) -> Vec<f64> {
    let mut out = vec![0.0; side.len() * l];
    out.par_chunks_mut(l).enumerate().for_each(|(i, row)| {
        for p in side.ptr[i]..side.ptr[i + 1] {
            let (j, v) = (side.idx[p] as usize, scale * side.val[p]);
            for (o, xv) in row.iter_mut().zip(&x[j * l..(j + 1) * l]) {
                *o += v * xv;
            }
        }
    });
    out
}

/// Orthonormal basis of the columns of `y` (rows × l, row-major), same layout.
fn orth(y: &[f64], rows: usize, l: usize) -> Vec<f64> {
    let m = Mat::<f64>::from_fn(rows, l, |i, c| y[i * l + c]);
    let q = m.qr().compute_thin_Q();
    let cols = q.ncols();
    let mut out = vec![0.0; rows * l];
    for i in 0..rows {
        for c in 0..cols.min(l) {
            out[i * l + c] = q[(i, c)];
        }
    }
    out
}

/// The initial U (m × k, row-major, orthonormal columns). `mu` scales the clipping
/// bound 2μ√(k/m) (`f64::INFINITY`: no clipping).
pub fn spectral_init(omega: &Omega, k: usize, mu: f64, seed: u64) -> Vec<f64> {
    spectral_init_with(
        Shape {
            m: omega.nrows(),
            n: omega.ncols(),
            observed: omega.len(),
        },
        k,
        mu,
        seed,
        &|x, l, scale| sparse_times(omega.by_rows(), x, l, scale),
        &|x, l, scale| sparse_times(omega.by_cols(), x, l, scale),
    )
}

/// The size of the data a spectral start works on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub m: usize,
    pub n: usize,
    pub observed: usize,
}

/// A product with the scaled sparse data (or its transpose): `(x, l, scale)` ↦ the whole
/// `rows × l` product, however it is computed (here, or by rows spread over processes).
pub(crate) type SparseProduct<'a> = dyn Fn(&[f64], usize, f64) -> Vec<f64> + 'a;

/// [`spectral_init`] with the two sparse products given: `rows_times` is P_Ω(M)·x and
/// `cols_times` P_Ω(M)ᵀ·x. The rest (random start, orthonormalisations, the small
/// eigenproblem, the clipping) is computed the same way by every caller.
pub(crate) fn spectral_init_with(
    shape: Shape,
    k: usize,
    mu: f64,
    seed: u64,
    rows_times: &SparseProduct<'_>,
    cols_times: &SparseProduct<'_>,
) -> Vec<f64> {
    let Shape { m, n, observed } = shape;
    let l = (k + 10).min(m.min(n)).max(k);
    let scale = (m as f64 * n as f64) / observed.max(1) as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g: Vec<f64> = (0..n * l).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut q = orth(&rows_times(&g, l, scale), m, l);
    for _ in 0..2 {
        let z = orth(&cols_times(&q, l, scale), n, l);
        q = orth(&rows_times(&z, l, scale), m, l);
    }
    // B = Qᵀ X; the left singular vectors of X ≈ Q · eigenvectors of B Bᵀ = Zᵀ Z, Z = Xᵀ Q
    let z = cols_times(&q, l, scale);
    let mut zz = Mat::<f64>::zeros(l, l);
    for row in z.chunks(l) {
        for a in 0..l {
            for b in 0..=a {
                zz[(a, b)] += row[a] * row[b];
            }
        }
    }
    let mut u = vec![0.0; m * k];
    match zz.self_adjoint_eigen(Tri::Lower) {
        Ok(e) => {
            let w = e.U();
            // eigenvalues ascend: the last k columns, largest first
            for i in 0..m {
                for c in 0..k {
                    let wc = l - 1 - c;
                    u[i * k + c] = (0..l).map(|t| q[i * l + t] * w[(t, wc)]).sum();
                }
            }
        }
        Err(_) => {
            for i in 0..m {
                u[i * k..(i + 1) * k].copy_from_slice(&q[i * l..i * l + k]);
            }
        }
    }
    if mu.is_finite() {
        let bound = 2.0 * mu * (k as f64 / m as f64).sqrt();
        let mut clipped = false;
        for row in u.chunks_mut(k) {
            let nr = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nr > bound {
                row.iter_mut().for_each(|v| *v *= bound / nr);
                clipped = true;
            }
        }
        if clipped {
            u = orth(&u, m, k);
        }
    }
    u
}
