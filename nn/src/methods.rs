//! Allocation methods on a real network, each giving the number of weights to prune in
//! every layer for a global sparsity: the baselines people use (uniform, global magnitude,
//! ERK, LAMP, OWL) at their exact per-layer counts, and the DP on the output-distortion
//! curves (on the curves' level grid), optionally refined by evolutionary search under the
//! true joint distortion.

use crate::calibration::Calibration;
use crate::curves::{Curves, Target};
use crate::error::{NnError, Result};
use crate::joint::JointEvaluator;
use crate::prune::PrunableLayer;
use crate::staged::Slot;
use solvent_solvers::allocation::{
    allocate, baselines::lamp_scores, AllocateRequest, AllocationMethod, Budget, EvolveRequest,
    EvolveSettings,
};

/// A way to choose per-layer sparsities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every layer at the global sparsity.
    Uniform,
    /// One magnitude threshold over all layers.
    Global,
    /// Erdős–Rényi-kernel densities, ∝ (rows + cols)/(rows·cols).
    Erk,
    /// One threshold on LAMP scores over all layers.
    Lamp,
    /// Outlier-weighted layer-wise sparsity (per block, from Wanda-score outliers).
    Owl,
    /// The exact DP on the output-distortion curves.
    Dp,
    /// The DP's allocation refined by evolutionary search on the joint distortion.
    Evolve,
}

impl Method {
    /// Every method, baselines first.
    pub const ALL: [Method; 7] = [
        Method::Uniform,
        Method::Global,
        Method::Erk,
        Method::Lamp,
        Method::Owl,
        Method::Dp,
        Method::Evolve,
    ];

    /// The method's name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Uniform => "uniform",
            Method::Global => "global",
            Method::Erk => "erk",
            Method::Lamp => "lamp",
            Method::Owl => "owl",
            Method::Dp => "dp",
            Method::Evolve => "evolve",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown method \"{s}\" (uniform, global, erk, lamp, owl, dp, evolve)"))
    }
}

/// OWL's two hyper-parameters (Yin et al. 2024: M = 5, λ = 0.08 on LLaMA).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct OwlSettings {
    /// A weight is an outlier when its Wanda score exceeds M × the block's mean score.
    pub m: f64,
    /// Block densities spread over ±λ around the global density.
    pub lambda: f64,
}

impl Default for OwlSettings {
    fn default() -> Self {
        Self { m: 5.0, lambda: 0.08 }
    }
}

/// What the methods need: the calibration pass, the layers (in curve order) and the curves.
pub struct Context<'a> {
    /// The dense pass on the calibration set.
    pub cal: &'a Calibration,
    /// The prunable layers, in the curves' order.
    pub layers: &'a [PrunableLayer],
    /// The output-distortion curves.
    pub curves: &'a Curves,
    /// Which distortion the DP and the search minimise.
    pub target: Target,
    /// OWL's settings.
    pub owl: OwlSettings,
    /// The evolutionary search's settings (its evaluator: the joint distortion, screened on
    /// `evolve_screen` calibration sentences, decided on all of them).
    pub evolve: EvolveSettings,
    /// Sentences of the first (screening) stage of the search.
    pub evolve_screen: usize,
}

/// The most weights a `sparsity` allows to keep in total.
pub fn keep_budget(layers: &[PrunableLayer], sparsity: f64) -> Result<usize> {
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(NnError::Input(format!(
            "sparsity must be in [0, 1], got {sparsity}"
        )));
    }
    let n: usize = layers.iter().map(PrunableLayer::len).sum();
    Ok(((1.0 - sparsity) * n as f64).floor() as usize)
}

/// Pruned counts per layer from kept counts.
fn pruned_from_kept(layers: &[PrunableLayer], kept: &[usize]) -> Vec<usize> {
    layers
        .iter()
        .zip(kept)
        .map(|(l, &k)| l.len() - k.min(l.len()))
        .collect()
}

/// Keeps the `keep` highest keys over all layers (ties broken by layer, then position).
fn global_top(keys: &[Vec<f32>], keep: usize) -> Vec<usize> {
    let mut all: Vec<(f32, u32, u32)> = keys
        .iter()
        .enumerate()
        .flat_map(|(l, k)| k.iter().enumerate().map(move |(i, &v)| (v, l as u32, i as u32)))
        .collect();
    let mut kept = vec![0usize; keys.len()];
    if keep == 0 {
        return kept;
    }
    let keep = keep.min(all.len());
    let cmp = |a: &(f32, u32, u32), b: &(f32, u32, u32)| {
        b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
    };
    if keep < all.len() {
        all.select_nth_unstable_by(keep - 1, cmp);
    }
    for e in &all[..keep] {
        kept[e.1 as usize] += 1;
    }
    kept
}

/// The largest parameter x in [lo, hi] whose counts `kept_at(x)` (non-decreasing in x) fit
/// `keep` in total, found by bisection; those counts.
fn largest_fitting(lo: f64, hi: f64, keep: usize, kept_at: impl Fn(f64) -> Vec<usize>) -> Vec<usize> {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if kept_at(mid).iter().sum::<usize>() <= keep {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    kept_at(lo)
}

/// Densities `raw[l] + c`, clipped to [0, 1], with the shift c as large as keeps
/// Σ floor(density·n) within `keep`.
fn fit_shift(layers: &[PrunableLayer], raw: &[f64], keep: usize) -> Vec<usize> {
    largest_fitting(-2.0, 2.0, keep, |c| {
        layers
            .iter()
            .zip(raw)
            .map(|(l, &r)| ((r + c).clamp(0.0, 1.0) * l.len() as f64).floor() as usize)
            .collect()
    })
}

/// Uniform: every layer keeps floor((1 − s)·n).
pub fn uniform(layers: &[PrunableLayer], sparsity: f64) -> Result<Vec<usize>> {
    let keep = keep_budget(layers, sparsity)?;
    Ok(pruned_from_kept(
        layers,
        &fit_shift(layers, &vec![0.0; layers.len()], keep),
    ))
}

/// Global magnitude: the largest |w| over all layers are kept.
pub fn global(layers: &[PrunableLayer], sparsity: f64) -> Result<Vec<usize>> {
    let keep = keep_budget(layers, sparsity)?;
    let keys: Vec<Vec<f32>> = layers
        .iter()
        .map(|l| l.weights.iter().map(|w| w.abs()).collect())
        .collect();
    Ok(pruned_from_kept(layers, &global_top(&keys, keep)))
}

/// LAMP (Lee et al. 2021): the largest LAMP scores w²/Σ_{|v|≥|w|} v² over all layers are kept.
pub fn lamp(layers: &[PrunableLayer], sparsity: f64) -> Result<Vec<usize>> {
    let keep = keep_budget(layers, sparsity)?;
    let keys: Vec<Vec<f32>> = layers
        .iter()
        .map(|l| {
            let mut sq: Vec<f64> = l.weights.iter().map(|&w| f64::from(w) * f64::from(w)).collect();
            sq.sort_unstable_by(f64::total_cmp);
            lamp_scores(&sq).into_iter().map(|v| v as f32).collect()
        })
        .collect();
    // The scores are per rank; a layer keeps its top ranks, so the per-layer count is all
    // that matters.
    Ok(pruned_from_kept(layers, &global_top(&keys, keep)))
}

/// ERK (Evci et al. 2020): density min(1, ε·(rows + cols)/(rows·cols)), ε as large as the
/// budget allows.
pub fn erk(layers: &[PrunableLayer], sparsity: f64) -> Result<Vec<usize>> {
    let keep = keep_budget(layers, sparsity)?;
    let score: Vec<f64> = layers
        .iter()
        .map(|l| (l.shape.0 + l.shape.1) as f64 / (l.shape.0 * l.shape.1) as f64)
        .collect();
    let top = score.iter().map(|s| 1.0 / s).fold(0.0, f64::max);
    let kept = largest_fitting(0.0, top, keep, |eps| {
        layers
            .iter()
            .zip(&score)
            .map(|(l, &s)| ((eps * s).min(1.0) * l.len() as f64).floor() as usize)
            .collect()
    });
    Ok(pruned_from_kept(layers, &kept))
}

/// OWL (Yin et al. 2024): each block's outlier ratio D (share of its Wanda scores
/// |W_ij|·‖X_j‖ above M × their mean), mapped linearly to [0, 2λ], centred on the global
/// density; every linear layer of a block gets the block's density.
pub fn owl(ctx: &Context<'_>, sparsity: f64) -> Result<Vec<usize>> {
    let keep = keep_budget(ctx.layers, sparsity)?;
    let (ratio, block_of) = outlier_ratios(ctx)?;
    let (lo, hi) = ratio
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &r| {
            (a.min(r), b.max(r))
        });
    let spread: Vec<f64> = ratio
        .iter()
        .map(|&r| {
            if hi > lo {
                (r - lo) / (hi - lo) * 2.0 * ctx.owl.lambda
            } else {
                0.0
            }
        })
        .collect();
    let raw: Vec<f64> = block_of.iter().map(|&b| spread[b]).collect();
    Ok(pruned_from_kept(ctx.layers, &fit_shift(ctx.layers, &raw, keep)))
}

/// OWL's outlier ratio of every block (the share of its Wanda scores |W_ij|·‖X_j‖ above
/// M × their mean), and the block of every layer.
pub fn outlier_ratios(ctx: &Context<'_>) -> Result<(Vec<f64>, Vec<usize>)> {
    if !(ctx.owl.m > 0.0 && ctx.owl.m.is_finite() && ctx.owl.lambda >= 0.0 && ctx.owl.lambda.is_finite()) {
        return Err(NnError::Input(format!(
            "OWL needs M > 0 and λ ≥ 0 (finite), got M = {}, λ = {}",
            ctx.owl.m, ctx.owl.lambda
        )));
    }
    let blocks = ctx.cal.staged.blocks.len();
    let mut ratio = vec![0.0f64; blocks];
    let mut block_of = Vec::with_capacity(ctx.layers.len());
    for l in ctx.layers {
        let (b, _) = Slot::parse(&l.name)
            .ok_or_else(|| NnError::Input(format!("\"{}\" is not an encoder linear weight", l.name)))?;
        block_of.push(b);
    }
    for (b, r) in ratio.iter_mut().enumerate() {
        let mut scores = Vec::new();
        for (l, _) in ctx.layers.iter().zip(&block_of).filter(|(_, &bb)| bb == b) {
            let (_, s) = Slot::parse(&l.name).expect("parsed above");
            let norms = ctx.cal.input_norms(b, s)?;
            let cols = l.shape.1;
            scores.extend(
                l.weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| f64::from(w.abs() * norms[i % cols])),
            );
        }
        if scores.is_empty() {
            continue;
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        *r = scores.iter().filter(|&&s| s > ctx.owl.m * mean).count() as f64 / scores.len() as f64;
    }
    Ok((ratio, block_of))
}

/// The DP (or, with `refine`, the DP then the evolutionary search) on the curves: pruned
/// counts per layer, the allocation's predicted (summed) distortion, and the search's
/// details when it ran.
pub fn dp(ctx: &Context<'_>, sparsity: f64, refine: bool) -> Result<(Vec<usize>, f64, serde_json::Value)> {
    let keep = keep_budget(ctx.layers, sparsity)?;
    let table = ctx.curves.table(ctx.target)?;
    let mut eval = JointEvaluator::new(ctx.cal, ctx.layers, ctx.curves, ctx.target, ctx.evolve_screen);
    let mut request = AllocateRequest::new(
        if refine {
            AllocationMethod::Evolve
        } else {
            AllocationMethod::Dp
        },
        Budget::Units(keep as u64),
    );
    if refine {
        request.evolve = EvolveRequest {
            settings: ctx.evolve.clone(),
            evaluator: Some(&mut eval),
            ..Default::default()
        };
    }
    let a = allocate(&table, request)?;
    let pruned = a
        .choice
        .iter()
        .zip(&ctx.curves.layers)
        .map(|(&k, c)| c.pruned[k])
        .collect();
    let details = if refine {
        serde_json::Value::Object(a.details.clone())
    } else {
        serde_json::Value::Null
    };
    Ok((pruned, a.total_distortion, details))
}

/// Pruned counts per layer for `method` at `sparsity`.
pub fn counts(ctx: &Context<'_>, method: Method, sparsity: f64) -> Result<Vec<usize>> {
    match method {
        Method::Uniform => uniform(ctx.layers, sparsity),
        Method::Global => global(ctx.layers, sparsity),
        Method::Erk => erk(ctx.layers, sparsity),
        Method::Lamp => lamp(ctx.layers, sparsity),
        Method::Owl => owl(ctx, sparsity),
        Method::Dp => Ok(dp(ctx, sparsity, false)?.0),
        Method::Evolve => Ok(dp(ctx, sparsity, true)?.0),
    }
}
