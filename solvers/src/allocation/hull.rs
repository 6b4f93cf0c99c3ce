//! The convex-hull / Lagrangian solve (Everett; Shoham–Gersho): per layer, drop dominated
//! options and those off the lower convex hull of (cost, distortion); then take hull segments in
//! order of decreasing distortion saved per unit cost until the budget runs out. The segment that
//! does not fit is the LP's one fractional layer: the LP value is a lower bound on every
//! allocation, and its slope is the optimal multiplier λ. Stopping before it (and then taking
//! any later segment that still fits) gives a feasible allocation.

use super::instance::Mckp;

/// The Lagrangian (LP) solution.
#[derive(Clone, Debug, PartialEq)]
pub struct Lagrange {
    /// The multiplier of the budget at the LP optimum (0 when the budget does not bind).
    pub lambda: f64,
    /// The LP value: no allocation within the budget has a smaller total distortion.
    pub lower_bound: f64,
    /// A feasible allocation (option index per layer) from the greedy.
    pub choice: Vec<usize>,
    /// Its total distortion.
    pub value: f64,
    /// Its total cost.
    pub cost: u64,
    /// The LP's fractional layer and the fraction of its next hull step the LP takes.
    pub fractional: Option<(usize, f64)>,
}

/// Indices of a layer's options that are not dominated, by increasing cost (and so strictly
/// decreasing value). Ties in cost keep the smaller value, then the lower index.
pub fn pareto(costs: &[u64], values: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..costs.len()).collect();
    idx.sort_by(|&a, &b| {
        costs[a]
            .cmp(&costs[b])
            .then(values[a].total_cmp(&values[b]))
            .then(a.cmp(&b))
    });
    let mut out = Vec::with_capacity(idx.len());
    let mut best = f64::INFINITY;
    for k in idx {
        if values[k] < best {
            best = values[k];
            out.push(k);
        }
    }
    out
}

/// The lower convex hull of a layer's Pareto options (indices by increasing cost).
pub fn lower_hull(costs: &[u64], values: &[f64]) -> Vec<usize> {
    let mut hull: Vec<usize> = Vec::new();
    for k in pareto(costs, values) {
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            // Remove b unless the slope a→b is strictly below the slope b→k.
            let lhs = (values[b] - values[a]) * (costs[k] - costs[b]) as f64;
            let rhs = (values[k] - values[b]) * (costs[b] - costs[a]) as f64;
            if lhs >= rhs {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(k);
    }
    hull
}

/// Solves the LP relaxation through the hulls and rounds it down to a feasible allocation.
/// The problem must be feasible ([`Mckp::check`]).
pub fn lagrange(p: &Mckp) -> Lagrange {
    let hulls: Vec<Vec<usize>> = p
        .costs
        .iter()
        .zip(&p.values)
        .map(|(c, v)| lower_hull(c, v))
        .collect();
    // (efficiency, layer, position in the hull of the segment's start)
    let mut segments: Vec<(f64, usize, usize)> = Vec::new();
    for (l, h) in hulls.iter().enumerate() {
        for j in 0..h.len().saturating_sub(1) {
            let (a, b) = (h[j], h[j + 1]);
            let gain = p.values[l][a] - p.values[l][b];
            let dc = (p.costs[l][b] - p.costs[l][a]) as f64;
            segments.push((gain / dc, l, j));
        }
    }
    segments.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut pos = vec![0usize; p.layers()];
    let mut cost: u64 = hulls.iter().enumerate().map(|(l, h)| p.costs[l][h[0]]).sum();
    let step = |l: usize, j: usize| {
        let (a, b) = (hulls[l][j], hulls[l][j + 1]);
        (p.costs[l][b] - p.costs[l][a], p.values[l][a] - p.values[l][b])
    };
    // Before the break every layer's segments come in hull order (efficiencies strictly
    // decrease along a hull), so each segment starts where its layer stands.
    let mut brk = None;
    for (i, &(_, l, j)) in segments.iter().enumerate() {
        let (dc, _) = step(l, j);
        if cost + dc <= p.budget {
            cost += dc;
            pos[l] = j + 1;
        } else {
            brk = Some(i);
            break;
        }
    }
    let at = |pos: &[usize]| -> f64 {
        pos.iter()
            .enumerate()
            .map(|(l, &q)| p.values[l][hulls[l][q]])
            .sum()
    };
    let (lambda, lower_bound, fractional) = match brk {
        None => (0.0, at(&pos), None),
        Some(i) => {
            let (eff, l, j) = segments[i];
            let (dc, gain) = step(l, j);
            let frac = (p.budget - cost) as f64 / dc as f64;
            (eff, at(&pos) - frac * gain, Some((l, frac)))
        }
    };
    // Round down: after the break, take every later segment that still fits and continues its
    // layer's hull.
    if let Some(i) = brk {
        for &(_, l, j) in &segments[i + 1..] {
            let (dc, _) = step(l, j);
            if pos[l] == j && cost + dc <= p.budget {
                cost += dc;
                pos[l] = j + 1;
            }
        }
    }
    let choice: Vec<usize> = pos.iter().enumerate().map(|(l, &q)| hulls[l][q]).collect();
    let value = p.value_of(&choice);
    Lagrange {
        lambda,
        lower_bound: lower_bound.min(value),
        choice,
        value,
        cost,
        fractional,
    }
}

/// The Lagrangian dual at multiplier λ ≥ 0: Σ_l min_k (v_lk + λ c_lk) − λ·budget, a lower bound
/// on every feasible allocation's value for any λ ≥ 0.
pub fn dual(p: &Mckp, lambda: f64) -> f64 {
    let s: f64 = p
        .costs
        .iter()
        .zip(&p.values)
        .map(|(c, v)| {
            c.iter()
                .zip(v)
                .map(|(&c, &v)| v + lambda * c as f64)
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    s - lambda * p.budget as f64
}
