//! Synthetic low-rank completion problems: M = U* V*ᵀ with Gaussian factors, each entry
//! observed with probability p, optional Gaussian noise.

use super::ratings::Ratings;
use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct SyntheticConfig {
    /// Rows m.
    pub m: usize,
    /// Columns n.
    pub n: usize,
    /// Rank k.
    pub rank: usize,
    /// Sampling rate p (expected |Ω| = p·m·n).
    pub p: f64,
    /// Standard deviation of the noise added to observed entries.
    pub noise: f64,
    /// Seed.
    pub seed: u64,
}

/// The observed entries (ids are the decimal indices) and the true factors U* (m×k) and
/// V* (n×k), row-major, entries N(0, 1/√k) so M has entries of unit variance.
pub fn synthetic(c: &SyntheticConfig) -> Result<(Ratings, Vec<f64>, Vec<f64>)> {
    if c.m == 0 || c.n == 0 || c.rank == 0 || c.rank > c.m.min(c.n) {
        return Err(ProblemError::Invalid(format!(
            "synthetic completion needs m, n ≥ 1 and 1 ≤ rank ≤ min(m, n), got {}×{} rank {}",
            c.m, c.n, c.rank
        )));
    }
    if !(c.p > 0.0 && c.p <= 1.0 && c.noise >= 0.0) {
        return Err(ProblemError::Invalid(format!(
            "synthetic completion needs 0 < p ≤ 1 and noise ≥ 0, got p = {}, noise = {}",
            c.p, c.noise
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let s = 1.0 / (c.rank as f64).sqrt().sqrt();
    let gauss = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
    let u: Vec<f64> = (0..c.m * c.rank).map(|_| s * gauss(&mut rng)).collect();
    let v: Vec<f64> = (0..c.n * c.rank).map(|_| s * gauss(&mut rng)).collect();
    let mut r = Ratings::default();
    for i in 0..c.m {
        r.users.intern(&i.to_string());
    }
    for j in 0..c.n {
        r.items.intern(&j.to_string());
    }
    // geometric skips: O(|Ω|) draws instead of m·n
    let total = (c.m * c.n) as u64;
    let ln1p = (1.0 - c.p).ln();
    let mut pos: u64 = 0;
    loop {
        if c.p < 1.0 {
            let uu = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            pos += (uu.ln() / ln1p).floor() as u64;
        }
        if pos >= total {
            break;
        }
        let (i, j) = ((pos / c.n as u64) as usize, (pos % c.n as u64) as usize);
        let mut val: f64 = (0..c.rank).map(|t| u[i * c.rank + t] * v[j * c.rank + t]).sum();
        if c.noise > 0.0 {
            val += c.noise * gauss(&mut rng);
        }
        r.entries.push((i as u32, j as u32, val));
        pos += 1;
    }
    Ok((r, u, v))
}
