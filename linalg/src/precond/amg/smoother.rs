//! Chebyshev smoothing on `D⁻¹A`, and the spectral-radius estimate it needs.
//!
//! A Chebyshev polynomial smoother costs one SpMV per degree, runs at SpMV
//! speed in parallel (unlike Gauss–Seidel, which is sequential), and is the same
//! polynomial before and after the coarse correction, so the V-cycle is a
//! symmetric operator and CG may use it.

use crate::vector::norm2;
use crate::CsrMatrix;
use rayon::prelude::*;

/// Below this many entries the vector loops run serially.
const PAR_MIN_LEN: usize = 32_768;

/// An estimate of the spectral radius of `D⁻¹A` by `steps` power iterations from
/// a fixed, non-smooth start (reproducible): `‖D⁻¹A x‖ / ‖x‖` of the last step,
/// which approaches ρ from below for SPD `A`.
pub(super) fn spectral_radius(a: &CsrMatrix, inv_diag: &[f64], steps: usize) -> f64 {
    let n = a.nrows();
    // a deterministic start that excites every mode: a golden-ratio sequence
    let mut x: Vec<f64> = (0..n)
        .map(|i| ((i as f64 * 0.618_033_988_749_895).fract() - 0.5) + 1e-3)
        .collect();
    let mut y = vec![0.0; n];
    let mut rho = 0.0;
    for _ in 0..steps.max(1) {
        let nx = norm2(&x);
        if nx == 0.0 {
            break;
        }
        a.mul_vec(&x, &mut y);
        for (v, d) in y.iter_mut().zip(inv_diag) {
            *v *= d;
        }
        rho = norm2(&y) / nx;
        let s = 1.0 / norm2(&y).max(f64::MIN_POSITIVE);
        for (xi, yi) in x.iter_mut().zip(&y) {
            *xi = yi * s;
        }
    }
    rho
}

/// Scratch vectors for one level's smoothing.
#[derive(Debug)]
pub(super) struct Scratch {
    pub r: Vec<f64>,
    pub d: Vec<f64>,
    pub t: Vec<f64>,
}

impl Scratch {
    pub fn new(n: usize) -> Self {
        Self {
            r: vec![0.0; n],
            d: vec![0.0; n],
            t: vec![0.0; n],
        }
    }
}

/// The Chebyshev polynomial smoother of degree `degree` for eigenvalues of `D⁻¹A`
/// in `[lo, hi]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chebyshev {
    pub lo: f64,
    pub hi: f64,
    pub degree: usize,
}

fn for_each3(
    a: &mut [f64],
    b: &mut [f64],
    c: &[f64],
    d: &[f64],
    f: impl Fn(&mut f64, &mut f64, f64, f64) + Sync,
) {
    if a.len() < PAR_MIN_LEN {
        for (((x, y), &z), &w) in a.iter_mut().zip(b.iter_mut()).zip(c).zip(d) {
            f(x, y, z, w);
        }
    } else {
        a.par_iter_mut()
            .zip(b.par_iter_mut())
            .zip(c.par_iter())
            .zip(d.par_iter())
            .with_min_len(4096)
            .for_each(|(((x, y), &z), &w)| f(x, y, z, w));
    }
}

impl Chebyshev {
    /// `degree` Chebyshev steps on `A x = b` from `x` (from zero when
    /// `zero_start`, which saves the first residual's SpMV). Saad, *Iterative
    /// Methods*, Alg. 12.1, on the Jacobi-preconditioned system.
    pub fn smooth(
        &self,
        a: &CsrMatrix,
        inv_diag: &[f64],
        b: &[f64],
        x: &mut [f64],
        zero_start: bool,
        s: &mut Scratch,
    ) {
        let theta = 0.5 * (self.hi + self.lo);
        let delta = 0.5 * (self.hi - self.lo);
        let sigma = theta / delta;
        let mut rho = 1.0 / sigma;
        let Scratch { r, d, t } = s;
        // r = D⁻¹ (b − A x), d = r / θ
        if zero_start {
            x.fill(0.0);
            for_each3(r, d, b, inv_diag, |ri, di, bi, wi| {
                *ri = bi * wi;
                *di = *ri / theta;
            });
        } else {
            a.mul_vec(x, t);
            for_each3(r, d, b, inv_diag, |ri, di, bi, wi| {
                *ri = bi * wi;
                *di = 0.0;
            });
            let tt: &[f64] = t;
            for_each3(r, d, tt, inv_diag, |ri, di, ti, wi| {
                *ri -= ti * wi;
                *di = *ri / theta;
            });
        }
        for _ in 1..self.degree {
            // x += d; r −= D⁻¹ A d; d = ρ'ρ d + (2ρ'/δ) r
            a.mul_vec(d, t);
            let rho_new = 1.0 / (2.0 * sigma - rho);
            let (c1, c2) = (rho_new * rho, 2.0 * rho_new / delta);
            let tt: &[f64] = t;
            for_each3(r, x, tt, inv_diag, |ri, _xi, ti, wi| *ri -= ti * wi);
            let rr: &[f64] = r;
            for_each3(x, d, rr, rr, |xi, di, ri, _| {
                *xi += *di;
                *di = c1 * *di + c2 * ri;
            });
            rho = rho_new;
        }
        for (xi, di) in x.iter_mut().zip(d.iter()) {
            *xi += di;
        }
    }
}
