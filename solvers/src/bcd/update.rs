//! Block updates: gradient, matrix (constant Hessian bound), Newton (Hessian at the iterate,
//! backtracking line search) and exact, each in proximal form for a non-smooth penalty; and
//! the Newton step on the free coordinates of the active-set phase.

use super::message_passing::Forest;
use super::solver::{block_lipschitz, factor, BcdState};
use super::{Bcd, Update};
use crate::Result;
use faer::linalg::solvers::Solve;
use faer::Mat;
use solvent_problems::bcd::{CoordinateProblem, Penalty};

/// Largest free set whose Hessian the Newton phase forms densely (Cholesky); above, CG.
pub(crate) const NEWTON_DENSE_MAX: usize = 500;

/// Sweeps of the dense proximal coordinate descent that minimises a block's quadratic model:
/// many for exact updates; few for matrix and Newton steps, where every sweep already decreases
/// the model (and, with the bound, F) and an accurate model minimiser buys little.
const EXACT_SWEEPS: usize = 500;
const STEP_SWEEPS: usize = 10;

/// `argmin_d gᵀd + ½dᵀHd + Σ pen(x_a + d_a)`: a Cholesky solve without a penalty, coordinate
/// descent on the dense model with one.
fn model_minimiser(
    sweeps: usize,
    h: &Mat<f64>,
    g: &[f64],
    xb: &[f64],
    pens: &[Penalty],
    chol: Option<&faer::linalg::solvers::Llt<f64>>,
) -> Vec<f64> {
    let m = g.len();
    if pens.iter().all(|&q| q == Penalty::None) {
        let rhs = Mat::from_fn(m, 1, |a, _| -g[a]);
        let owned;
        let f = match chol {
            Some(f) => Some(f),
            None => {
                owned = factor(h);
                owned.as_ref()
            }
        };
        if let Some(f) = f {
            let d = f.solve(&rhs);
            let d: Vec<f64> = (0..m).map(|a| d[(a, 0)]).collect();
            if d.iter().all(|v| v.is_finite()) {
                return d;
            }
        }
    }
    let mut d = vec![0.0; m];
    let mut hd = vec![0.0; m];
    for _ in 0..sweeps {
        let mut change: f64 = 0.0;
        let mut scale: f64 = 0.0;
        for a in 0..m {
            let haa = h[(a, a)];
            if !(haa > 0.0) {
                continue;
            }
            let target = pens[a].prox(xb[a] + d[a] - (g[a] + hd[a]) / haa, 1.0 / haa) - xb[a];
            let delta = target - d[a];
            if delta != 0.0 {
                for b in 0..m {
                    hd[b] += h[(b, a)] * delta;
                }
                d[a] = target;
                change = change.max(delta.abs());
            }
            scale = scale.max((xb[a] + d[a]).abs());
        }
        if change <= 1e-14 * (1.0 + scale) {
            break;
        }
    }
    d
}

/// Conjugate gradients ([`solvent_linalg::cg::pcg`]) on `H_bb d = rhs` with matrix-free
/// block Hessian products, preconditioned by the coordinate Lipschitz constants (the
/// Hessian's diagonal for least squares, a bound otherwise): design columns of very
/// different scales are the common case. Stops when the residual fell by `rtol`, after
/// `max_iter` iterations, or at a direction of non-positive curvature.
fn block_cg<P: CoordinateProblem + ?Sized>(
    p: &P,
    x: &[f64],
    cache: &solvent_problems::bcd::Cache,
    block: &[usize],
    rhs: &[f64],
    rtol: f64,
    max_iter: usize,
) -> Vec<f64> {
    let m = block.len();
    let inv: Vec<f64> = block.iter().map(|&k| 1.0 / p.lipschitz()[k]).collect();
    let mut d = vec![0.0; m];
    let mut r = rhs.to_vec();
    let mut work = vec![0.0; 3 * m];
    let stop = rtol * rtol * solvent_linalg::vector::dot(&r, &r);
    let apply = |q: &[f64], hq: &mut [f64]| -> std::result::Result<(), std::convert::Infallible> {
        p.block_hessian_vec(x, cache, block, q, hq);
        Ok(())
    };
    let mut jacobi = |r: &[f64], z: &mut [f64]| {
        for ((z, r), i) in z.iter_mut().zip(r).zip(&inv) {
            *z = r * i;
        }
    };
    match solvent_linalg::cg::pcg(
        &mut d,
        &mut r,
        &mut work,
        stop,
        max_iter,
        apply,
        Some(&mut jacobi),
    ) {
        Ok(_) => d,
        Err(never) => match never {},
    }
}

fn penalty_change(pens: &[Penalty], xb: &[f64], d: &[f64]) -> f64 {
    xb.iter()
        .zip(d)
        .zip(pens)
        .map(|((&x, &dx), q)| q.delta(x, dx))
        .sum()
}

fn apply<P: CoordinateProblem + ?Sized>(p: &P, s: &mut BcdState, block: &[usize], d: &[f64]) {
    s.scan_fresh = false;
    let changes: Vec<(usize, f64)> = block
        .iter()
        .zip(d)
        .filter(|(_, &v)| v != 0.0)
        .map(|(&i, &v)| (i, v))
        .collect();
    p.apply(&mut s.x, &mut s.cache, &changes, s.grad.as_deref_mut());
}

/// Exact minimisation over a block of a quadratic with a penalty, too large for a dense model:
/// sweeps of exact single-coordinate updates over the block (each one costs its column).
fn exact_sweeps<P: CoordinateProblem + ?Sized>(p: &P, s: &mut BcdState, block: &[usize]) {
    s.scan_fresh = false;
    let lip = p.lipschitz().to_vec();
    for _ in 0..200 {
        let mut change: f64 = 0.0;
        let mut scale: f64 = 0.0;
        for &i in block {
            let g = p.coord_gradient(&s.x, &s.cache, i);
            let d = p.penalty_at(i).prox(s.x[i] - g / lip[i], 1.0 / lip[i]) - s.x[i];
            if d != 0.0 {
                p.apply(&mut s.x, &mut s.cache, &[(i, d)], s.grad.as_deref_mut());
                change = change.max(d.abs());
            }
            scale = scale.max(s.x[i].abs());
        }
        if change <= 1e-14 * (1.0 + scale) {
            break;
        }
    }
}

/// Moves one block.
pub(crate) fn update_block<P: CoordinateProblem + ?Sized>(
    bcd: &Bcd,
    p: &P,
    s: &mut BcdState,
    block: &[usize],
) -> Result<()> {
    let m = block.len();
    let pens: Vec<Penalty> = block.iter().map(|&i| p.penalty_at(i)).collect();
    let smooth = pens.iter().all(|&q| q == Penalty::None);
    let g: Vec<f64> = match &s.grad {
        Some(g) => block.iter().map(|&i| g[i]).collect(),
        None => block
            .iter()
            .map(|&i| p.coord_gradient(&s.x, &s.cache, i))
            .collect(),
    };
    let xb: Vec<f64> = block.iter().map(|&i| s.x[i]).collect();
    let fixed = s.current;
    let d = match bcd.update {
        Update::Gradient => {
            let l = match fixed {
                Some(k) if s.block_lip[k] > 0.0 => s.block_lip[k],
                _ => block_lipschitz(p, block),
            };
            (0..m)
                .map(|a| pens[a].prox(xb[a] - g[a] / l, 1.0 / l) - xb[a])
                .collect()
        }
        Update::Matrix => match fixed {
            Some(k) => {
                if s.block_factor[k].is_none() && smooth {
                    s.block_factor[k] = factor(&p.block_hessian_bound(block));
                }
                let h = if smooth && s.block_factor[k].is_some() {
                    Mat::zeros(0, 0)
                } else {
                    p.block_hessian_bound(block)
                };
                model_minimiser(STEP_SWEEPS, &h, &g, &xb, &pens, s.block_factor[k].as_ref())
            }
            None => model_minimiser(STEP_SWEEPS, &p.block_hessian_bound(block), &g, &xb, &pens, None),
        },
        Update::Newton => {
            let h = p.block_hessian(&s.x, &s.cache, block);
            let d = model_minimiser(STEP_SWEEPS, &h, &g, &xb, &pens, None);
            let decrease: f64 =
                g.iter().zip(&d).map(|(a, b)| a * b).sum::<f64>() + penalty_change(&pens, &xb, &d);
            // below the round-off of F the line search cannot see a decrease: there the model is
            // accurate (Newton's quadratic region) and the full step is taken
            let noise = 1e-13 * (1.0 + p.smooth_value(&s.x, &s.cache).abs());
            if p.is_quadratic() || !(decrease < 0.0) || -decrease <= noise {
                d
            } else {
                let mut t = 1.0;
                let mut accepted = None;
                for _ in 0..40 {
                    let dt: Vec<f64> = d.iter().map(|v| t * v).collect();
                    let change = p.block_delta(&s.x, &s.cache, block, &dt) + penalty_change(&pens, &xb, &dt);
                    if change <= 1e-4 * t * decrease {
                        accepted = Some(dt);
                        break;
                    }
                    t *= 0.5;
                }
                // no sufficient decrease (round-off near the optimum, or a poor model): the
                // matrix step with the constant bound decreases F without a line search
                accepted.unwrap_or_else(|| {
                    model_minimiser(STEP_SWEEPS, &p.block_hessian_bound(block), &g, &xb, &pens, None)
                })
            }
        }
        Update::Exact => {
            let rhs: Vec<f64> = g.iter().map(|v| -v).collect();
            let mut solved = None;
            if smooth {
                // fixed blocks keep their forest (Q is constant): each later visit only solves
                let built;
                let forest = match (p.quadratic_matrix(), fixed) {
                    (None, _) => None,
                    (Some(q), Some(k)) => s.block_forest[k]
                        .get_or_insert_with(|| Forest::build(q, block, &mut s.forest))
                        .as_ref(),
                    (Some(q), None) => {
                        built = Forest::build(q, block, &mut s.forest);
                        built.as_ref()
                    }
                };
                if let Some(f) = forest {
                    let mut r = rhs.clone();
                    if f.solve_with(&mut r, &mut s.forest) {
                        solved = Some(r);
                    }
                }
            }
            // otherwise: the dense block (Cholesky, or CD with a penalty) while it is small,
            // CG beyond without a penalty, sweeps of exact coordinate updates beyond with one
            let dense_max = if smooth { 2000 } else { 500 };
            match solved {
                Some(d) => d,
                None if m <= dense_max => {
                    let h = p.block_hessian(&s.x, &s.cache, block);
                    model_minimiser(EXACT_SWEEPS, &h, &g, &xb, &pens, None)
                }
                None if smooth => block_cg(p, &s.x, &s.cache, block, &rhs, 1e-13, 10 * m),
                None => {
                    exact_sweeps(p, s, block);
                    return Ok(());
                }
            }
        }
    };
    apply(p, s, block, &d);
    Ok(())
}

/// One Newton step on the free coordinates with the signs (or the bound) of the active set
/// fixed: CG on `H_FF d = −(∇_F f + λ sign x_F)`, then a projected backtracking line search
/// (a coordinate that would cross zero stops at zero). False when no decrease was found.
pub(crate) fn newton_free_step<P: CoordinateProblem + ?Sized>(p: &P, s: &mut BcdState) -> bool {
    s.scan_fresh = false;
    match newton_on_free(p, &mut s.x, &mut s.cache, s.grad.as_deref_mut(), 2000) {
        Some(free) => {
            s.coordinate_updates += free.len() as u64;
            s.block = free;
            true
        }
        None => false,
    }
}

/// [`newton_free_step`] on an iterate and its cache (and a maintained gradient, if any):
/// the free coordinates moved, or `None` when no decrease was found.
pub(crate) fn newton_on_free<P: CoordinateProblem + ?Sized>(
    p: &P,
    x: &mut [f64],
    cache: &mut solvent_problems::bcd::Cache,
    mut grad: Option<&mut [f64]>,
    max_cg: usize,
) -> Option<Vec<usize>> {
    let free: Vec<usize> = (0..x.len()).filter(|&i| !p.penalty_at(i).at_kink(x[i])).collect();
    let pens: Vec<Penalty> = free.iter().map(|&i| p.penalty_at(i)).collect();
    if free.is_empty() {
        return None;
    }
    let g_free: Vec<f64> = match grad.as_deref() {
        Some(g) => free.iter().map(|&i| g[i]).collect(),
        None => free.iter().map(|&i| p.coord_gradient(x, cache, i)).collect(),
    };
    let slope_g: Vec<f64> = free
        .iter()
        .zip(&g_free)
        .zip(&pens)
        .map(|((&i, &gi), q)| match q {
            Penalty::L1(l) => gi + l * x[i].signum(),
            // free coordinates are positive: the penalty's slope is λ
            Penalty::NonNegativeL1(l) => gi + l,
            _ => gi,
        })
        .collect();
    let rhs: Vec<f64> = slope_g.iter().map(|v| -v).collect();
    let m = free.len();
    // the direction: Cholesky on the dense free-set Hessian when it is small enough to form,
    // CG with Hessian products otherwise
    let d = if m <= NEWTON_DENSE_MAX {
        let h = p.block_hessian(x, cache, &free);
        let g: Vec<f64> = slope_g.clone();
        let xb: Vec<f64> = vec![0.0; m];
        model_minimiser(EXACT_SWEEPS, &h, &g, &xb, &vec![Penalty::None; m], None)
    } else {
        block_cg(p, x, cache, &free, &rhs, 1e-12, (2 * m + 20).min(max_cg))
    };
    let noise = 1e-13 * (1.0 + p.smooth_value(x, cache).abs());
    let xb: Vec<f64> = free.iter().map(|&i| x[i]).collect();
    let mut t = 1.0;
    for _ in 0..40 {
        let dt: Vec<f64> = (0..m)
            .map(|a| {
                let v = t * d[a];
                let (x, y) = (xb[a], xb[a] + v);
                let crosses = match pens[a] {
                    Penalty::NonNegative | Penalty::NonNegativeL1(_) => y < 0.0,
                    Penalty::L1(_) => (x > 0.0 && y < 0.0) || (x < 0.0 && y > 0.0),
                    Penalty::None => false,
                };
                if crosses {
                    -x
                } else {
                    v
                }
            })
            .collect();
        let lin: f64 = slope_g.iter().zip(&dt).map(|(a, b)| a * b).sum();
        if !(lin < 0.0) {
            return None;
        }
        let change = p.block_delta(x, cache, &free, &dt) + penalty_change(&pens, &xb, &dt);
        // below F's round-off the line search is blind: the model is exact there (quadratics)
        // or accurate (Newton's quadratic region), so the step is taken
        if change <= 1e-4 * lin || (t == 1.0 && -lin <= noise) {
            let changes: Vec<(usize, f64)> = free
                .iter()
                .zip(&dt)
                .filter(|(_, &v)| v != 0.0)
                .map(|(&i, &v)| (i, v))
                .collect();
            p.apply(x, cache, &changes, grad.as_deref_mut());
            return Some(free);
        }
        t *= 0.5;
    }
    None
}
