//! Dense vector kernels on `[f64]` slices.
//!
//! Reductions are deterministic: vectors are cut into fixed-size chunks
//! whatever the thread count, partial sums are formed per chunk and added in
//! chunk order, so a run reproduces bit for bit on any machine. Short vectors
//! stay serial (rayon's fork/join would cost more than the work).

use rayon::prelude::*;

/// Vectors shorter than this are processed serially.
pub const PAR_MIN_LEN: usize = 100_000;
/// Fixed chunk length for parallel kernels and deterministic reductions.
pub const CHUNK: usize = 16_384;

#[inline]
fn chunked_sum(n: usize, f: impl Fn(usize, usize) -> f64 + Sync) -> f64 {
    if n < PAR_MIN_LEN {
        // Same chunking as the parallel path, so results do not depend on the path.
        return (0..n.div_ceil(CHUNK))
            .map(|c| f(c * CHUNK, ((c + 1) * CHUNK).min(n)))
            .sum();
    }
    let partial: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| f(c * CHUNK, ((c + 1) * CHUNK).min(n)))
        .collect();
    partial.iter().sum()
}

/// `xᵀ y`.
#[inline]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "dot: length mismatch");
    chunked_sum(x.len(), |s, e| dot_serial(&x[s..e], &y[s..e]))
}

/// `‖x‖₂`.
#[inline]
pub fn norm2(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Serial dot product with four accumulators (lets the compiler vectorise).
#[inline]
pub fn dot_serial(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, xr) = x.split_at(x.len() - x.len() % 4);
    let (yc, yr) = y.split_at(xc.len());
    for (a, b) in xc.chunks_exact(4).zip(yc.chunks_exact(4)) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

#[inline]
fn zip_apply(x: &[f64], y: &mut [f64], f: impl Fn(f64, &mut f64) + Sync) {
    assert_eq!(x.len(), y.len(), "vector kernel: length mismatch");
    if x.len() < PAR_MIN_LEN {
        x.iter().zip(y.iter_mut()).for_each(|(&a, b)| f(a, b));
    } else {
        x.par_chunks(CHUNK)
            .zip(y.par_chunks_mut(CHUNK))
            .for_each(|(xc, yc)| xc.iter().zip(yc.iter_mut()).for_each(|(&a, b)| f(a, b)));
    }
}

/// `y ← y + α x`.
#[inline]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    zip_apply(x, y, |a, b| *b += alpha * a)
}

/// `y ← x + β y`.
#[inline]
pub fn xpby(x: &[f64], beta: f64, y: &mut [f64]) {
    zip_apply(x, y, |a, b| *b = a + beta * *b)
}

/// `y ← α x + β y`.
#[inline]
pub fn axpby(alpha: f64, x: &[f64], beta: f64, y: &mut [f64]) {
    zip_apply(x, y, |a, b| *b = alpha * a + beta * *b)
}

/// `x ← α x`.
pub fn scale(alpha: f64, x: &mut [f64]) {
    if x.len() < PAR_MIN_LEN {
        x.iter_mut().for_each(|v| *v *= alpha);
    } else {
        x.par_chunks_mut(CHUNK)
            .for_each(|c| c.iter_mut().for_each(|v| *v *= alpha));
    }
}

/// `r ← b − r` (turns `A x` into the residual in place).
pub fn sub_from(b: &[f64], r: &mut [f64]) {
    zip_apply(b, r, |bi, ri| *ri = bi - *ri)
}

/// `‖b − A x‖₂ / ‖b‖₂` computed from scratch (one SpMV); `‖b − A x‖₂` when `b = 0`.
pub fn relative_residual(a: &dyn crate::LinearOperator, x: &[f64], b: &[f64]) -> f64 {
    let mut r = vec![0.0; b.len()];
    a.apply(x, &mut r);
    sub_from(b, &mut r);
    let nb = norm2(b);
    let nr = norm2(&r);
    if nb > 0.0 {
        nr / nb
    } else {
        nr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_match_naive_and_are_deterministic() {
        for &n in &[0usize, 3, 17, 1000, 250_000] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 1013) as f64 / 1013.0 - 0.5)
                .collect();
            let y: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 997) as f64 / 997.0).collect();
            let naive: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            let d = dot(&x, &y);
            assert!((d - naive).abs() <= 1e-9 * (1.0 + naive.abs()), "n={n}");
            assert_eq!(d.to_bits(), dot(&x, &y).to_bits());
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            assert_eq!(pool.install(|| dot(&x, &y)).to_bits(), d.to_bits());
        }
    }

    #[test]
    fn updates() {
        let n = 200_001;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut y = vec![1.0; n];
        axpy(2.0, &x, &mut y);
        assert_eq!(y[10], 21.0);
        xpby(&x, 0.5, &mut y);
        assert_eq!(y[10], 10.0 + 10.5);
        axpby(1.0, &x, -1.0, &mut y);
        assert_eq!(y[10], 10.0 - 20.5);
        scale(2.0, &mut y);
        assert_eq!(y[10], -21.0);
        sub_from(&x, &mut y);
        assert_eq!(y[10], 31.0);
        assert!((norm2(&[3.0, 4.0]) - 5.0).abs() < 1e-15);
    }
}
