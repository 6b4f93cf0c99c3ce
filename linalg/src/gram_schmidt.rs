//! Orthogonalisation against a Krylov basis: two-pass classical Gram–Schmidt.
//!
//! CGS2 reads the basis twice per new vector (`h = Vᵀw`, `w −= V h`, then once
//! more to correct) instead of modified Gram–Schmidt's one dependent pass per
//! basis vector, so it streams memory and parallelises; with the second pass
//! it is as stable as MGS in practice (Giraud, Langou, Rozložník 2005).

use crate::vector::{dot_serial, CHUNK, PAR_MIN_LEN};
use rayon::prelude::*;

/// A block of `capacity` vectors of length `n`, stored column after column in
/// one allocation (no allocation per iteration).
#[derive(Clone, Debug)]
pub struct Basis {
    n: usize,
    capacity: usize,
    data: Vec<f64>,
}

impl Basis {
    /// `capacity` zero vectors of length `n`.
    pub fn zeros(n: usize, capacity: usize) -> Self {
        Self {
            n,
            capacity,
            data: vec![0.0; n * capacity],
        }
    }
    /// Vector length.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of vectors held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Vector `j`.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.n..(j + 1) * self.n]
    }
    /// Vector `j`, mutable.
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.n..(j + 1) * self.n]
    }
    /// Vectors `0..j` as one column-major slice.
    pub fn first(&self, j: usize) -> &[f64] {
        &self.data[..j * self.n]
    }
    /// Vector `j` mutably and vectors `0..j` immutably, at once.
    pub fn split_at_col(&mut self, j: usize) -> (&[f64], &mut [f64]) {
        let (head, tail) = self.data.split_at_mut(j * self.n);
        (head, &mut tail[..self.n])
    }
}

/// `h = Vᵀ w` for the `j = h.len()` column-major vectors in `v`.
pub fn project(v: &[f64], n: usize, w: &[f64], h: &mut [f64]) {
    let j = h.len();
    debug_assert!(v.len() >= j * n && w.len() == n);
    h.fill(0.0);
    if j == 0 {
        return;
    }
    let chunks = n.div_ceil(CHUNK);
    let partial_of = |c: usize| {
        let (s, e) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        (0..j)
            .map(|k| dot_serial(&v[k * n + s..k * n + e], &w[s..e]))
            .collect::<Vec<f64>>()
    };
    let partials: Vec<Vec<f64>> = if n < PAR_MIN_LEN {
        (0..chunks).map(partial_of).collect()
    } else {
        (0..chunks).into_par_iter().map(partial_of).collect()
    };
    for p in partials {
        for (hk, pk) in h.iter_mut().zip(p) {
            *hk += pk;
        }
    }
}

/// `w ← w − V h` for the `j = h.len()` column-major vectors in `v`.
pub fn subtract(v: &[f64], n: usize, h: &[f64], w: &mut [f64]) {
    let j = h.len();
    let update = |c: usize, wc: &mut [f64]| {
        let s = c * CHUNK;
        let e = s + wc.len();
        for (k, &hk) in h.iter().enumerate().take(j) {
            let vk = &v[k * n + s..k * n + e];
            wc.iter_mut().zip(vk).for_each(|(wi, &vi)| *wi -= hk * vi);
        }
    };
    if n < PAR_MIN_LEN {
        w.chunks_mut(CHUNK).enumerate().for_each(|(c, wc)| update(c, wc));
    } else {
        w.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, wc)| update(c, wc));
    }
}

/// Orthogonalises `w` against the first `h.len()` vectors of `v` (assumed
/// orthonormal) with two passes of classical Gram–Schmidt, storing the
/// projection coefficients in `h` (both passes summed). `scratch` must have
/// `h.len()` entries. Returns `‖w‖₂` after orthogonalisation.
pub fn cgs2(v: &[f64], n: usize, w: &mut [f64], h: &mut [f64], scratch: &mut [f64]) -> f64 {
    project(v, n, w, h);
    subtract(v, n, h, w);
    project(v, n, w, scratch);
    subtract(v, n, scratch, w);
    for (a, b) in h.iter_mut().zip(scratch.iter()) {
        *a += b;
    }
    crate::vector::norm2(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{dot, norm2, scale};

    #[test]
    fn cgs2_builds_an_orthonormal_basis_for_nearly_dependent_vectors() {
        // Columns that differ from a common vector by 1e-7 (condition number
        // ~1e7): one-pass classical Gram–Schmidt loses orthogonality here.
        for &n in &[200usize, 120_000] {
            let m = 12;
            let mut basis = Basis::zeros(n, m);
            let mut h = vec![0.0; m];
            let mut s = vec![0.0; m];
            for j in 0..m {
                let mut w: Vec<f64> = (0..n)
                    .map(|i| 1.0 + 1e-7 * ((i as f64 + 0.5) * (j as f64 + 1.0) * 0.001).sin())
                    .collect();
                let (prev, _) = basis.split_at_col(j);
                let nrm = cgs2(prev, n, &mut w, &mut h[..j], &mut s[..j]);
                scale(1.0 / nrm, &mut w);
                basis.col_mut(j).copy_from_slice(&w);
            }
            for a in 0..m {
                for b in 0..m {
                    let d = dot(basis.col(a), basis.col(b));
                    let e = if a == b { 1.0 } else { 0.0 };
                    assert!((d - e).abs() < 1e-12, "n={n} ({a},{b}) = {d}");
                }
            }
            assert!((norm2(basis.col(0)) - 1.0).abs() < 1e-14);
        }
    }
}
