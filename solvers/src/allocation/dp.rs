//! The exact dynamic programme for the multiple-choice knapsack, small in memory and fast.
//!
//! - **States are Pareto lists**, not a dense table: after layer l, the (cost, distortion) pairs
//!   no other reachable pair beats on both, by increasing cost. A list never holds more than
//!   budget + 1 states, so a pass over the layers works in O(B) memory whatever the resolution.
//! - **Lagrangian pruning** makes it fast without giving up exactness. With the LP multiplier λ
//!   and m_l = min_k (D_lk + λ c_lk), any allocation's value is
//!   Σ m_l − λB + Σ_l r_l + λ(B − cost), where r_l = D_l + λc_l − m_l ≥ 0 is the option's reduced
//!   cost. An optimal allocation is no worse than the greedy one (UB), so its reduced costs sum
//!   to at most UB − LB(λ) = gap. Options whose reduced cost alone exceeds the gap, and partial
//!   states whose reduced costs already do, cannot be part of it and are dropped; so are states
//!   that cannot fit the budget with the remaining layers' cheapest options.
//! - **Compact backtracking**: each stored state keeps its parent's index (u32) and the option
//!   taken (u16) — 6 bytes — instead of an L×B table of floats and indices.
//! - **Divide and conquer when even that is too much** (more than
//!   [`DpSettings::backtrack_cap_bytes`]): the Pareto fronts of the first and second halves of
//!   the layers are computed without backtracking, the best pair that fits splits the budget,
//!   and each half is solved the same way with its share (Hirschberg). Memory stays O(B) (two
//!   lists), time grows by at most a factor log L.

use super::hull::{lagrange, pareto, Lagrange};
use super::instance::Mckp;
use crate::error::{Result, SolverError};

/// Settings of the exact DP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpSettings {
    /// Most bytes of backtracking arrays a pass may hold before the solve switches to divide
    /// and conquer.
    pub backtrack_cap_bytes: usize,
}

impl Default for DpSettings {
    fn default() -> Self {
        Self {
            backtrack_cap_bytes: 64 << 20,
        }
    }
}

/// What the DP did and what it held.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct DpStats {
    /// Options over all layers.
    pub options_total: usize,
    /// Options left after dominance and reduced-cost pruning.
    pub options_kept: usize,
    /// States stored for backtracking (the largest set held at once).
    pub states_stored: usize,
    /// The longest Pareto list.
    pub states_peak: usize,
    /// Bytes of the backtracking arrays at their largest (6 per stored state).
    pub backtrack_bytes: usize,
    /// Bytes of the working lists at their largest (current list plus the merge buffers).
    pub working_bytes: usize,
    /// Passes over layers (1 unless divide and conquer was needed).
    pub passes: usize,
    /// Whether divide and conquer was used.
    pub divide_and_conquer: bool,
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

/// Solves the problem exactly with default settings.
pub fn solve(p: &Mckp) -> Result<DpSolution> {
    solve_with(p, &DpSettings::default())
}

/// Solves the problem exactly. Errors when it is infeasible or has more than 65,535 options in
/// a layer or more than 2³² states in a list.
pub fn solve_with(p: &Mckp, settings: &DpSettings) -> Result<DpSolution> {
    p.check("cost")?;
    if let Some(l) = p.costs.iter().position(|c| c.len() > u16::MAX as usize) {
        return Err(SolverError::NotApplicable(format!(
            "layer #{l} has {} options; the DP handles at most {}",
            p.costs[l].len(),
            u16::MAX
        )));
    }
    let lag = lagrange(p);
    let mut stats = DpStats {
        options_total: p.costs.iter().map(Vec::len).sum(),
        ..DpStats::default()
    };
    let found = {
        let prep = Prep::new(p, &lag, true);
        stats.options_kept = prep.kept.iter().map(Vec::len).sum();
        solve_range(p, &prep, 0, p.layers(), p.budget, settings, &mut stats)?
    };
    let choice = match found {
        Some(c) if p.value_of(&c) <= lag.value => c,
        _ => {
            stats.unpruned_rerun = true;
            let prep = Prep::new(p, &lag, false);
            solve_range(p, &prep, 0, p.layers(), p.budget, settings, &mut stats)?.ok_or_else(|| {
                SolverError::NotApplicable("allocation DP found no feasible state (internal error)".into())
            })?
        }
    };
    Ok(DpSolution {
        value: p.value_of(&choice),
        cost: p.cost_of(&choice),
        choice,
        lagrange: lag,
        stats,
    })
}

/// Per-layer data shared by every pass: the kept options (by increasing cost), m_l, λ and the
/// reduced-cost limit.
struct Prep {
    kept: Vec<Vec<usize>>,
    m: Vec<f64>,
    min_cost: Vec<u64>,
    lambda: f64,
    limit: f64,
}

impl Prep {
    fn new(p: &Mckp, lag: &Lagrange, prune: bool) -> Self {
        let lambda = lag.lambda;
        let gap = (lag.value - lag.lower_bound).max(0.0);
        let slack = 1e-9 * (1.0 + lag.value.abs() + lambda * p.budget as f64);
        let limit = if prune { gap + slack } else { f64::INFINITY };
        let mut m = Vec::with_capacity(p.layers());
        let mut kept = Vec::with_capacity(p.layers());
        let mut min_cost = Vec::with_capacity(p.layers());
        for (c, v) in p.costs.iter().zip(&p.values) {
            let ml = c
                .iter()
                .zip(v)
                .map(|(&c, &v)| v + lambda * c as f64)
                .fold(f64::INFINITY, f64::min);
            let opts: Vec<usize> = pareto(c, v)
                .into_iter()
                .filter(|&k| v[k] + lambda * c[k] as f64 - ml <= limit)
                .collect();
            min_cost.push(opts.iter().map(|&k| c[k]).min().unwrap_or(u64::MAX / 4));
            m.push(ml);
            kept.push(opts);
        }
        Self {
            kept,
            m,
            min_cost,
            lambda,
            limit,
        }
    }
}

/// The end of a pass: the final Pareto list, and the backtracking arrays when kept.
struct PassOut {
    costs: Vec<u64>,
    values: Vec<f64>,
    parents: Vec<Vec<u32>>,
    options: Vec<Vec<u16>>,
}

/// One pass over `layers` (in the given order) from the empty allocation, keeping states whose
/// cost leaves room for `reserve` (the cheapest total of the layers outside the pass that share
/// the budget) plus the pass's remaining layers. With `back`, keeps backtracking arrays and
/// gives up (returns `Ok(None)`) past `cap` bytes of them.
#[allow(clippy::too_many_arguments)]
fn pass(
    p: &Mckp,
    prep: &Prep,
    layers: &[usize],
    budget: u64,
    reserve: u64,
    back: bool,
    cap: usize,
    stats: &mut DpStats,
) -> Result<Option<PassOut>> {
    stats.passes += 1;
    let n = layers.len();
    let mut rest = vec![0u64; n + 1];
    for i in (0..n).rev() {
        rest[i] = rest[i + 1].saturating_add(prep.min_cost[layers[i]]);
    }
    let lambda = prep.lambda;
    let mut cur_cost: Vec<u64> = vec![0];
    let mut cur_value: Vec<f64> = vec![0.0];
    let mut parents: Vec<Vec<u32>> = Vec::new();
    let mut options: Vec<Vec<u16>> = Vec::new();
    let mut stored = 0usize;
    let mut acc: Vec<Cand> = Vec::new();
    let mut out: Vec<Cand> = Vec::new();
    let mut base = 0.0;
    for (i, &l) in layers.iter().enumerate() {
        let Some(cap_cost) = budget.checked_sub(reserve.saturating_add(rest[i + 1])) else {
            return Ok(Some(PassOut {
                costs: vec![],
                values: vec![],
                parents,
                options,
            }));
        };
        base += prep.m[l];
        acc.clear();
        for &k in &prep.kept[l] {
            let (ck, vk) = (p.costs[l][k], p.values[l][k]);
            out.clear();
            let mut a = 0;
            let push = |out: &mut Vec<Cand>, c: Cand| match out.last_mut() {
                Some(last) if c.value >= last.value => {}
                Some(last) if last.cost == c.cost => *last = c,
                _ => out.push(c),
            };
            for (j, (&c0, &v0)) in cur_cost.iter().zip(&cur_value).enumerate() {
                let cost = c0 + ck;
                if cost > cap_cost {
                    break;
                }
                let value = v0 + vk;
                if value + lambda * cost as f64 - base > prep.limit {
                    continue;
                }
                while a < acc.len() && acc[a].cost <= cost {
                    push(&mut out, acc[a]);
                    a += 1;
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
            for &c in &acc[a..] {
                push(&mut out, c);
            }
            std::mem::swap(&mut acc, &mut out);
        }
        if acc.len() > u32::MAX as usize {
            return Err(SolverError::NotApplicable(
                "allocation DP list exceeds 2³² states".into(),
            ));
        }
        stats.states_peak = stats.states_peak.max(acc.len());
        stats.working_bytes = stats.working_bytes.max(
            (acc.capacity() + out.capacity()) * std::mem::size_of::<Cand>()
                + cur_cost.capacity() * 8
                + cur_value.capacity() * 8,
        );
        if back {
            stored += acc.len();
            if stored * 6 > cap {
                return Ok(None);
            }
            parents.push(acc.iter().map(|c| c.parent).collect());
            options.push(acc.iter().map(|c| c.option).collect());
        }
        cur_cost.clear();
        cur_value.clear();
        cur_cost.extend(acc.iter().map(|c| c.cost));
        cur_value.extend(acc.iter().map(|c| c.value));
        if cur_cost.is_empty() {
            break;
        }
    }
    if back {
        stats.states_stored = stats.states_stored.max(stored);
        stats.backtrack_bytes = stats.backtrack_bytes.max(stored * 6);
    }
    Ok(Some(PassOut {
        costs: cur_cost,
        values: cur_value,
        parents,
        options,
    }))
}

/// The best allocation of layers `a..b` with cost ≤ `budget` (among states the pruning keeps),
/// or `None` when none survives.
fn solve_range(
    p: &Mckp,
    prep: &Prep,
    a: usize,
    b: usize,
    budget: u64,
    settings: &DpSettings,
    stats: &mut DpStats,
) -> Result<Option<Vec<usize>>> {
    let layers: Vec<usize> = (a..b).collect();
    // Two layers or fewer always backtrack directly (their lists are what splitting would hold).
    let cap = if b - a <= 2 {
        usize::MAX
    } else {
        settings.backtrack_cap_bytes
    };
    if let Some(out) = pass(p, prep, &layers, budget, 0, true, cap, stats)? {
        if out.costs.is_empty() {
            return Ok(None);
        }
        // Values strictly decrease along a Pareto list: the last state is the best.
        let mut idx = out.costs.len() - 1;
        let mut choice = vec![0usize; layers.len()];
        for i in (0..layers.len()).rev() {
            choice[i] = out.options[i][idx] as usize;
            idx = out.parents[i][idx] as usize;
        }
        return Ok(Some(choice));
    }
    // Too many states to keep: split the layers and the budget.
    stats.divide_and_conquer = true;
    let mid = a + (b - a) / 2;
    let first: Vec<usize> = (a..mid).collect();
    let second: Vec<usize> = (mid..b).rev().collect();
    let reserve_first: u64 = second.iter().map(|&l| prep.min_cost[l]).sum();
    let reserve_second: u64 = first.iter().map(|&l| prep.min_cost[l]).sum();
    let (Some(f), Some(g)) = (
        pass(p, prep, &first, budget, reserve_first, false, 0, stats)?,
        pass(p, prep, &second, budget, reserve_second, false, 0, stats)?,
    ) else {
        return Ok(None);
    };
    // Best pair with f.cost + g.cost ≤ budget: g's values fall as its cost rises, so for each f
    // the best g is the dearest that fits; as f's cost rises that index only moves down.
    let mut best: Option<(f64, usize, usize)> = None;
    let mut j = g.costs.len();
    for i in 0..f.costs.len() {
        let room = budget - f.costs[i].min(budget);
        while j > 0 && g.costs[j - 1] > room {
            j -= 1;
        }
        if j == 0 {
            break;
        }
        let v = f.values[i] + g.values[j - 1];
        if best.is_none_or(|(bv, _, _)| v < bv) {
            best = Some((v, i, j - 1));
        }
    }
    let Some((_, i, jj)) = best else {
        return Ok(None);
    };
    let (bf, bg) = (f.costs[i], g.costs[jj]);
    drop((f, g));
    let (Some(left), Some(right)) = (
        solve_range(p, prep, a, mid, bf, settings, stats)?,
        solve_range(p, prep, mid, b, bg, settings, stats)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(left.into_iter().chain(right).collect()))
}
