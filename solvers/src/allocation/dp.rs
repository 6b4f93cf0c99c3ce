//! The exact dynamic programme for the multiple-choice knapsack, small in memory and fast.
//!
//! - **States are Pareto lists**, not a dense table: after layer l, the (cost, distortion) pairs
//!   no other reachable pair beats on both, by increasing cost. A list never holds more than
//!   budget + 1 states, so the working memory is O(B) whatever the cost resolution.
//! - **Lagrangian pruning** makes it fast without giving up exactness. With the LP multiplier λ
//!   and m_l = min_k (D_lk + λ c_lk), any allocation's value is
//!   Σ m_l − λB + Σ_l r_l + λ(B − cost), where r_l = D_l + λc_l − m_l ≥ 0 is the option's reduced
//!   cost. An optimal allocation is no worse than the greedy one (UB), so its reduced costs sum
//!   to at most UB − LB(λ) = gap. Options whose reduced cost alone exceeds the gap, and partial
//!   states whose reduced costs already do, cannot be part of it and are dropped; so are states
//!   that cannot reach the budget with the remaining layers' cheapest options.
//! - **Compact backtracking**: each stored state keeps its parent's index (u32) and the option
//!   taken (u16) — 6 bytes — instead of an L×B table of floats and indices.

use super::hull::{lagrange, pareto, Lagrange};
use super::instance::Mckp;
use crate::error::{Result, SolverError};

/// What the DP did and what it held.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct DpStats {
    /// Options over all layers.
    pub options_total: usize,
    /// Options left after dominance and reduced-cost pruning.
    pub options_kept: usize,
    /// States stored for backtracking, over all layers.
    pub states_stored: usize,
    /// The longest Pareto list.
    pub states_peak: usize,
    /// Bytes of the backtracking arrays (6 per stored state).
    pub backtrack_bytes: usize,
    /// Bytes of the working lists at their largest (current list plus the merge buffers).
    pub working_bytes: usize,
    /// Whether the pruned pass had to be repeated without pruning (a safety net for rounding).
    pub unpruned_rerun: bool,
}

/// The exact optimum and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct DpSolution {
    /// Option index per layer.
    pub choice: Vec<usize>,
    /// Total distortion (the optimum).
    pub value: f64,
    /// Total cost.
    pub cost: u64,
    /// The Lagrangian solve used for the bounds (its `lower_bound` certifies the optimum).
    pub lagrange: Lagrange,
    /// Sizes.
    pub stats: DpStats,
}

#[derive(Clone, Copy)]
struct Cand {
    cost: u64,
    value: f64,
    parent: u32,
    option: u16,
}

/// Solves the problem exactly. Errors when it is infeasible or has more than 65,535 options in
/// a layer or more than 2³² states in a list.
pub fn solve(p: &Mckp) -> Result<DpSolution> {
    p.check("cost")?;
    if let Some(l) = p.costs.iter().position(|c| c.len() > u16::MAX as usize) {
        return Err(SolverError::NotApplicable(format!(
            "layer #{l} has {} options; the DP handles at most {}",
            p.costs[l].len(),
            u16::MAX
        )));
    }
    let lag = lagrange(p);
    let pruned = run(p, &lag, true)?;
    let sol = match pruned {
        Some(s) if s.1 <= lag.value => s,
        _ => {
            let mut s = run(p, &lag, false)?.ok_or_else(|| {
                SolverError::NotApplicable("allocation DP found no feasible state (internal error)".into())
            })?;
            s.3.unrerun();
            s
        }
    };
    let (choice, value, cost, stats) = sol;
    Ok(DpSolution {
        choice,
        value,
        cost,
        lagrange: lag,
        stats,
    })
}

impl DpStats {
    fn unrerun(&mut self) {
        self.unpruned_rerun = true;
    }
}

type Found = (Vec<usize>, f64, u64, DpStats);

fn run(p: &Mckp, lag: &Lagrange, prune: bool) -> Result<Option<Found>> {
    let nl = p.layers();
    let lambda = lag.lambda;
    let budget = p.budget;
    let gap = (lag.value - lag.lower_bound).max(0.0);
    let slack = 1e-9 * (1.0 + lag.value.abs() + lambda * budget as f64);
    let limit = if prune { gap + slack } else { f64::INFINITY };
    let mut stats = DpStats {
        options_total: p.costs.iter().map(Vec::len).sum(),
        ..DpStats::default()
    };

    // Per layer: m_l, and the kept options by increasing cost.
    let mut m = Vec::with_capacity(nl);
    let mut kept: Vec<Vec<usize>> = Vec::with_capacity(nl);
    for (c, v) in p.costs.iter().zip(&p.values) {
        let ml = c
            .iter()
            .zip(v)
            .map(|(&c, &v)| v + lambda * c as f64)
            .fold(f64::INFINITY, f64::min);
        m.push(ml);
        let opts: Vec<usize> = pareto(c, v)
            .into_iter()
            .filter(|&k| v[k] + lambda * c[k] as f64 - ml <= limit)
            .collect();
        stats.options_kept += opts.len();
        kept.push(opts);
    }
    // min_rest[l] = cheapest total of layers l.. with kept options; msum[l] = Σ_{j<l} m_j.
    let mut min_rest = vec![0u64; nl + 1];
    for l in (0..nl).rev() {
        min_rest[l] = min_rest[l + 1]
            + kept[l]
                .iter()
                .map(|&k| p.costs[l][k])
                .min()
                .unwrap_or(u64::MAX / 4);
    }
    if min_rest[0] > budget {
        return Ok(None);
    }
    let mut msum = vec![0.0; nl + 1];
    for l in 0..nl {
        msum[l + 1] = msum[l] + m[l];
    }

    let mut cur_cost: Vec<u64> = vec![0];
    let mut cur_value: Vec<f64> = vec![0.0];
    let mut parents: Vec<Vec<u32>> = Vec::with_capacity(nl);
    let mut options: Vec<Vec<u16>> = Vec::with_capacity(nl);
    let mut acc: Vec<Cand> = Vec::new();
    let mut out: Vec<Cand> = Vec::new();
    for l in 0..nl {
        let cap = budget - min_rest[l + 1];
        let base = msum[l + 1];
        acc.clear();
        for &k in &kept[l] {
            let (ck, vk) = (p.costs[l][k], p.values[l][k]);
            out.clear();
            let mut i = 0;
            let push = |out: &mut Vec<Cand>, c: Cand| match out.last_mut() {
                Some(last) if c.value >= last.value => {}
                Some(last) if last.cost == c.cost => *last = c,
                _ => out.push(c),
            };
            for (j, (&c0, &v0)) in cur_cost.iter().zip(&cur_value).enumerate() {
                let cost = c0 + ck;
                if cost > cap {
                    break;
                }
                let value = v0 + vk;
                if value + lambda * cost as f64 - base > limit {
                    continue;
                }
                while i < acc.len() && acc[i].cost <= cost {
                    push(&mut out, acc[i]);
                    i += 1;
                }
                push(
                    &mut out,
                    Cand {
                        cost,
                        value,
                        parent: j as u32,
                        option: k as u16,
                    },
                );
            }
            for &c in &acc[i..] {
                push(&mut out, c);
            }
            std::mem::swap(&mut acc, &mut out);
        }
        if acc.is_empty() {
            return Ok(None);
        }
        if acc.len() > u32::MAX as usize {
            return Err(SolverError::NotApplicable(
                "allocation DP list exceeds 2³² states".into(),
            ));
        }
        stats.states_peak = stats.states_peak.max(acc.len());
        stats.states_stored += acc.len();
        stats.working_bytes = stats
            .working_bytes
            .max((acc.capacity() + out.capacity()) * std::mem::size_of::<Cand>() + cur_cost.capacity() * 16);
        parents.push(acc.iter().map(|c| c.parent).collect());
        options.push(acc.iter().map(|c| c.option).collect());
        cur_cost.clear();
        cur_value.clear();
        cur_cost.extend(acc.iter().map(|c| c.cost));
        cur_value.extend(acc.iter().map(|c| c.value));
    }
    stats.backtrack_bytes = stats.states_stored * 6;
    // Values strictly decrease along a Pareto list: the last state is the optimum.
    let mut idx = cur_cost.len() - 1;
    let (value, cost) = (cur_value[idx], cur_cost[idx]);
    let mut choice = vec![0usize; nl];
    for l in (0..nl).rev() {
        choice[l] = options[l][idx] as usize;
        idx = parents[l][idx] as usize;
    }
    Ok(Some((choice, value, cost, stats)))
}
