//! Synthetic options tables with realistic curves, for tests and benches: each layer is a
//! Gaussian weight matrix of random size and sensitivity, its distortion the energy removed by
//! magnitude pruning (measured on a 2,000-weight sample and scaled), optionally perturbed so the
//! curves are not convex (as measured curves often are not).

use super::table::{Layer, LayerOption, OptionTable, PARAMS};
use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct SyntheticTable {
    /// Number of layers.
    pub layers: usize,
    /// Options per layer: sparsity k/(levels−1), k = 0..levels.
    pub levels: usize,
    /// Layer sizes are drawn log-uniformly in [min_size, max_size].
    pub min_size: u64,
    /// See `min_size`.
    pub max_size: u64,
    /// Relative multiplicative noise on each distortion (0 = exact magnitude-pruning curves).
    pub noise: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticTable {
    fn default() -> Self {
        Self {
            layers: 50,
            levels: 21,
            min_size: 1_000,
            max_size: 100_000,
            noise: 0.0,
            seed: 0,
        }
    }
}

/// Builds the table. Resources: `params` (kept weights) and `flops` (kept weights times a
/// per-layer number of positions in 1..=64, so the two budgets are not proportional).
pub fn synthetic_table(c: &SyntheticTable) -> Result<OptionTable> {
    if c.layers == 0 || c.levels < 2 || c.min_size == 0 || c.min_size > c.max_size || c.noise < 0.0 {
        return Err(ProblemError::Invalid(format!(
            "synthetic table needs layers ≥ 1, levels ≥ 2, 1 ≤ min_size ≤ max_size, noise ≥ 0 \
             (got {} layers, {} levels, sizes {}..{}, noise {})",
            c.layers, c.levels, c.min_size, c.max_size, c.noise
        )));
    }
    // each option holds a level, a sparsity, a cost vector and a distortion (about 80 bytes
    // with the vector's own allocation), and the DP keeps a few more per option
    solvent_linalg::mem::check(
        c.layers as f64 * c.levels as f64 * 160.0,
        &format!("a synthetic table of {} layers × {} levels", c.layers, c.levels),
    )?;
    const SAMPLE: usize = 2000;
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let uniform = |rng: &mut ChaCha8Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (lo, hi) = ((c.min_size as f64).ln(), (c.max_size as f64).ln());
    let mut layers = Vec::with_capacity(c.layers);
    for l in 0..c.layers {
        let n = (lo + (hi - lo) * uniform(&mut rng)).exp().round().max(1.0) as u64;
        let sensitivity = (10f64.ln() * (4.0 * uniform(&mut rng) - 2.0)).exp();
        let positions = 1 + rng.next_u64() % 64;
        let mut sq: Vec<f64> = (0..SAMPLE)
            .map(|_| {
                let w: f64 = StandardNormal.sample(&mut rng);
                w * w
            })
            .collect();
        sq.sort_by(f64::total_cmp);
        let mut prefix = vec![0.0; SAMPLE + 1];
        for i in 0..SAMPLE {
            prefix[i + 1] = prefix[i] + sq[i];
        }
        let options = (0..c.levels)
            .map(|k| {
                let s = k as f64 / (c.levels - 1) as f64;
                let pruned = (s * n as f64).round() as u64;
                let m = ((s * SAMPLE as f64).round() as usize).min(SAMPLE);
                let clean = sensitivity * prefix[m] * n as f64 / SAMPLE as f64;
                let distortion = clean * (1.0 + c.noise * (2.0 * uniform(&mut rng) - 1.0)).max(0.0);
                LayerOption {
                    level: k as u32,
                    sparsity: Some(s),
                    cost: vec![n - pruned, (n - pruned) * positions],
                    distortion,
                }
            })
            .collect();
        layers.push(Layer {
            name: format!("layer{l:04}.weight"),
            shape: Some(vec![n as usize]),
            options,
        });
    }
    OptionTable::new(vec![PARAMS.to_string(), "flops".to_string()], layers)
}
