//! The synthetic sets of Nutini et al. (2022): `n × p` design with entries `randn + 1` at
//! density `10·log(p)/p` (or as given), columns scaled by `10·randn`, 10% of the true weights
//! non-zero; least-squares targets `Aw + noise`, logistic labels `sign(Aw)` with 10% flipped.

use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use solvent_linalg::CsrMatrix;

/// Which labels to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntheticKind {
    /// `y = Aw + noise·randn`.
    LeastSquares,
    /// `y = sign(Aw)`, a fraction flipped.
    Logistic,
}

/// Settings of the synthetic set.
#[derive(Clone, Debug)]
pub struct SyntheticConfig {
    /// Samples `n`.
    pub samples: usize,
    /// Features `p`.
    pub features: usize,
    /// Fraction of non-zero entries (default `10·ln(p)/p`, at most 1).
    pub density: Option<f64>,
    /// Fraction of non-zero true weights.
    pub support: f64,
    /// Least squares: noise standard deviation.
    pub noise: f64,
    /// Logistic: fraction of labels flipped.
    pub flip: f64,
    /// Which labels.
    pub kind: SyntheticKind,
    /// Seed.
    pub seed: u64,
}

impl SyntheticConfig {
    /// The paper's set of the given size and kind.
    pub fn paper(samples: usize, features: usize, kind: SyntheticKind, seed: u64) -> Self {
        Self {
            samples,
            features,
            density: None,
            support: 0.1,
            noise: 1.0,
            flip: 0.1,
            kind,
            seed,
        }
    }

    /// Draws `(A, y, w_true)`.
    pub fn generate(&self) -> Result<(CsrMatrix, Vec<f64>, Vec<f64>)> {
        let (n, p) = (self.samples, self.features);
        if n == 0 || p == 0 {
            return Err(ProblemError::Invalid(format!(
                "synthetic set of {n}×{p}: need samples and features"
            )));
        }
        let density = self.density.unwrap_or(10.0 * (p as f64).ln() / p as f64).min(1.0);
        if !(density > 0.0) {
            return Err(ProblemError::Invalid(format!(
                "density {density} must be positive"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let unif = |rng: &mut ChaCha8Rng| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let mut trip = Vec::with_capacity((density * n as f64 * p as f64 * 1.1) as usize + 16);
        let log_q = (1.0 - density).ln();
        for j in 0..p {
            let s: f64 = StandardNormal.sample(&mut rng);
            let scale = 10.0 * s;
            // Bernoulli(density) per entry by geometric skips
            let mut i = 0usize;
            loop {
                if density < 1.0 {
                    i += (unif(&mut rng).ln() / log_q).floor() as usize;
                }
                if i >= n {
                    break;
                }
                let v: f64 = StandardNormal.sample(&mut rng);
                trip.push((i, j, scale * (v + 1.0)));
                i += 1;
            }
        }
        let a = CsrMatrix::from_triplets(n, p, &trip)?;
        let mut w = vec![0.0; p];
        for wj in w.iter_mut() {
            if unif(&mut rng) < self.support {
                *wj = StandardNormal.sample(&mut rng);
            }
        }
        let mut y = vec![0.0; n];
        a.mul_vec(&w, &mut y);
        match self.kind {
            SyntheticKind::LeastSquares => {
                for yi in y.iter_mut() {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    *yi += self.noise * e;
                }
            }
            SyntheticKind::Logistic => {
                for yi in y.iter_mut() {
                    let s = if *yi >= 0.0 { 1.0 } else { -1.0 };
                    *yi = if unif(&mut rng) < self.flip { -s } else { s };
                }
            }
        }
        Ok((a, y, w))
    }
}
