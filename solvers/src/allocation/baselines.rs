//! The allocations users compare against, placed on the table's level grid so that they are
//! judged on the same objective as the DP: each layer takes the option with the most kept
//! weights not above what the rule keeps (so a baseline never exceeds the budget by
//! snapping), and the rule's free parameter is then pushed as far as the budget allows.
//!
//! - **uniform**: one level for every layer — the best common level that fits.
//! - **global magnitude**: one magnitude threshold over all layers' weights.
//! - **ERK** (Evci et al.): density ∝ (Σ dims)/(Π dims), capped at 1.
//! - **LAMP** (Lee et al.): score of the u-th smallest weight w_u² / Σ_{v ≥ u} w_v², one global
//!   threshold on the scores.

use crate::error::{Result, SolverError};
use solvent_problems::allocation::{Layer, OptionTable};

/// The best single level common to all layers that fits the budget in resource `r`.
pub fn uniform(table: &OptionTable, r: usize, budget: u64) -> Result<Vec<usize>> {
    let mut best: Option<(f64, Vec<usize>)> = None;
    for o in &table.layers[0].options {
        let Some(choice) = table
            .layers
            .iter()
            .map(|l| l.option_at_level(o.level))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        if table.total_cost(&choice, r) <= budget {
            let d = table.total_distortion(&choice);
            if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                best = Some((d, choice));
            }
        }
    }
    best.map(|b| b.1).ok_or_else(|| {
        SolverError::Infeasible(format!(
            "no level common to all layers fits the budget {budget} {}",
            table.resources[r]
        ))
    })
}

/// The option of `layer` with the most kept weights (`params`) not above `kept`, else the
/// cheapest option.
pub fn snap(layer: &Layer, kept: u64) -> usize {
    let mut best: Option<usize> = None;
    for (k, o) in layer.options.iter().enumerate() {
        if o.cost[0] <= kept && best.is_none_or(|b| o.cost[0] > layer.options[b].cost[0]) {
            best = Some(k);
        }
    }
    best.unwrap_or_else(|| {
        (0..layer.options.len())
            .min_by_key(|&k| layer.options[k].cost[0])
            .unwrap_or(0)
    })
}

/// Binary search over x ∈ [0, 2³²] for the largest x whose snapped allocation fits; `kept(x)`
/// must be non-decreasing in x for every layer.
fn fit(table: &OptionTable, r: usize, budget: u64, kept: impl Fn(u64) -> Vec<u64>) -> Result<Vec<usize>> {
    let choice_at = |x: u64| -> Vec<usize> {
        table
            .layers
            .iter()
            .zip(kept(x))
            .map(|(l, k)| snap(l, k))
            .collect()
    };
    let (mut lo, mut hi) = (0u64, 1u64 << 32);
    let start = choice_at(lo);
    if table.total_cost(&start, r) > budget {
        return Err(SolverError::Infeasible(format!(
            "budget {budget} {} is below what the rule's sparsest allocation costs ({})",
            table.resources[r],
            table.total_cost(&start, r)
        )));
    }
    if table.total_cost(&choice_at(hi), r) <= budget {
        return Ok(choice_at(hi));
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if table.total_cost(&choice_at(mid), r) <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(choice_at(lo))
}

/// ERK: layer l keeps min(1, ε·(Σ dims)/(Π dims)) of its weights, ε as large as the budget
/// allows. Needs every layer's shape.
pub fn erk(table: &OptionTable, r: usize, budget: u64) -> Result<Vec<usize>> {
    let mut scores = Vec::with_capacity(table.layers.len());
    for l in &table.layers {
        let Some(shape) = l
            .shape
            .as_ref()
            .filter(|s| !s.is_empty() && s.iter().all(|&d| d > 0))
        else {
            return Err(SolverError::NotApplicable(format!(
                "ERK needs every layer's shape; layer \"{}\" has none (give \"shape\" in the table)",
                l.name
            )));
        };
        let sum: f64 = shape.iter().map(|&d| d as f64).sum();
        let prod: f64 = shape.iter().map(|&d| d as f64).product();
        scores.push((sum / prod, prod));
    }
    // ε from 0 to the value where every layer is dense.
    let eps_max = scores.iter().map(|(s, _)| 1.0 / s).fold(0.0, f64::max);
    fit(table, r, budget, |x| {
        let eps = eps_max * x as f64 / (1u64 << 32) as f64;
        scores
            .iter()
            .map(|&(s, n)| ((eps * s).min(1.0) * n).floor() as u64)
            .collect()
    })
}

/// Counts of entries strictly above a threshold that decreases with x (over the bit patterns of
/// non-negative doubles, whose order matches the integers').
fn threshold_fit(table: &OptionTable, r: usize, budget: u64, sorted: &[Vec<f64>]) -> Result<Vec<usize>> {
    if sorted.len() != table.layers.len() {
        return Err(SolverError::NotApplicable(format!(
            "{} weight arrays for {} layers",
            sorted.len(),
            table.layers.len()
        )));
    }
    let top = f64::INFINITY.to_bits();
    fit(table, r, budget, |x| {
        // x = 0 → threshold +∞ (keep nothing); x = 2³² → threshold 0 (keep every non-zero).
        let bits = top - ((top as u128 * x as u128) >> 32) as u64;
        let t = f64::from_bits(bits);
        sorted
            .iter()
            .map(|s| (s.len() - s.partition_point(|&v| v <= t)) as u64)
            .collect()
    })
}

/// Global magnitude pruning: one threshold on |w| over all layers. `sorted_sq[l]` holds layer
/// l's squared weights in increasing order.
pub fn global_magnitude(
    table: &OptionTable,
    r: usize,
    budget: u64,
    sorted_sq: &[Vec<f64>],
) -> Result<Vec<usize>> {
    threshold_fit(table, r, budget, sorted_sq)
}

/// LAMP scores of one layer from its squared weights in increasing order (also increasing).
pub fn lamp_scores(sorted_sq: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; sorted_sq.len()];
    let mut suffix = 0.0;
    for u in (0..sorted_sq.len()).rev() {
        suffix += sorted_sq[u];
        out[u] = if suffix > 0.0 { sorted_sq[u] / suffix } else { 0.0 };
    }
    // Keep the order exact despite rounding (threshold counts use binary search).
    for u in 1..out.len() {
        out[u] = out[u].max(out[u - 1]);
    }
    out
}

/// LAMP: one threshold on the LAMP scores over all layers.
pub fn lamp(table: &OptionTable, r: usize, budget: u64, sorted_sq: &[Vec<f64>]) -> Result<Vec<usize>> {
    let scores: Vec<Vec<f64>> = sorted_sq.iter().map(|s| lamp_scores(s)).collect();
    threshold_fit(table, r, budget, &scores)
}
