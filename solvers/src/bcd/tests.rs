//! BCD against independent answers: dense solves, long accurate proximal-gradient runs with
//! KKT checks, brute-force rule choices, and message passing against dense factorizations.
#![allow(clippy::needless_range_loop)]

use super::message_passing::{Forest, ForestScratch};
use super::partition;
use super::solver::block_lipschitz;
use super::*;
use crate::{run, Options, Solver, Status};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solvent_linalg::CsrMatrix;
use solvent_problems::bcd::{
    CoordinateProblem, Glm, Graph, LabelPropagation, Loss, Penalty, SyntheticConfig, SyntheticKind,
};

/// The paper's set at a small size, its columns rescaled to unit norm (the raw set's
/// `10·randn` column scales make reference runs needlessly slow).
pub(super) fn data(
    n: usize,
    p: usize,
    density: f64,
    kind: SyntheticKind,
    seed: u64,
) -> (CsrMatrix, Vec<f64>) {
    let mut c = SyntheticConfig::paper(n, p, kind, seed);
    c.density = Some(density);
    let (a, y, _) = c.generate().unwrap();
    let mut norms = vec![0.0f64; p];
    for i in 0..n {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            norms[j as usize] += v * v;
        }
    }
    let mut trip = Vec::new();
    for i in 0..n {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            trip.push((i, j as usize, v / norms[j as usize].sqrt()));
        }
    }
    let a = CsrMatrix::from_triplets(n, p, &trip).unwrap();
    let y = match kind {
        SyntheticKind::LeastSquares => {
            let w: Vec<f64> = (0..p)
                .map(|j| if j % 4 == 0 { (j as f64).cos() } else { 0.0 })
                .collect();
            let mut y = vec![0.0; n];
            a.mul_vec(&w, &mut y);
            y.iter()
                .enumerate()
                .map(|(i, v)| v + 0.1 * (i as f64 * 0.7).sin())
                .collect()
        }
        SyntheticKind::Logistic => y,
    };
    (a, y)
}

/// Accelerated proximal gradient with the exact global Lipschitz constant: the independent
/// reference for the composite problems.
pub(super) fn fista<P: CoordinateProblem>(p: &P, iters: usize) -> Vec<f64> {
    let n = p.dim();
    let all: Vec<usize> = (0..n).collect();
    let l = block_lipschitz(p, &all);
    let (mut x, mut y) = (vec![0.0; n], vec![0.0; n]);
    let mut t: f64 = 1.0;
    let mut g = vec![0.0; n];
    for _ in 0..iters {
        let cache = p.new_cache(&y);
        p.full_gradient(&y, &cache, &mut g);
        let xn: Vec<f64> = (0..n)
            .map(|i| p.penalty_at(i).prox(y[i] - g[i] / l, 1.0 / l))
            .collect();
        let tn = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        for i in 0..n {
            y[i] = xn[i] + (t - 1.0) / tn * (xn[i] - x[i]);
        }
        x = xn;
        t = tn;
    }
    x
}

pub(super) fn kkt<P: CoordinateProblem>(p: &P, x: &[f64]) -> f64 {
    let cache = p.new_cache(x);
    let mut g = vec![0.0; p.dim()];
    p.full_gradient(x, &cache, &mut g);
    p.kkt_residual(x, &g)
}

pub(super) fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn solve<P: CoordinateProblem>(p: &P, bcd: Bcd, tol: f64, iters: usize) -> (Vec<f64>, crate::Report) {
    let mut bcd = bcd;
    let out = run(p, &mut bcd, &Options::default().tol(tol).max_iters(iters)).unwrap();
    (out.state.x, out.report)
}

#[test]
fn least_squares_matches_dense_normal_equations() {
    let (a, y) = data(60, 25, 0.4, SyntheticKind::LeastSquares, 1);
    let n = a.nrows() as f64;
    let p = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    let d = a.to_dense();
    let ata = d.transpose() * &d;
    let aty = d.transpose() * Mat::from_fn(y.len(), 1, |i, _| y[i]);
    let w = ata.llt(Side::Lower).unwrap().solve(&aty);
    let exact: Vec<f64> = (0..25).map(|i| w[(i, 0)]).collect();
    let scale = exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (rule, upd, part) in [
        (Rule::Cyclic, Update::Gradient, Partition::Order),
        (Rule::Random, Update::Matrix, Partition::Sort),
        (Rule::Lipschitz, Update::Gradient, Partition::Avg),
        (Rule::Gs, Update::Gradient, Partition::Variable),
        (Rule::Gsl, Update::Matrix, Partition::Variable),
        (Rule::Gsd, Update::Newton, Partition::Order),
        (Rule::Gsq, Update::Matrix, Partition::Variable),
        (Rule::Gsq, Update::Exact, Partition::Order),
    ] {
        let bcd = Bcd::new(rule, upd).partition(part).block_size(5);
        let (x, rep) = solve(&p, bcd, 1e-11 / n, 200_000);
        assert!(rep.status.is_converged(), "{rule:?} {upd:?}: {:?}", rep.status);
        assert!(
            max_diff(&x, &exact) < 1e-6 * scale,
            "{rule:?} {upd:?} {part:?}: {}",
            max_diff(&x, &exact)
        );
    }
}

#[test]
fn lasso_matches_fista_and_gap_certifies() {
    let (a, y) = data(80, 40, 0.3, SyntheticKind::LeastSquares, 2);
    let base = Glm::new(a, y, Loss::Squared, 0.0, Penalty::None).unwrap();
    let lam = 0.1 * base.lambda_max();
    let p = base.with_penalty(Penalty::L1(lam)).unwrap();
    let reference = fista(&p, 20_000);
    assert!(
        kkt(&p, &reference) < 1e-7 * lam,
        "reference KKT {}",
        kkt(&p, &reference)
    );
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (rule, upd, part, active) in [
        (Rule::Cyclic, Update::Gradient, Partition::Order, false),
        (Rule::GsS, Update::Gradient, Partition::Variable, false),
        (Rule::GsR, Update::Matrix, Partition::Variable, true),
        (Rule::GsQ, Update::Newton, Partition::Order, true),
        (Rule::Random, Update::Exact, Partition::Order, true),
    ] {
        let bcd = Bcd::new(rule, upd)
            .partition(part)
            .block_size(4)
            .active_set(active);
        let (x, rep) = solve(&p, bcd, 1e-12, 100_000);
        assert!(rep.status.is_converged(), "{rule:?}: {:?}", rep.status);
        assert_eq!(rep.metrics.criterion, crate::Criterion::DualityGap);
        assert!(
            max_diff(&x, &reference) < 1e-4 * scale,
            "{rule:?} {upd:?}: {}",
            max_diff(&x, &reference)
        );
        assert!(kkt(&p, &x) < 1e-4 * lam, "{rule:?} KKT {}", kkt(&p, &x));
        // zeros where the reference has zeros (its support is identified)
        for i in 0..x.len() {
            if reference[i] == 0.0 {
                assert!(x[i].abs() < 1e-8 * scale, "{rule:?}: x[{i}] = {}", x[i]);
            }
        }
    }
}

#[test]
fn active_set_switches_to_newton_and_terminates_on_the_quadratic() {
    let (a, y) = data(200, 100, 0.2, SyntheticKind::LeastSquares, 3);
    let base = Glm::new(a, y, Loss::Squared, 0.0, Penalty::None).unwrap();
    let p = base
        .clone()
        .with_penalty(Penalty::L1(0.2 * base.lambda_max()))
        .unwrap();
    let mut with = Bcd::new(Rule::GsR, Update::Matrix).block_size(10);
    let out = run(&p, &mut with, &Options::default().tol(1e-13).max_iters(100_000)).unwrap();
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
    let since = out.state.newton_since.expect("the active-set phase started");
    assert!(out.state.newton_steps >= 1);
    // finite termination on the quadratic: few Newton steps once the set is identified
    assert!(
        out.report.iterations - since <= 5,
        "{} Newton iterations",
        out.report.iterations - since
    );
    let mut without = Bcd::new(Rule::GsR, Update::Matrix)
        .block_size(10)
        .active_set(false);
    let plain = run(
        &p,
        &mut without,
        &Options::default().tol(1e-13).max_iters(100_000),
    )
    .unwrap();
    assert!(
        out.report.iterations < plain.report.iterations,
        "{} with active sets vs {} without",
        out.report.iterations,
        plain.report.iterations
    );
}

#[test]
fn logistic_problems_match_fista_with_kkt() {
    let (a, y) = data(120, 30, 0.3, SyntheticKind::Logistic, 4);
    // L2-logistic: the dual gap closes
    let p = Glm::new(a.clone(), y.clone(), Loss::Logistic, 1e-2, Penalty::None).unwrap();
    let reference = fista(&p, 20_000);
    let (x, rep) = solve(
        &p,
        Bcd::new(Rule::Gsl, Update::Newton).block_size(5),
        1e-12,
        50_000,
    );
    assert!(rep.status.is_converged(), "{:?}", rep.status);
    assert_eq!(rep.metrics.criterion, crate::Criterion::DualityGap);
    assert!(max_diff(&x, &reference) < 1e-5, "{}", max_diff(&x, &reference));
    // L1-logistic
    let base = Glm::new(a, y, Loss::Logistic, 0.0, Penalty::None).unwrap();
    let lam = 0.05 * base.lambda_max();
    let p = base.with_penalty(Penalty::L1(lam)).unwrap();
    let reference = fista(&p, 50_000);
    assert!(kkt(&p, &reference) < 1e-6 * lam);
    for (rule, upd) in [
        (Rule::GsQ, Update::Newton),
        (Rule::Cyclic, Update::Gradient),
        (Rule::GsR, Update::Matrix),
    ] {
        let (x, rep) = solve(&p, Bcd::new(rule, upd).block_size(3), 1e-11, 200_000);
        assert!(rep.status.is_converged(), "{rule:?}: {:?}", rep.status);
        assert!(
            max_diff(&x, &reference) < 1e-4,
            "{rule:?}: {}",
            max_diff(&x, &reference)
        );
        assert!(kkt(&p, &x) < 1e-4 * lam);
    }
}

#[test]
fn softmax_and_nnls_match_projected_gradient() {
    let (a, y) = data(90, 12, 0.5, SyntheticKind::LeastSquares, 5);
    let mut sorted = y.clone();
    sorted.sort_by(f64::total_cmp);
    let (t1, t2) = (sorted[30], sorted[60]);
    let classes: Vec<f64> = y
        .iter()
        .map(|v| {
            if *v < t1 {
                0.0
            } else if *v < t2 {
                1.0
            } else {
                2.0
            }
        })
        .collect();
    let p = Glm::new(a.clone(), classes, Loss::Softmax, 1e-2, Penalty::None).unwrap();
    assert_eq!(p.dim(), 36);
    let reference = fista(&p, 20_000);
    assert!(kkt(&p, &reference) < 1e-9);
    for upd in [Update::Gradient, Update::Newton] {
        let (x, rep) = solve(&p, Bcd::new(Rule::Gs, upd).block_size(3), 1e-10, 100_000);
        assert!(rep.status.is_converged(), "{upd:?} {:?}", rep.status);
        assert_eq!(rep.metrics.criterion, crate::Criterion::KktResidual);
        assert!(
            max_diff(&x, &reference) < 1e-6,
            "{upd:?}: {}",
            max_diff(&x, &reference)
        );
    }
    let p = Glm::new(a, y, Loss::Squared, 0.0, Penalty::NonNegative).unwrap();
    let reference = fista(&p, 50_000);
    assert!(reference.contains(&0.0) && reference.iter().any(|v| *v > 0.0));
    let (x, rep) = solve(
        &p,
        Bcd::new(Rule::GsQ, Update::Matrix).block_size(3),
        1e-10,
        100_000,
    );
    assert!(rep.status.is_converged(), "{:?}", rep.status);
    assert!(x.iter().all(|v| *v >= 0.0));
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        max_diff(&x, &reference) < 1e-6 * scale,
        "{}",
        max_diff(&x, &reference)
    );
}

fn lattice_problem(side: usize, seed: u64) -> LabelPropagation {
    let g = Graph::lattice(side, side).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<(usize, f64)> = (0..side * side)
        .filter(|_| rng.next_u64() % 10 == 0)
        .map(|i| (i, if i % 3 == 0 { 1.0 } else { -1.0 }))
        .collect();
    LabelPropagation::new(&g, &labels).unwrap()
}

#[test]
fn label_propagation_matches_dense_solve_with_every_block_kind() {
    let lp = lattice_problem(12, 6);
    let p = &lp.problem;
    let q = p.matrix().to_dense();
    let c = Mat::from_fn(p.dim(), 1, |i, _| p.linear()[i]);
    let x = q.llt(Side::Lower).unwrap().solve(&c);
    let exact: Vec<f64> = (0..p.dim()).map(|i| x[(i, 0)]).collect();
    for (part, rule) in [
        (Partition::RedBlack, Rule::Cyclic),
        (Partition::Tree, Rule::Cyclic),
        (Partition::Tree, Rule::Gs),
        (Partition::GreedyTree, Rule::Gs),
    ] {
        let bcd = Bcd::new(rule, Update::Exact).partition(part).block_size(p.dim());
        let (x, rep) = solve(p, bcd, 1e-11, 100_000);
        assert!(rep.status.is_converged(), "{part:?}: {:?}", rep.status);
        assert!(max_diff(&x, &exact) < 1e-9, "{part:?}: {}", max_diff(&x, &exact));
    }
}

#[test]
fn message_passing_matches_dense_solve_on_random_forests() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..20 {
        let n = 5 + (rng.next_u64() % 60) as usize;
        // a random forest: each node links to an earlier node, or starts a new tree
        let mut trip = Vec::new();
        let mut deg = vec![0.0; n];
        for v in 1..n {
            if rng.next_u64() % 5 != 0 {
                let u = (rng.next_u64() % v as u64) as usize;
                let w = -((rng.next_u64() % 1000) as f64 / 500.0 + 0.1);
                trip.push((u, v, w));
                trip.push((v, u, w));
                deg[u] += w.abs();
                deg[v] += w.abs();
            }
        }
        for v in 0..n {
            trip.push((v, v, deg[v] + 0.5 + (rng.next_u64() % 100) as f64 / 100.0));
        }
        let q = CsrMatrix::from_triplets(n, n, &trip).unwrap();
        let block: Vec<usize> = (0..n).rev().collect(); // any order of the nodes
        let f = Forest::build(&q, &block, &mut ForestScratch::default()).expect("a forest");
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut x: Vec<f64> = block.iter().map(|&i| b[i]).collect();
        assert!(f.solve(&mut x));
        let d = q.to_dense();
        let bd = Mat::from_fn(n, 1, |a, _| b[a]);
        let xd = d.llt(Side::Lower).unwrap().solve(&bd);
        for a in 0..n {
            assert!(
                (x[a] - xd[(block[a], 0)]).abs() < 1e-10,
                "trial {trial} node {}",
                block[a]
            );
        }
    }
    // a cycle is refused
    let g = Graph::lattice(2, 2).unwrap();
    let lp = LabelPropagation::new(&g, &[]);
    assert!(lp.is_err(), "no labels: undetermined");
    let q = CsrMatrix::from_triplets(
        3,
        3,
        &[
            (0, 0, 3.0),
            (1, 1, 3.0),
            (2, 2, 3.0),
            (0, 1, -1.0),
            (1, 0, -1.0),
            (1, 2, -1.0),
            (2, 1, -1.0),
            (0, 2, -1.0),
            (2, 0, -1.0),
        ],
    )
    .unwrap();
    assert!(Forest::build(&q, &[0, 1, 2], &mut ForestScratch::default()).is_none());
    assert!(Forest::build(&q, &[0, 2], &mut ForestScratch::default()).is_some());
}

#[test]
fn tree_builders_make_forests_and_cover_the_graph() {
    let lp = lattice_problem(9, 8);
    let q = lp.problem.matrix();
    let n = q.nrows();
    for blocks in [partition::red_black(q), partition::trees(q)] {
        let mut seen = vec![0; n];
        for b in &blocks {
            assert!(Forest::build(q, b, &mut ForestScratch::default()).is_some());
            for &i in b {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "a partition");
    }
    assert!(partition::trees(q).len() <= 3, "a lattice needs few forests");
    let cand: Vec<usize> = (0..n).collect();
    let mut s = partition::GreedyScratch::new(n);
    let b = partition::greedy_tree(q, &cand, n, &mut s);
    assert!(Forest::build(q, &b, &mut ForestScratch::default()).is_some());
    assert!(b.len() > n / 2);
    // maximal: no other node can join
    for v in 0..n {
        if !b.contains(&v) {
            let mut bb = b.clone();
            bb.push(v);
            assert!(
                Forest::build(q, &bb, &mut ForestScratch::default()).is_none(),
                "node {v} could join"
            );
        }
    }
}

/// The state after a few cyclic updates, with the maintained gradient, for rule tests.
fn warm_state<P: CoordinateProblem>(p: &P, bcd: &mut Bcd) -> BcdState {
    let mut s = bcd.init(p).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut changes: Vec<(usize, f64)> = Vec::new();
    for i in 0..p.dim() {
        if rng.next_u64() % 2 == 0 {
            changes.push((i, ((rng.next_u64() % 200) as f64 - 100.0) / 50.0));
        }
    }
    let mut x = s.x.clone();
    let mut cache = s.cache.clone();
    p.apply(&mut x, &mut cache, &changes, None);
    s.x = x;
    s.cache = p.new_cache(&s.x);
    let mut g = vec![0.0; p.dim()];
    p.full_gradient(&s.x, &s.cache, &mut g);
    s.grad = Some(g);
    s
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![vec![]];
    }
    if n < k {
        return vec![];
    }
    let mut out = subsets(n - 1, k);
    for mut s in subsets(n - 1, k - 1) {
        s.push(n - 1);
        out.push(s);
    }
    out
}

#[test]
fn selection_rules_agree_with_brute_force() {
    let (a, y) = data(30, 8, 0.6, SyntheticKind::LeastSquares, 10);
    let p = Glm::new(a, y, Loss::Squared, 0.0, Penalty::L1(0.5)).unwrap();
    let lip = p.lipschitz().to_vec();
    let pen = p.penalty();
    for rule in [
        Rule::Gs,
        Rule::Gsl,
        Rule::Gsd,
        Rule::Gsq,
        Rule::GsS,
        Rule::GsR,
        Rule::GsQ,
    ] {
        // fixed blocks: the chosen block maximises the rule's block score, computed here from
        // scratch (GSQ with an explicit inverse)
        let mut bcd = Bcd::new(rule, Update::Gradient)
            .partition(Partition::Order)
            .block_size(3);
        let mut s = warm_state(&p, &mut bcd);
        let g = s.grad.clone().unwrap();
        let chosen = super::rules::select(&bcd, &p, &mut s);
        let score = |b: &[usize]| -> f64 {
            let lb = block_lipschitz(&p, b);
            let st = |i: usize, l: f64| {
                let d = pen.prox(s.x[i] - g[i] / l, 1.0 / l) - s.x[i];
                (d, l)
            };
            match rule {
                Rule::Gs => b.iter().map(|&i| g[i].powi(2)).sum(),
                Rule::Gsl => b.iter().map(|&i| g[i].powi(2)).sum::<f64>() / lb,
                Rule::Gsd => b.iter().map(|&i| g[i].powi(2) / (b.len() as f64 * lip[i])).sum(),
                Rule::Gsq => {
                    let h = p.block_hessian_bound(b);
                    let gb = Mat::from_fn(b.len(), 1, |r, _| g[b[r]]);
                    let y = h.partial_piv_lu().solve(&gb);
                    (0..b.len()).map(|r| gb[(r, 0)] * y[(r, 0)]).sum()
                }
                Rule::GsS => b
                    .iter()
                    .map(|&i| pen.min_norm_subgradient(s.x[i], g[i]).powi(2))
                    .sum(),
                Rule::GsR => b.iter().map(|&i| st(i, lb).0.powi(2)).sum(),
                _ => b
                    .iter()
                    .map(|&i| {
                        let (d, l) = st(i, lb);
                        -(g[i] * d + 0.5 * l * d * d + pen.delta(s.x[i], d))
                    })
                    .sum(),
            }
        };
        let blocks = partition::order(8, 3);
        let best = blocks.iter().map(|b| score(b)).fold(f64::NEG_INFINITY, f64::max);
        assert!(
            (score(&chosen) - best).abs() <= 1e-12 * best.abs(),
            "{rule:?} fixed"
        );
        // variable blocks (separable rules): the top-τ equals the best of all C(8,3) subsets
        if rule == Rule::Gsq {
            continue;
        }
        let mut bcd = Bcd::new(rule, Update::Gradient)
            .partition(Partition::Variable)
            .block_size(3);
        let mut s = warm_state(&p, &mut bcd);
        let g = s.grad.clone().unwrap();
        let chosen = super::rules::select(&bcd, &p, &mut s);
        let cs = |b: &[usize]| -> f64 {
            b.iter()
                .map(|&i| super::rules::coord_score(rule, pen, s.x[i], g[i], lip[i]))
                .sum()
        };
        let best = subsets(8, 3)
            .iter()
            .map(|b| cs(b))
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            (cs(&chosen) - best).abs() <= 1e-12 * best.abs(),
            "{rule:?} variable"
        );
    }
}

#[test]
fn variable_gsq_is_exact_when_the_bound_is_diagonal() {
    // orthogonal columns: H diagonal, so GSQ = the top-τ of g_i²/H_ii
    let trip: Vec<(usize, usize, f64)> = (0..10).map(|j| (j, j, 1.0 + j as f64)).collect();
    let a = CsrMatrix::from_triplets(10, 10, &trip).unwrap();
    let y: Vec<f64> = (0..10).map(|i| ((i * 7 % 10) as f64) - 4.5).collect();
    let p = Glm::new(a, y, Loss::Squared, 0.0, Penalty::None).unwrap();
    let mut bcd = Bcd::new(Rule::Gsq, Update::Matrix)
        .partition(Partition::Variable)
        .block_size(3);
    let mut s = bcd.init(&p).unwrap();
    let g = s.grad.clone().unwrap();
    let mut chosen = super::rules::select(&bcd, &p, &mut s);
    chosen.sort();
    let val = |b: &[usize]| b.iter().map(|&i| g[i] * g[i] / p.lipschitz()[i]).sum::<f64>();
    let best = subsets(10, 3)
        .into_iter()
        .max_by(|a, b| val(a).total_cmp(&val(b)))
        .unwrap();
    assert_eq!(chosen, best);
}

#[test]
fn maintained_gradient_matches_recomputation() {
    let (a, y) = data(50, 20, 0.3, SyntheticKind::Logistic, 11);
    let classes: Vec<f64> = (0..50).map(|i| (i % 3) as f64).collect();
    for p in [
        Glm::new(a.clone(), y.clone(), Loss::Logistic, 0.1, Penalty::None).unwrap(),
        Glm::new(a.clone(), classes, Loss::Softmax, 0.0, Penalty::None).unwrap(),
    ] {
        let mut bcd = Bcd::new(Rule::Gs, Update::Gradient)
            .block_size(4)
            .active_set(false);
        bcd.check_every = Some(1_000_000);
        let mut s = bcd.init(&p).unwrap();
        for _ in 0..200 {
            let _ = bcd.step(&p, &mut s).unwrap();
        }
        let mut g = vec![0.0; p.dim()];
        let fresh = p.new_cache(&s.x);
        p.full_gradient(&s.x, &fresh, &mut g);
        assert!(max_diff(&g, s.grad.as_ref().unwrap()) < 1e-12);
        assert!(max_diff(&fresh.z, &s.cache.z) < 1e-12);
        // the block delta agrees with the objective difference
        let block = [0usize, 3, 5];
        let d = [0.3, -0.2, 0.1];
        let mut x2 = s.x.clone();
        for (k, &i) in block.iter().enumerate() {
            x2[i] += d[k];
        }
        let f2 = p.smooth_value(&x2, &p.new_cache(&x2));
        let f1 = p.smooth_value(&s.x, &fresh);
        assert!((p.block_delta(&s.x, &s.cache, &block, &d) - (f2 - f1)).abs() < 1e-12);
    }
}

#[test]
fn block_hessians_match_finite_differences() {
    let (a, y) = data(40, 6, 0.6, SyntheticKind::Logistic, 12);
    let classes: Vec<f64> = (0..40).map(|i| (i % 3) as f64).collect();
    for p in [
        Glm::new(a.clone(), y.clone(), Loss::Logistic, 0.05, Penalty::None).unwrap(),
        Glm::new(a.clone(), classes, Loss::Softmax, 0.05, Penalty::None).unwrap(),
    ] {
        let x: Vec<f64> = (0..p.dim()).map(|i| 0.01 * (i as f64 * 1.3).sin()).collect();
        let cache = p.new_cache(&x);
        let block: Vec<usize> = vec![0, 2, 3, 5];
        let h = p.block_hessian(&x, &cache, &block);
        let hb = p.block_hessian_bound(&block);
        let eps = 1e-6;
        for (c, &j) in block.iter().enumerate() {
            let mut xp = x.clone();
            xp[j] += eps;
            let mut xm = x.clone();
            xm[j] -= eps;
            for (r, &i) in block.iter().enumerate() {
                let fd = (p.coord_gradient(&xp, &p.new_cache(&xp), i)
                    - p.coord_gradient(&xm, &p.new_cache(&xm), i))
                    / (2.0 * eps);
                assert!(
                    (h[(r, c)] - fd).abs() < 1e-6,
                    "H[{i},{j}] = {} vs {fd}",
                    h[(r, c)]
                );
            }
        }
        // the bound dominates: H_b − H is positive semidefinite
        let diff = Mat::from_fn(4, 4, |r, c| hb[(r, c)] - h[(r, c)]);
        let e = diff.self_adjoint_eigen(Side::Lower).unwrap();
        assert!((0..4).all(|k| e.S()[k] > -1e-12));
        let v = [1.0, -2.0, 0.5, 0.25];
        let mut hv = [0.0; 4];
        p.block_hessian_vec(&x, &cache, &block, &v, &mut hv);
        for r in 0..4 {
            let want: f64 = (0..4).map(|c| h[(r, c)] * v[c]).sum();
            assert!((hv[r] - want).abs() < 1e-12);
        }
    }
}

#[test]
fn regularisation_path_warm_starts() {
    let (a, y) = data(100, 60, 0.2, SyntheticKind::LeastSquares, 13);
    let glm = Glm::new(a, y, Loss::Squared, 0.0, Penalty::None).unwrap();
    let lmax = glm.lambda_max();
    let lambdas: Vec<f64> = (1..=6).map(|k| lmax * 0.5f64.powi(k)).collect();
    let opts = Options::default().tol(1e-10).max_iters(100_000);
    let bcd = Bcd::new(Rule::GsR, Update::Matrix).block_size(5);
    let warm = path(&glm, &lambdas, &bcd, &opts).unwrap();
    let mut cold_iters = 0;
    for (l, out) in &warm {
        assert!(out.report.status.is_converged());
        let p = glm.clone().with_penalty(Penalty::L1(*l)).unwrap();
        let cold = run(&p, &mut bcd.clone(), &opts).unwrap();
        cold_iters += cold.report.iterations;
        assert!(max_diff(&cold.state.x, &out.state.x) < 1e-5);
    }
    let warm_iters: usize = warm.iter().map(|(_, o)| o.report.iterations).sum();
    assert!(warm_iters < cold_iters, "warm {warm_iters} vs cold {cold_iters}");
}

#[test]
fn bad_settings_and_problems_are_named() {
    let (a, y) = data(20, 5, 0.5, SyntheticKind::LeastSquares, 14);
    let p = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    for size in [0, 6] {
        let e = Bcd::new(Rule::Cyclic, Update::Gradient)
            .block_size(size)
            .init(&p)
            .err()
            .unwrap();
        assert!(e.to_string().contains("block_size"), "{e}");
    }
    let e = Bcd::new(Rule::Cyclic, Update::Exact)
        .block_size(2)
        .init(
            &Glm::new(
                a.clone(),
                y.iter().map(|v| v.signum()).collect(),
                Loss::Logistic,
                0.0,
                Penalty::None,
            )
            .unwrap(),
        )
        .err()
        .unwrap();
    assert!(e.to_string().contains("exact"), "{e}");
    let e = Bcd::new(Rule::Cyclic, Update::Exact)
        .partition(Partition::Tree)
        .block_size(2)
        .init(&p)
        .err()
        .unwrap();
    assert!(e.to_string().contains("graph"), "{e}");
    let e = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::L1(-1.0)).unwrap_err();
    assert!(e.to_string().contains("≥ 0"), "{e}");
    let e = Glm::new(a.clone(), y.clone(), Loss::Logistic, 0.0, Penalty::None).unwrap_err();
    assert!(e.to_string().contains("two values"), "{e}");
    let half: Vec<f64> = y.iter().map(|v| v.signum() * 0.5).collect();
    let e = Glm::new(a.clone(), half, Loss::Softmax, 0.0, Penalty::None).unwrap_err();
    assert!(e.to_string().contains("not a class"), "{e}");
    let e = Graph::new(3, vec![(0, 1, 1.0), (1, 2, -0.5)]).unwrap_err();
    assert!(
        e.to_string().contains("edge 1") && e.to_string().contains("-0.5"),
        "{e}"
    );
    let e = Bcd::new(Rule::Cyclic, Update::Gradient)
        .block_size(2)
        .warm_start(vec![0.0; 3])
        .init(&p)
        .err()
        .unwrap();
    assert!(e.to_string().contains("5 coordinates"), "{e}");
    let status = run(
        &p,
        &mut Bcd::new(Rule::Cyclic, Update::Gradient).block_size(1),
        &Options::default().max_iters(3),
    )
    .unwrap()
    .report
    .status;
    assert!(matches!(status, Status::IterationLimit { .. }));
}

#[test]
fn intercepts_are_unpenalised_and_fitted() {
    let (a, y) = data(80, 20, 0.3, SyntheticKind::LeastSquares, 21);
    let shifted: Vec<f64> = y.iter().map(|v| v + 3.0).collect();
    // least squares with an intercept = the dense normal equations of [X, 1]
    let p = Glm::with_intercept(a.clone(), shifted.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    assert_eq!(p.dim(), 21);
    let d = a.to_dense();
    let aug = Mat::from_fn(80, 21, |i, j| if j < 20 { d[(i, j)] } else { 1.0 });
    let ata = aug.transpose() * &aug;
    let aty = aug.transpose() * Mat::from_fn(80, 1, |i, _| shifted[i]);
    let w = ata.llt(Side::Lower).unwrap().solve(&aty);
    let exact: Vec<f64> = (0..21).map(|i| w[(i, 0)]).collect();
    let (x, rep) = solve(
        &p,
        Bcd::new(Rule::Gsq, Update::Matrix).block_size(5),
        1e-12,
        100_000,
    );
    assert!(rep.status.is_converged(), "{:?}", rep.status);
    assert!(max_diff(&x, &exact) < 1e-6, "{}", max_diff(&x, &exact));
    // Lasso with an intercept: FISTA reference, KKT (the intercept's gradient vanishes), gap
    let base = Glm::with_intercept(a.clone(), shifted.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    let lmax = base.lambda_max();
    let p = base.clone().with_penalty(Penalty::L1(0.2 * lmax)).unwrap();
    let reference = fista(&p, 30_000);
    assert!(kkt(&p, &reference) < 1e-8);
    for (rule, upd) in [
        (Rule::GsR, Update::Matrix),
        (Rule::Cyclic, Update::Gradient),
        (Rule::GsQ, Update::Newton),
    ] {
        let (x, rep) = solve(&p, Bcd::new(rule, upd).block_size(3), 1e-10, 200_000);
        assert!(rep.status.is_converged(), "{rule:?} {:?}", rep.status);
        assert_eq!(rep.metrics.criterion, crate::Criterion::DualityGap);
        assert!(
            max_diff(&x, &reference) < 1e-5,
            "{rule:?}: {}",
            max_diff(&x, &reference)
        );
        assert!(
            (x[20] - reference[20]).abs() < 1e-6 && x[20].abs() > 1.0,
            "intercept {}",
            x[20]
        );
    }
    // λ_max with an intercept: above it only the intercept is non-zero, below it is not
    let above = base.clone().with_penalty(Penalty::L1(1.0001 * lmax)).unwrap();
    let (x, _) = solve(
        &above,
        Bcd::new(Rule::GsR, Update::Matrix).block_size(3),
        1e-12,
        100_000,
    );
    assert!(x[..20].iter().all(|v| *v == 0.0));
    let mean = shifted.iter().sum::<f64>() / 80.0;
    assert!((x[20] - mean).abs() < 1e-8, "intercept {} vs mean {mean}", x[20]);
    let below = base.with_penalty(Penalty::L1(0.95 * lmax)).unwrap();
    let (x, _) = solve(
        &below,
        Bcd::new(Rule::GsR, Update::Matrix).block_size(3),
        1e-12,
        100_000,
    );
    assert!(x[..20].iter().any(|v| *v != 0.0));
    // L1-logistic with an intercept (stops on the gap of the dual point projected onto
    // Σθ = 0): matches FISTA
    let (a, yl) = data(150, 15, 0.3, SyntheticKind::Logistic, 22);
    let base = Glm::with_intercept(a, yl, Loss::Logistic, 0.0, Penalty::None).unwrap();
    let p = base
        .clone()
        .with_penalty(Penalty::L1(0.1 * base.lambda_max()))
        .unwrap();
    let reference = fista(&p, 50_000);
    let (x, rep) = solve(
        &p,
        Bcd::new(Rule::GsQ, Update::Newton).block_size(3),
        1e-10,
        100_000,
    );
    assert!(rep.status.is_converged(), "{:?}", rep.status);
    assert_eq!(rep.metrics.criterion, crate::Criterion::DualityGap);
    assert!(max_diff(&x, &reference) < 1e-5, "{}", max_diff(&x, &reference));
}
