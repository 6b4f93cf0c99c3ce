//! The true joint distortion of an allocation (every layer pruned at once, the network run
//! on the calibration set), as an evaluator for the evolutionary search, and the
//! additivity check the DP relies on: joint distortion against the sum of the per-layer
//! curve values over a sample of random allocations.

use crate::calibration::{Calibration, Distortion};
use crate::curves::{pruned_linear, Curves, Target};
use crate::dense::Dense;
use crate::error::{NnError, Result};
use crate::prune::PrunableLayer;
use crate::staged::Slot;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solvent_solvers::allocation::Evaluator;

/// The swaps (`[block][slot]`) that prune layer l by `pruned[l]` weights (none where 0).
pub fn swaps(
    cal: &Calibration,
    layers: &[PrunableLayer],
    pruned: &[usize],
) -> Result<Vec<[Option<Dense>; 6]>> {
    if pruned.len() != layers.len() {
        return Err(NnError::Input(format!(
            "{} counts for {} layers",
            pruned.len(),
            layers.len()
        )));
    }
    let mut out: Vec<[Option<Dense>; 6]> = (0..cal.staged.blocks.len()).map(|_| Default::default()).collect();
    for (l, &p) in layers.iter().zip(pruned) {
        if p == 0 {
            continue;
        }
        let (b, s) = Slot::parse(&l.name)
            .ok_or_else(|| NnError::Input(format!("\"{}\" is not an encoder linear weight", l.name)))?;
        out[b][s as usize] = Some(pruned_linear(cal, l, p)?);
    }
    Ok(out)
}

/// The joint distortion of pruning layer l by `pruned[l]` weights, on every calibration
/// sentence.
pub fn joint_distortion(cal: &Calibration, layers: &[PrunableLayer], pruned: &[usize]) -> Result<Distortion> {
    cal.joint(&swaps(cal, layers, pruned)?, None)
}

/// The evolutionary search's evaluator: an option index per layer (a level of the curves)
/// scored by the joint distortion — first on a subset of the calibration sentences
/// (screening), then on all of them.
pub struct JointEvaluator<'a> {
    cal: &'a Calibration,
    layers: &'a [PrunableLayer],
    curves: &'a Curves,
    target: Target,
    screen: Vec<usize>,
    /// Evaluations run.
    pub calls: usize,
}

impl<'a> JointEvaluator<'a> {
    /// An evaluator whose first stage uses about `screen` sentences.
    pub fn new(
        cal: &'a Calibration,
        layers: &'a [PrunableLayer],
        curves: &'a Curves,
        target: Target,
        screen: usize,
    ) -> Self {
        Self {
            cal,
            layers,
            curves,
            target,
            screen: cal.subset(screen),
            calls: 0,
        }
    }
}

impl Evaluator for JointEvaluator<'_> {
    fn stages(&self) -> usize {
        2
    }

    fn evaluate(&mut self, choice: &[usize], stage: usize) -> solvent_solvers::Result<f64> {
        self.calls += 1;
        let run = || -> Result<Distortion> {
            let pruned: Vec<usize> = choice
                .iter()
                .zip(&self.curves.layers)
                .map(|(&k, c)| {
                    c.pruned
                        .get(k)
                        .copied()
                        .ok_or_else(|| NnError::Input(format!("no level {k} in \"{}\"", c.name)))
                })
                .collect::<Result<_>>()?;
            let sw = swaps(self.cal, self.layers, &pruned)?;
            self.cal
                .joint(&sw, (stage == 0).then_some(self.screen.as_slice()))
        };
        let d = run()
            .map_err(|e| solvent_solvers::SolverError::NotApplicable(format!("joint distortion: {e}")))?;
        Ok(match self.target {
            Target::Embedding => d.embedding,
            Target::Hidden => d.hidden,
        })
    }
}

/// One sampled allocation of the additivity check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdditivitySample {
    /// The allocation's global sparsity.
    pub sparsity: f64,
    /// Σ_l curve value at the layer's level.
    pub sum: f64,
    /// The measured joint distortion.
    pub joint: f64,
}

/// The additivity check's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Additivity {
    /// Which distortion.
    pub target: Target,
    /// The samples.
    pub samples: Vec<AdditivitySample>,
    /// Pearson correlation of joint and sum.
    pub pearson: f64,
    /// Spearman (rank) correlation of joint and sum: what matters for ranking allocations.
    pub spearman: f64,
    /// Mean, smallest and largest joint / sum.
    pub ratio_mean: f64,
    /// Smallest joint / sum.
    pub ratio_min: f64,
    /// Largest joint / sum.
    pub ratio_max: f64,
}

pub(crate) fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        f64::NAN
    }
}

pub(crate) fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = 0.5 * (i + j) as f64;
        }
        i = j + 1;
    }
    r
}

/// Samples `count` random allocations (a global level drawn in [0.1, 0.8] of the grid,
/// each layer ±4 levels around it), and compares the measured joint distortion with the
/// sum of the curves.
pub fn additivity(
    cal: &Calibration,
    layers: &[PrunableLayer],
    curves: &Curves,
    target: Target,
    count: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Additivity> {
    if count < 3 {
        return Err(NnError::Input(format!(
            "the additivity check needs at least 3 samples, got {count}"
        )));
    }
    let top = curves.levels - 1;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let centre = 0.1 + 0.7 * (rng.next_u64() as f64 / u64::MAX as f64);
        let choice: Vec<usize> = (0..layers.len())
            .map(|_| {
                let jitter = (rng.next_u64() % 9) as f64 - 4.0;
                (centre * top as f64 + jitter).round().clamp(0.0, top as f64) as usize
            })
            .collect();
        let pruned: Vec<usize> = choice
            .iter()
            .zip(&curves.layers)
            .map(|(&k, c)| c.pruned[k])
            .collect();
        let sum: f64 = choice
            .iter()
            .zip(&curves.layers)
            .map(|(&k, c)| match target {
                Target::Embedding => c.embedding[k],
                Target::Hidden => c.hidden[k],
            })
            .sum();
        let d = joint_distortion(cal, layers, &pruned)?;
        let n: usize = layers.iter().map(PrunableLayer::len).sum();
        samples.push(AdditivitySample {
            sparsity: pruned.iter().sum::<usize>() as f64 / n as f64,
            sum,
            joint: match target {
                Target::Embedding => d.embedding,
                Target::Hidden => d.hidden,
            },
        });
        progress(i + 1, count);
    }
    let x: Vec<f64> = samples.iter().map(|s| s.sum).collect();
    let y: Vec<f64> = samples.iter().map(|s| s.joint).collect();
    let ratios: Vec<f64> = samples
        .iter()
        .filter(|s| s.sum > 0.0)
        .map(|s| s.joint / s.sum)
        .collect();
    Ok(Additivity {
        target,
        pearson: pearson(&x, &y),
        spearman: pearson(&ranks(&x), &ranks(&y)),
        ratio_mean: ratios.iter().sum::<f64>() / ratios.len().max(1) as f64,
        ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratio_max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        samples,
    })
}
