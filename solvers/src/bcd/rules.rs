//! Selection rules: which block the next update moves.
//!
//! With fixed blocks every rule scores each block (the greedy ones from the maintained
//! gradient; GSQ solves with each block's factored Hessian bound). With variable blocks
//! GS, GSL, GSD and the proximal rules separate by coordinate, so the block is the top-τ of a
//! per-coordinate score; GSQ is a sparsity-constrained quadratic, approximated by iterative
//! hard thresholding on the best candidates; greedy trees keep the best coordinates that leave
//! the block a forest.

use super::partition::greedy_tree;
use super::solver::{factor, BcdState};
use super::{Bcd, Partition, Rule};
use faer::linalg::solvers::Solve;
use faer::Mat;
use rand_chacha::rand_core::Rng;
use solvent_problems::bcd::{CoordinateProblem, Penalty};

fn unif(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Index `k` with probability proportional to the increments of the cumulative sums `cum`.
fn sample_cum(cum: &[f64], rng: &mut impl Rng) -> usize {
    let t = unif(rng) * cum.last().copied().unwrap_or(0.0);
    cum.partition_point(|&c| c <= t).min(cum.len() - 1)
}

/// The proximal step of coordinate `i` with constant `l`: `prox(x − g/l, 1/l) − x`.
#[inline]
fn prox_step(pen: Penalty, x: f64, g: f64, l: f64) -> f64 {
    pen.prox(x - g / l, 1.0 / l) - x
}

/// The per-coordinate score of a separable rule, with constant `l` (`L_i`, or `L_b` for a
/// fixed block's proximal rules).
#[inline]
pub(crate) fn coord_score(rule: Rule, pen: Penalty, x: f64, g: f64, l: f64) -> f64 {
    match rule {
        Rule::Gs => g * g,
        Rule::Gsl | Rule::Gsd | Rule::Gsq => g * g / l,
        Rule::GsS => pen.min_norm_subgradient(x, g).powi(2),
        Rule::GsR => prox_step(pen, x, g, l).powi(2),
        Rule::GsQ => {
            let d = prox_step(pen, x, g, l);
            -(g * d + 0.5 * l * d * d + pen.delta(x, d))
        }
        Rule::Cyclic | Rule::Random | Rule::Lipschitz => 0.0,
    }
}

/// The block score of a fixed block under a greedy rule.
pub(crate) fn block_score<P: CoordinateProblem + ?Sized>(
    bcd: &Bcd,
    p: &P,
    s: &mut BcdState,
    k: usize,
    g: &[f64],
) -> f64 {
    let b = &s.blocks[k];
    let lip = p.lipschitz();
    match bcd.rule {
        Rule::Gs => b.iter().map(|&i| g[i] * g[i]).sum(),
        Rule::Gsl => b.iter().map(|&i| g[i] * g[i]).sum::<f64>() / s.block_lip[k],
        Rule::Gsd => b.iter().map(|&i| g[i] * g[i] / (b.len() as f64 * lip[i])).sum(),
        Rule::Gsq => {
            if s.block_factor[k].is_none() {
                s.block_factor[k] = factor(&p.block_hessian_bound(b));
            }
            let gb = Mat::from_fn(b.len(), 1, |a, _| g[b[a]]);
            match &s.block_factor[k] {
                Some(f) => {
                    let y = f.solve(&gb);
                    (0..b.len()).map(|a| gb[(a, 0)] * y[(a, 0)]).sum()
                }
                None => 0.0,
            }
        }
        Rule::GsS | Rule::GsR | Rule::GsQ => {
            let l = s.block_lip[k];
            b.iter()
                .map(|&i| coord_score(bcd.rule, p.penalty_at(i), s.x[i], g[i], l))
                .sum()
        }
        Rule::Cyclic | Rule::Random | Rule::Lipschitz => 0.0,
    }
}

/// Working-set size, in blocks, kept between full scans when `rescan > 1`.
const WORKING_SET: usize = 10;

/// The `tau` indices with the largest `scores` (ties by index), best first.
fn top(scores: &[f64], tau: usize) -> Vec<usize> {
    let cmp = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    let mut idx: Vec<usize> = if tau < scores.len() {
        // the τ-th largest value by selection on a copy of the values (contiguous, cheap),
        // then one pass for the indices above it and, in index order, the ties
        let mut v = scores.to_vec();
        let k = scores.len() - tau;
        let (_, &mut kth, _) = v.select_nth_unstable_by(k, f64::total_cmp);
        let mut above: Vec<usize> = (0..scores.len())
            .filter(|&i| scores[i].total_cmp(&kth).is_gt())
            .collect();
        for i in 0..scores.len() {
            if above.len() >= tau {
                break;
            }
            if scores[i].total_cmp(&kth).is_eq() {
                above.push(i);
            }
        }
        above
    } else {
        (0..scores.len()).collect()
    };
    idx.sort_by(cmp);
    idx
}

/// Variable-block GSQ, `max_{|S|≤τ} g_Sᵀ H_SS⁻¹ g_S`, approximated by hard-thresholding
/// pursuit on the `4τ` best GSL candidates: start from the GSL top-τ, then repeat a gradient
/// step `u = d − μ(g + H d)` on the model, keep the `τ` largest `H_ii u_i²` (the decrease each
/// step buys), and re-solve exactly on that support — accepting a new support only when its
/// value grows. Never worse than GSL; exact when `H` is diagonal.
fn gsq_htp<P: CoordinateProblem + ?Sized>(p: &P, g: &[f64], scores: &[f64], tau: usize) -> Vec<usize> {
    let cand = top(scores, (4 * tau).min(scores.len()));
    let m = cand.len();
    let tau = tau.min(m);
    let h = p.block_hessian_bound(&cand);
    let gc: Vec<f64> = cand.iter().map(|&i| g[i]).collect();
    // value and minimiser of the model on a support (local indices)
    let solve_on = |sup: &[usize]| -> Option<(f64, Vec<f64>)> {
        let hs = Mat::from_fn(sup.len(), sup.len(), |a, b| h[(sup[a], sup[b])]);
        let gs = Mat::from_fn(sup.len(), 1, |a, _| gc[sup[a]]);
        let d = factor(&hs)?.solve(&gs);
        let val: f64 = (0..sup.len()).map(|a| gs[(a, 0)] * d[(a, 0)]).sum();
        let mut full = vec![0.0; m];
        for (a, &k) in sup.iter().enumerate() {
            full[k] = -d[(a, 0)];
        }
        Some((val, full))
    };
    // λ_max by power iteration, for the step μ
    let mut v = vec![1.0 / (m as f64).sqrt(); m];
    let mut lmax: f64 = 0.0;
    for _ in 0..30 {
        let w: Vec<f64> = (0..m).map(|a| (0..m).map(|b| h[(a, b)] * v[b]).sum()).collect();
        let nw = w.iter().map(|t| t * t).sum::<f64>().sqrt();
        if nw == 0.0 {
            break;
        }
        lmax = nw;
        v = w.iter().map(|t| t / nw).collect();
    }
    let mu = 1.0 / (1.05 * lmax).max(1e-300);
    let mut sup: Vec<usize> = (0..tau).collect();
    let Some((mut best, mut d)) = solve_on(&sup) else {
        return cand[..tau].to_vec();
    };
    for _ in 0..5 {
        let hd: Vec<f64> = (0..m).map(|a| (0..m).map(|b| h[(a, b)] * d[b]).sum()).collect();
        let u: Vec<f64> = (0..m).map(|a| d[a] - mu * (gc[a] + hd[a])).collect();
        let score: Vec<f64> = (0..m).map(|a| u[a] * u[a] * h[(a, a)]).collect();
        let mut next = top(&score, tau);
        next.sort_unstable();
        let mut cur = sup.clone();
        cur.sort_unstable();
        if next == cur {
            break;
        }
        match solve_on(&next) {
            Some((val, dn)) if val > best * (1.0 + 1e-12) => {
                best = val;
                d = dn;
                sup = next;
            }
            _ => break,
        }
    }
    sup.iter().map(|&a| cand[a]).collect()
}

/// The next block.
pub(crate) fn select<P: CoordinateProblem + ?Sized>(bcd: &Bcd, p: &P, s: &mut BcdState) -> Vec<usize> {
    let n = p.dim();
    let tau = bcd.block_size.min(n);
    if !s.blocks.is_empty() {
        let nb = s.blocks.len();
        let k = match bcd.rule {
            Rule::Cyclic => {
                let k = s.cursor % nb;
                s.cursor += 1;
                k
            }
            Rule::Random => (unif(&mut s.rng) * nb as f64) as usize % nb,
            Rule::Lipschitz => sample_cum(&s.lip_cum, &mut s.rng),
            _ => {
                let g = s.grad.take().expect("greedy rules maintain the gradient");
                let mut best = (f64::NEG_INFINITY, 0);
                for k in 0..nb {
                    let sc = block_score(bcd, p, s, k, &g);
                    if sc > best.0 {
                        best = (sc, k);
                    }
                }
                s.grad = Some(g);
                best.1
            }
        };
        s.current = Some(k);
        return s.blocks[k].clone();
    }
    // variable blocks
    s.current = None;
    match bcd.rule {
        Rule::Cyclic => {
            let a = s.cursor % n;
            s.cursor = (a + tau) % n;
            (a..a + tau).map(|i| i % n).collect()
        }
        Rule::Random | Rule::Lipschitz => {
            // τ distinct coordinates (uniform, or ∝ L_i), by rejection of repeats
            let mut chosen: Vec<usize> = Vec::with_capacity(tau);
            let mut tries = 0;
            while chosen.len() < tau && tries < 50 * tau + 100 {
                tries += 1;
                let i = if bcd.rule == Rule::Random {
                    (unif(&mut s.rng) * n as f64) as usize % n
                } else {
                    sample_cum(&s.lip_cum, &mut s.rng)
                };
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            chosen
        }
        rule => {
            let lip = p.lipschitz();
            let lazy = bcd.lazy_gradient();
            let partial = bcd.rescan > 1
                && s.since_scan + 1 < bcd.rescan
                && !s.candidates.is_empty()
                && bcd.partition != Partition::GreedyTree
                && rule != Rule::Gsq;
            if partial {
                // between full scans: the rule over the working set of the last scan, with
                // gradients from the maintained vector or, lazily, from the columns
                s.since_scan += 1;
                let cand = std::mem::take(&mut s.candidates);
                let sc: Vec<f64> = cand
                    .iter()
                    .map(|&i| {
                        let gi = match &s.grad {
                            Some(g) if !lazy => g[i],
                            _ => p.coord_gradient(&s.x, &s.cache, i),
                        };
                        coord_score(rule, p.penalty_at(i), s.x[i], gi, lip[i])
                    })
                    .collect();
                let b = top(&sc, tau).into_iter().map(|a| cand[a]).collect();
                s.candidates = cand;
                return b;
            }
            s.since_scan = 0;
            let g = if lazy {
                let mut g = std::mem::take(&mut s.scan_grad);
                if !s.scan_fresh || g.len() != n {
                    g.resize(n, 0.0);
                    p.full_gradient(&s.x, &s.cache, &mut g);
                }
                g
            } else {
                s.grad.take().expect("greedy rules maintain the gradient")
            };
            let mut scores = std::mem::take(&mut s.scores);
            scores.clear();
            scores.extend((0..n).map(|i| coord_score(rule, p.penalty_at(i), s.x[i], g[i], lip[i])));
            let block = if bcd.partition == Partition::GreedyTree {
                let mut cand: Vec<usize> = (0..n).filter(|&i| scores[i] > 0.0).collect();
                cand.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
                let q = p.quadratic_matrix().expect("validated");
                let scratch = s.greedy.as_mut().expect("greedy-tree scratch");
                greedy_tree(q, &cand, tau, scratch)
            } else if rule == Rule::Gsq && tau > 1 {
                gsq_htp(p, &g, &scores, tau)
            } else {
                if bcd.rescan > 1 {
                    s.candidates = top(&scores, (WORKING_SET * tau).min(n));
                }
                top(&scores, tau)
            };
            s.scores = scores;
            if lazy {
                s.scan_grad = g;
            } else {
                s.grad = Some(g);
            }
            block
        }
    }
}
