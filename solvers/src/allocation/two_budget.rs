//! Two budgets at once (e.g. parameters and FLOPs): a two-dimensional multiple-choice knapsack.
//! The second budget is relaxed with a multiplier μ ≥ 0 — each value of μ is one exact DP over
//! the first resource with distortions D + μ·c₂ — and μ is found by bisection on the dual
//! L(μ) = DP(μ) − μ·B₂, a lower bound on the two-budget optimum for every μ. The answer is the
//! best allocation met that fits both budgets; the report carries the best bound and the gap.

use super::dp;
use super::instance::Mckp;
use crate::error::{Result, SolverError};

/// The result of a two-budget solve.
#[derive(Clone, Debug, PartialEq)]
pub struct TwoBudget {
    /// Option index per layer.
    pub choice: Vec<usize>,
    /// Total distortion.
    pub value: f64,
    /// Cost in the first resource (the DP's units).
    pub cost1: u64,
    /// Cost in the second resource.
    pub cost2: u64,
    /// The best dual bound max_μ L(μ): no allocation fitting both budgets does better.
    pub lower_bound: f64,
    /// The multiplier of the second budget at the returned allocation.
    pub mu: f64,
    /// Exact DPs solved.
    pub dp_solves: usize,
}

/// Solves min D s.t. cost₁ ≤ `p.budget`, cost₂ ≤ `budget2`; `costs2[l][k]` is the second cost.
pub fn solve(p: &Mckp, costs2: &[Vec<u64>], budget2: u64) -> Result<TwoBudget> {
    if costs2.len() != p.layers() || costs2.iter().zip(&p.costs).any(|(a, b)| a.len() != b.len()) {
        return Err(SolverError::NotApplicable(
            "second costs do not match the layers' options".into(),
        ));
    }
    let c2 = |choice: &[usize]| -> u64 { costs2.iter().zip(choice).map(|(c, &k)| c[k]).sum() };
    let with_mu = |mu: f64| Mckp {
        costs: p.costs.clone(),
        values: p
            .values
            .iter()
            .zip(costs2)
            .map(|(v, c)| v.iter().zip(c).map(|(&v, &c)| v + mu * c as f64).collect())
            .collect(),
        budget: p.budget,
    };
    let mut solves = 1;
    let first = dp::solve(p)?;
    if c2(&first.choice) <= budget2 {
        return Ok(TwoBudget {
            cost2: c2(&first.choice),
            lower_bound: first.value,
            choice: first.choice,
            value: first.value,
            cost1: first.cost,
            mu: 0.0,
            dp_solves: solves,
        });
    }
    // The least second cost reachable within the first budget: if it is over, nothing fits.
    let least = dp::solve(&Mckp {
        costs: p.costs.clone(),
        values: costs2
            .iter()
            .map(|c| c.iter().map(|&c| c as f64).collect())
            .collect(),
        budget: p.budget,
    })?;
    solves += 1;
    let least_c2 = c2(&least.choice);
    if least_c2 > budget2 {
        return Err(SolverError::Infeasible(format!(
            "second budget {budget2} is below the least second cost reachable within the first budget ({least_c2})"
        )));
    }
    let mut best = (p.value_of(&least.choice), least.choice.clone(), f64::INFINITY);
    let mut bound = first.value; // L(0)
                                 // Bracket: μ_lo infeasible, μ_hi feasible.
    let spread_v: f64 = p
        .values
        .iter()
        .map(|v| v.iter().fold(0.0f64, |a, &b| a.max(b)))
        .sum::<f64>()
        .max(1e-300);
    let spread_c: f64 = (least_c2.max(1)) as f64;
    let (mut lo, mut hi) = (0.0f64, spread_v / spread_c);
    let eval = |mu: f64, best: &mut (f64, Vec<usize>, f64), bound: &mut f64| -> Result<bool> {
        let s = dp::solve(&with_mu(mu))?;
        *bound = bound.max(s.value - mu * budget2 as f64);
        let cc = c2(&s.choice);
        if cc <= budget2 {
            let v = p.value_of(&s.choice);
            if v < best.0 {
                *best = (v, s.choice, mu);
            }
            Ok(true)
        } else {
            Ok(false)
        }
    };
    for _ in 0..64 {
        solves += 1;
        if eval(hi, &mut best, &mut bound)? {
            break;
        }
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..40 {
        if best.0 - bound <= 1e-9 * best.0.abs().max(1e-300) || hi - lo <= 1e-12 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        solves += 1;
        if eval(mid, &mut best, &mut bound)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let (value, choice, mu) = best;
    Ok(TwoBudget {
        cost1: p.cost_of(&choice),
        cost2: c2(&choice),
        value,
        choice,
        lower_bound: bound.min(value),
        mu: if mu.is_finite() { mu } else { hi },
        dp_solves: solves,
    })
}
