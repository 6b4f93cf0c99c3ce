//! Held-out evaluation of allocation methods: for each method and global sparsity, the
//! pruned network (candle-transformers' BERT over the pruned weights) embeds held-out
//! sentences, compared with the dense model's embeddings — mean cosine similarity and the
//! top-10 retrieval overlap (each sentence as a query over the others) — plus the joint
//! distortion on the calibration set.

use crate::encoder::ModelDir;
use crate::error::{NnError, Result};
use crate::joint::joint_distortion;
use crate::methods::{counts, dp, keep_budget, Context, Method};
use crate::prune::PrunableLayer;
use std::time::Instant;

/// Neighbours compared in the retrieval overlap.
pub const TOP_K: usize = 10;

/// One method at one sparsity.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalRow {
    /// The method.
    pub method: Method,
    /// The global sparsity asked for.
    pub target_sparsity: f64,
    /// The sparsity reached (pruned / prunable weights).
    pub sparsity: f64,
    /// Mean cosine similarity between pruned and dense held-out embeddings.
    pub cosine: f64,
    /// Mean share of each held-out sentence's 10 nearest neighbours (dense model) that the
    /// pruned model also ranks in its top 10.
    pub top10: f64,
    /// Joint embedding distortion on the calibration set.
    pub calibration_embedding: f64,
    /// Joint hidden-state distortion on the calibration set.
    pub calibration_hidden: f64,
    /// The curves' sum for the DP and the search (their prediction), else none.
    pub predicted: Option<f64>,
    /// Pruned weights per layer (curve order).
    pub pruned: Vec<usize>,
    /// Seconds allocating.
    pub seconds: f64,
}

/// The whole evaluation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalTable {
    /// Held-out sentences.
    pub heldout: usize,
    /// The distortion the DP and the search minimised (and the table's calibration column).
    pub target: crate::curves::Target,
    /// The rows, by sparsity then method.
    pub rows: Vec<EvalRow>,
}

/// Cosine similarity of unit rows (a dot product, renormalised against rounding).
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-300)
}

/// Each row's `k` nearest other rows by cosine (ties by index).
pub fn neighbours(e: &[Vec<f32>], k: usize) -> Vec<Vec<usize>> {
    (0..e.len())
        .map(|i| {
            let mut s: Vec<(f64, usize)> = (0..e.len())
                .filter(|&j| j != i)
                .map(|j| (cosine(&e[i], &e[j]), j))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            s.into_iter().take(k).map(|(_, j)| j).collect()
        })
        .collect()
}

/// Mean cosine and top-k overlap of `pruned` against `dense` embeddings (`dense_nn` the
/// dense neighbours).
pub fn compare(dense: &[Vec<f32>], dense_nn: &[Vec<usize>], pruned: &[Vec<f32>], k: usize) -> (f64, f64) {
    let cos = dense.iter().zip(pruned).map(|(a, b)| cosine(a, b)).sum::<f64>() / dense.len().max(1) as f64;
    let p_nn = neighbours(pruned, k);
    let overlap = dense_nn
        .iter()
        .zip(&p_nn)
        .map(|(a, b)| a.iter().filter(|j| b.contains(j)).count() as f64 / a.len().max(1) as f64)
        .sum::<f64>()
        / dense_nn.len().max(1) as f64;
    (cos, overlap)
}

/// The model's tensors with layer l pruned by `pruned[l]` weights.
pub fn pruned_tensors(
    model: &ModelDir,
    layers: &[PrunableLayer],
    pruned: &[usize],
) -> Result<std::collections::HashMap<String, candle_core::Tensor>> {
    let mut t = model.tensors.clone();
    for (l, &p) in layers.iter().zip(pruned) {
        if p > 0 {
            t.insert(l.name.clone(), l.pruned(p)?);
        }
    }
    Ok(t)
}

/// Runs every method at every sparsity and measures it on `heldout`.
pub fn evaluate(
    model: &ModelDir,
    ctx: &Context<'_>,
    heldout: &[String],
    methods: &[Method],
    sparsities: &[f64],
    progress: &mut dyn FnMut(&str),
) -> Result<EvalTable> {
    if heldout.len() <= TOP_K {
        return Err(NnError::Input(format!(
            "the held-out set needs more than {TOP_K} sentences for the top-{TOP_K} overlap, got {}",
            heldout.len()
        )));
    }
    let dense = model.embed(heldout)?;
    let dense_nn = neighbours(&dense, TOP_K);
    let n: usize = ctx.layers.iter().map(PrunableLayer::len).sum();
    let mut rows = Vec::new();
    for &s in sparsities {
        keep_budget(ctx.layers, s)?;
        for &m in methods {
            progress(&format!("{} at {:.0}%", m.as_str(), 100.0 * s));
            let t = Instant::now();
            let (pruned, predicted) = match m {
                Method::Dp | Method::Evolve => {
                    let (p, v, _) = dp(ctx, s, m == Method::Evolve)?;
                    (p, Some(v))
                }
                _ => (counts(ctx, m, s)?, None),
            };
            let seconds = t.elapsed().as_secs_f64();
            let emb = model.embed_with(&pruned_tensors(model, ctx.layers, &pruned)?, heldout)?;
            let (cos, top) = compare(&dense, &dense_nn, &emb, TOP_K);
            let joint = joint_distortion(ctx.cal, ctx.layers, &pruned)?;
            rows.push(EvalRow {
                method: m,
                target_sparsity: s,
                sparsity: pruned.iter().sum::<usize>() as f64 / n as f64,
                cosine: cos,
                top10: top,
                calibration_embedding: joint.embedding,
                calibration_hidden: joint.hidden,
                predicted,
                pruned,
                seconds,
            });
        }
    }
    Ok(EvalTable {
        heldout: heldout.len(),
        target: ctx.target,
        rows,
    })
}

impl EvalTable {
    /// The table as markdown: one row per method and sparsity.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "Held-out sentences: {}. Cosine: mean cosine similarity of pruned and dense embeddings; \
             top-10: mean overlap of each sentence's 10 nearest neighbours; calibration: joint \
             {} distortion on the calibration set; predicted: the curves' sum for the same \
             allocation.\n\n\
             | sparsity | method | reached | cosine | top-10 | calibration distortion | predicted |\n\
             |---|---|---|---|---|---|---|\n",
            self.heldout,
            match self.target {
                crate::curves::Target::Embedding => "embedding",
                crate::curves::Target::Hidden => "hidden-state",
            }
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {:.0}% | {} | {:.2}% | {:.4} | {:.3} | {:.4e} | {} |\n",
                100.0 * r.target_sparsity,
                r.method.as_str(),
                100.0 * r.sparsity,
                r.cosine,
                r.top10,
                match self.target {
                    crate::curves::Target::Embedding => r.calibration_embedding,
                    crate::curves::Target::Hidden => r.calibration_hidden,
                },
                r.predicted
                    .map(|p| format!("{p:.4e}"))
                    .unwrap_or_else(|| "".into())
            ));
        }
        s
    }
}
