//! Gaussian random fields on a periodic `N × N` or `N × N × N` grid, sampled
//! spectrally.
//!
//! Covariance `σ² (−Δ + τ²)^(−α)` on the unit torus, as in the
//! neural-operator data sets (the FNO `GaussianRF`, α = 2, τ = 3 by default):
//! each Fourier mode `k ≠ 0` gets an independent complex normal coefficient
//! scaled by `√λ_k = N^d √2 σ (4π²|k|² + τ²)^(−α/2)` with `σ = τ^(α − d/2)`
//! (`d` the dimension: `τ^(α−1)` in 2-D, `τ^(α−3/2)` in 3-D), the mean mode is
//! zero, and the field is the real part of the inverse FFT divided by `N^d`.

use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

/// Parameters of the field's covariance `(−Δ + τ²)^(−α)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrfParams {
    /// Smoothness exponent α (> 1 in 2-D for a continuous field).
    pub alpha: f64,
    /// Inverse length scale τ.
    pub tau: f64,
}

impl Default for GrfParams {
    fn default() -> Self {
        Self { alpha: 2.0, tau: 3.0 }
    }
}

/// Samples fields on an `n × n` grid (row-major), reproducibly from a seed:
/// sample `k` of seed `s` is always the same, whatever `count` is (each
/// sample draws from its own ChaCha8 stream).
#[derive(Clone, Debug)]
pub struct GaussianRandomField {
    n: usize,
    sqrt_eig: Vec<f64>,
    seed: u64,
}

impl GaussianRandomField {
    /// Precomputes the spectrum for an `n × n` grid.
    pub fn new(n: usize, params: GrfParams, seed: u64) -> Result<Self> {
        validate(n, params, "2×2")?;
        let sigma = params.tau.powf(params.alpha - 1.0);
        let scale = (n * n) as f64 * 2f64.sqrt() * sigma;
        let mut sqrt_eig = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let k2 = wave(i, n).powi(2) + wave(j, n).powi(2);
                sqrt_eig[i * n + j] = scale * decay(k2, params);
            }
        }
        sqrt_eig[0] = 0.0;
        Ok(Self { n, sqrt_eig, seed })
    }

    /// Grid size.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The pointwise variance `Σ_k λ_k / N⁴` every sample has (closed form).
    pub fn pointwise_variance(&self) -> f64 {
        let n4 = (self.n as f64).powi(4);
        self.sqrt_eig.iter().map(|s| s * s).sum::<f64>() / n4
    }

    /// Sample number `k` (row-major `n × n`).
    pub fn sample(&self, k: u64) -> Vec<f64> {
        let n = self.n;
        let mut c = coefficients(&self.sqrt_eig, self.seed, k);
        ifft2(&mut c, n);
        let norm = 1.0 / (n * n) as f64;
        c.iter().map(|z| z.re * norm).collect()
    }
}

/// Samples fields on an `n × n × n` grid (lexicographic, index
/// `(i·n + j)·n + l`, `l` fastest), reproducibly from a seed like
/// [`GaussianRandomField`]: sample `k` draws from its own ChaCha8 stream.
#[derive(Clone, Debug)]
pub struct GaussianRandomField3d {
    n: usize,
    sqrt_eig: Vec<f64>,
    seed: u64,
}

impl GaussianRandomField3d {
    /// Precomputes the spectrum for an `n × n × n` grid.
    pub fn new(n: usize, params: GrfParams, seed: u64) -> Result<Self> {
        validate(n, params, "2×2×2")?;
        if n.checked_pow(3).is_none_or(|n3| n3 > u32::MAX as usize) {
            return Err(ProblemError::Invalid(format!(
                "a {n}×{n}×{n} random field is too large"
            )));
        }
        let sigma = params.tau.powf(params.alpha - 1.5);
        let scale = (n * n * n) as f64 * 2f64.sqrt() * sigma;
        let mut sqrt_eig = vec![0.0; n * n * n];
        for i in 0..n {
            for j in 0..n {
                for l in 0..n {
                    let k2 = wave(i, n).powi(2) + wave(j, n).powi(2) + wave(l, n).powi(2);
                    sqrt_eig[(i * n + j) * n + l] = scale * decay(k2, params);
                }
            }
        }
        sqrt_eig[0] = 0.0;
        Ok(Self { n, sqrt_eig, seed })
    }

    /// Grid size per side.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The pointwise variance `Σ_k λ_k / N⁶` every sample has (closed form).
    pub fn pointwise_variance(&self) -> f64 {
        let n6 = (self.n as f64).powi(6);
        self.sqrt_eig.iter().map(|s| s * s).sum::<f64>() / n6
    }

    /// Sample number `k` (`n³` values, `l` fastest).
    pub fn sample(&self, k: u64) -> Vec<f64> {
        let n = self.n;
        let mut c = coefficients(&self.sqrt_eig, self.seed, k);
        ifft3(&mut c, n);
        let norm = 1.0 / (n * n * n) as f64;
        c.iter().map(|z| z.re * norm).collect()
    }
}

fn validate(n: usize, params: GrfParams, least: &str) -> Result<()> {
    if n < 2 {
        return Err(ProblemError::Invalid(format!(
            "a random field needs a grid of at least {least}, got {n}"
        )));
    }
    if !(params.alpha.is_finite() && params.alpha > 0.0 && params.tau.is_finite() && params.tau > 0.0) {
        return Err(ProblemError::Invalid(format!(
            "random field needs α > 0 and τ > 0, got α = {}, τ = {}",
            params.alpha, params.tau
        )));
    }
    Ok(())
}

/// The signed wave number of FFT index `i` on an `n`-point axis.
fn wave(i: usize, n: usize) -> f64 {
    if i < n.div_ceil(2) {
        i as f64
    } else {
        i as f64 - n as f64
    }
}

/// `(4π²|k|² + τ²)^(−α/2)`.
fn decay(k2: f64, params: GrfParams) -> f64 {
    let pi2 = std::f64::consts::PI * std::f64::consts::PI;
    (4.0 * pi2 * k2 + params.tau * params.tau).powf(-params.alpha / 2.0)
}

/// Independent complex normal coefficients scaled by `sqrt_eig`, from stream `k`.
fn coefficients(sqrt_eig: &[f64], seed: u64, k: u64) -> Vec<Complex64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(k);
    sqrt_eig
        .iter()
        .map(|&s| {
            let re: f64 = StandardNormal.sample(&mut rng);
            let im: f64 = StandardNormal.sample(&mut rng);
            Complex64::new(s * re, s * im)
        })
        .collect()
}

/// Unnormalised 2-D inverse FFT in place (rows, then columns).
fn ifft2(c: &mut [Complex64], n: usize) {
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_inverse(n);
    fft.process(c); // every row (the buffer is a whole number of length-n rows)
    let mut col = vec![Complex64::new(0.0, 0.0); n];
    for j in 0..n {
        for i in 0..n {
            col[i] = c[i * n + j];
        }
        fft.process(&mut col);
        for i in 0..n {
            c[i * n + j] = col[i];
        }
    }
}

/// Unnormalised 3-D inverse FFT in place (along `l`, then `j`, then `i`).
fn ifft3(c: &mut [Complex64], n: usize) {
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_inverse(n);
    fft.process(c); // every contiguous line along l
    let mut line = vec![Complex64::new(0.0, 0.0); n];
    let mut along = |stride: usize, base: usize, c: &mut [Complex64]| {
        for (t, z) in line.iter_mut().enumerate() {
            *z = c[base + t * stride];
        }
        fft.process(&mut line);
        for (t, z) in line.iter().enumerate() {
            c[base + t * stride] = *z;
        }
    };
    // every line along j (one per (i, l)) before any along i (one per (j, l))
    for (stride, outer) in [(n, n * n), (n * n, n)] {
        for a in 0..n {
            for l in 0..n {
                along(stride, a * outer + l, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_reproducible_zero_mean_with_the_predicted_variance() {
        let g = GaussianRandomField::new(32, GrfParams::default(), 7).unwrap();
        let a = g.sample(3);
        assert_eq!(a, g.sample(3), "same seed and index, same field");
        assert_ne!(a, g.sample(4));
        let other = GaussianRandomField::new(32, GrfParams::default(), 8).unwrap();
        assert_ne!(a, other.sample(3));
        // the mean mode is zero: every field has mean exactly 0 up to rounding
        assert!(a.iter().sum::<f64>().abs() < 1e-9 * a.len() as f64);
        // pointwise variance against the closed form, over 400 samples × 1024 points
        let samples = 400;
        let mut s2 = 0.0;
        for k in 0..samples {
            s2 += g.sample(k).iter().map(|v| v * v).sum::<f64>();
        }
        let var = s2 / (samples as f64 * 1024.0);
        let expect = g.pointwise_variance();
        assert!(
            (var / expect - 1.0).abs() < 0.05,
            "variance {var} vs closed form {expect}"
        );
    }

    #[test]
    fn a_single_mode_transforms_to_a_cosine() {
        // checks the FFT orientation: coefficient at (0, 1) ↦ cos(2π j / n) along rows
        let n = 8;
        let mut c = vec![Complex64::new(0.0, 0.0); n * n];
        c[1] = Complex64::new(1.0, 0.0);
        ifft2(&mut c, n);
        for i in 0..n {
            for j in 0..n {
                let e = (2.0 * std::f64::consts::PI * j as f64 / n as f64).cos();
                assert!((c[i * n + j].re - e).abs() < 1e-12);
            }
        }
        assert!(GaussianRandomField::new(1, GrfParams::default(), 0).is_err());
        assert!(GaussianRandomField::new(
            8,
            GrfParams {
                alpha: -1.0,
                tau: 3.0
            },
            0
        )
        .is_err());
    }

    #[test]
    fn fields_3d_are_reproducible_zero_mean_with_the_predicted_variance() {
        let n = 12;
        let g = GaussianRandomField3d::new(n, GrfParams::default(), 7).unwrap();
        assert_eq!(g.n(), n);
        let a = g.sample(3);
        assert_eq!(a.len(), n * n * n);
        assert_eq!(a, g.sample(3), "same seed and index, same field");
        assert_ne!(a, g.sample(4));
        let other = GaussianRandomField3d::new(n, GrfParams::default(), 8).unwrap();
        assert_ne!(a, other.sample(3));
        assert!(a.iter().sum::<f64>().abs() < 1e-9 * a.len() as f64);
        // the closed form: Σ_k 2σ²(4π²|k|² + τ²)^(−α) over the modes k ≠ 0, σ = τ^(α − 3/2)
        let (alpha, tau) = (2.0f64, 3.0f64);
        let sigma2 = tau.powf(2.0 * alpha - 3.0);
        let mut closed = 0.0;
        for i in 0..n {
            for j in 0..n {
                for l in 0..n {
                    let k2 = wave(i, n).powi(2) + wave(j, n).powi(2) + wave(l, n).powi(2);
                    if k2 > 0.0 {
                        let pi2 = std::f64::consts::PI.powi(2);
                        closed += 2.0 * sigma2 * (4.0 * pi2 * k2 + tau * tau).powf(-alpha);
                    }
                }
            }
        }
        let expect = g.pointwise_variance();
        assert!((expect / closed - 1.0).abs() < 1e-12, "{expect} vs {closed}");
        let samples = 150;
        let mut s2 = 0.0;
        for k in 0..samples {
            s2 += g.sample(k).iter().map(|v| v * v).sum::<f64>();
        }
        let var = s2 / (samples as f64 * (n * n * n) as f64);
        assert!(
            (var / expect - 1.0).abs() < 0.05,
            "variance {var} vs closed form {expect}"
        );
        assert!(GaussianRandomField3d::new(1, GrfParams::default(), 0).is_err());
        let bad = GrfParams { alpha: 2.0, tau: 0.0 };
        assert!(GaussianRandomField3d::new(4, bad, 0).is_err());
    }

    #[test]
    fn a_single_3d_mode_transforms_to_a_cosine_along_its_axis() {
        // coefficient at index (i, j, l) = (0, 0, 1) ↦ cos(2π l / n), (0, 1, 0) ↦ cos(2π j / n),
        // (1, 0, 0) ↦ cos(2π i / n): l is x (fastest), i is z (slowest)
        let n = 6;
        for (axis, at) in [(2usize, 1usize), (1, n), (0, n * n)] {
            let mut c = vec![Complex64::new(0.0, 0.0); n * n * n];
            c[at] = Complex64::new(1.0, 0.0);
            ifft3(&mut c, n);
            for i in 0..n {
                for j in 0..n {
                    for l in 0..n {
                        let t = [i, j, l][axis];
                        let phase = 2.0 * std::f64::consts::PI * t as f64 / n as f64;
                        let z = c[(i * n + j) * n + l];
                        // the inverse transform: e^{+iθ}
                        assert!((z.re - phase.cos()).abs() < 1e-12 && (z.im - phase.sin()).abs() < 1e-12);
                    }
                }
            }
        }
        // a mixed mode (1, 2, 3) ↦ cos(2π(i + 2j + 3l)/n)
        let mut c = vec![Complex64::new(0.0, 0.0); n * n * n];
        c[(n + 2) * n + 3] = Complex64::new(1.0, 0.0);
        ifft3(&mut c, n);
        for i in 0..n {
            for j in 0..n {
                for l in 0..n {
                    let e = (2.0 * std::f64::consts::PI * (i + 2 * j + 3 * l) as f64 / n as f64).cos();
                    assert!((c[(i * n + j) * n + l].re - e).abs() < 1e-12);
                }
            }
        }
    }
}
