//! The working-set solver against independent answers: the greedy solver and FISTA on every
//! penalised problem of the family, screening against the exact solution, the duality gaps
//! against the suboptimality they must bound, sample weights against duplicated rows, paths
//! against independent solves, and Anderson extrapolation against a closed form.
#![allow(clippy::needless_range_loop)]

use super::tests::{data, fista, kkt, max_diff};
use super::*;
use crate::{run, Options};
use solvent_linalg::CsrMatrix;
use solvent_problems::bcd::{CoordinateProblem, Glm, Loss, Penalty, SyntheticKind};

fn objective<P: CoordinateProblem>(p: &P, x: &[f64]) -> f64 {
    p.objective(x, &p.new_cache(x))
}

fn ws_solve<P: CoordinateProblem>(p: &P, ws: WorkingSet, tol: f64) -> (Vec<f64>, crate::Report) {
    let mut ws = ws;
    let out = run(p, &mut ws, &Options::default().tol(tol).max_iters(10_000)).unwrap();
    (out.state.x, out.report)
}

fn greedy_solve<P: CoordinateProblem>(p: &P, tol: f64) -> Vec<f64> {
    let mut bcd = Bcd::new(Rule::GsQ, Update::Newton).block_size(5);
    let out = run(p, &mut bcd, &Options::default().tol(tol).max_iters(1_000_000)).unwrap();
    assert!(
        out.report.status.is_converged(),
        "greedy: {:?}",
        out.report.status
    );
    out.state.x
}

/// Every penalised GLM of the family, small: (name, problem).
fn problems() -> Vec<(&'static str, Glm)> {
    let (a, y) = data(120, 60, 0.2, SyntheticKind::LeastSquares, 31);
    let (al, yl) = data(150, 40, 0.25, SyntheticKind::Logistic, 32);
    let lasso = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    let lmax = lasso.lambda_max();
    let logistic = Glm::new(al.clone(), yl.clone(), Loss::Logistic, 0.0, Penalty::None).unwrap();
    let lmax_l = logistic.lambda_max();
    let icpt = Glm::with_intercept(
        a.clone(),
        y.iter().map(|v| v + 2.0).collect(),
        Loss::Squared,
        0.0,
        Penalty::None,
    )
    .unwrap();
    let icpt_l = Glm::with_intercept(al.clone(), yl.clone(), Loss::Logistic, 0.0, Penalty::None).unwrap();
    let classes: Vec<f64> = (0..120)
        .map(|i| ((y[i] * 3.0).abs() as usize % 3) as f64)
        .collect();
    let softmax = Glm::new(a.clone(), classes, Loss::Softmax, 0.01, Penalty::None).unwrap();
    let weights: Vec<f64> = (0..120).map(|i| 0.5 + (i % 4) as f64).collect();
    vec![
        (
            "lasso 0.1",
            lasso.clone().with_penalty(Penalty::L1(0.1 * lmax)).unwrap(),
        ),
        (
            "lasso 0.01",
            lasso.clone().with_penalty(Penalty::L1(0.01 * lmax)).unwrap(),
        ),
        (
            "elastic net",
            Glm::new(
                a.clone(),
                y.clone(),
                Loss::Squared,
                0.05,
                Penalty::L1(0.05 * lmax),
            )
            .unwrap(),
        ),
        (
            "l1-logistic",
            logistic.clone().with_penalty(Penalty::L1(0.05 * lmax_l)).unwrap(),
        ),
        (
            "l1-logistic + ridge",
            Glm::new(
                al.clone(),
                yl.clone(),
                Loss::Logistic,
                0.01,
                Penalty::L1(0.05 * lmax_l),
            )
            .unwrap(),
        ),
        (
            "nnls + l1",
            Glm::new(
                a.clone(),
                y.clone(),
                Loss::Squared,
                0.0,
                Penalty::NonNegativeL1(0.05 * lmax),
            )
            .unwrap(),
        ),
        (
            "lasso + intercept",
            icpt.clone()
                .with_penalty(Penalty::L1(0.05 * icpt.lambda_max()))
                .unwrap(),
        ),
        (
            "l1-logistic + intercept",
            icpt_l
                .clone()
                .with_penalty(Penalty::L1(0.05 * icpt_l.lambda_max()))
                .unwrap(),
        ),
        (
            "weighted lasso",
            lasso
                .clone()
                .with_penalty(Penalty::L1(0.05 * lmax))
                .unwrap()
                .with_sample_weights(weights)
                .unwrap(),
        ),
        (
            "multinomial l1 + l2",
            softmax.with_penalty(Penalty::L1(0.002)).unwrap(),
        ),
    ]
}

#[test]
fn working_sets_reach_the_greedy_and_fista_objectives_on_every_penalised_problem() {
    for (name, p) in problems() {
        let reference = greedy_solve(&p, 1e-13);
        let f_ref = objective(&p, &reference);
        let f_fista = objective(&p, &fista(&p, 40_000));
        for (label, ws) in [
            ("default", WorkingSet::default()),
            (
                "kkt-ranked, greedy inner, no extrapolation",
                WorkingSet {
                    inner: Inner::Greedy,
                    anderson: 0,
                    initial_size: 5,
                    growth: 2,
                    ..WorkingSet::default()
                },
            ),
            (
                "score-ranked, coordinate epochs, no screening",
                WorkingSet {
                    ranking: Ranking::Score,
                    prox_newton: false,
                    screening: false,
                    newton: false,
                    initial_size: 3,
                    ..WorkingSet::default()
                },
            ),
        ] {
            let (x, rep) = ws_solve(&p, ws, 1e-13);
            assert!(rep.status.is_converged(), "{name} {label}: {:?}", rep.status);
            let f = objective(&p, &x);
            assert!(
                (f - f_ref).abs() <= 1e-10 * f_ref.abs(),
                "{name} {label}: {f} vs greedy {f_ref}"
            );
            // FISTA is the slower reference: it only bounds from above
            assert!(
                f <= f_fista + 1e-9 * f_fista.abs(),
                "{name} {label}: {f} vs fista {f_fista}"
            );
            assert!(kkt(&p, &x) < 1e-6, "{name} {label}: kkt {}", kkt(&p, &x));
        }
    }
}

#[test]
fn screening_never_removes_a_coordinate_of_the_solution() {
    for (name, p) in problems() {
        let exact = greedy_solve(&p, 1e-14);
        // the screening test at points along a run, from far to near the optimum
        let mut any = 0;
        for iters in [1, 2, 3, 5, 8, 30] {
            let mut ws = WorkingSet {
                initial_size: 2,
                growth: 2,
                ..WorkingSet::default()
            };
            let out = run(&p, &mut ws, &Options::default().tol(1e-14).max_iters(iters)).unwrap();
            for (k, &z) in out.state.screened.iter().enumerate() {
                if z {
                    any += 1;
                    assert_eq!(
                        exact[k], 0.0,
                        "{name}: coordinate {k} screened but {} at the optimum",
                        exact[k]
                    );
                }
            }
            // and the test itself at this point, from scratch
            let x = &out.state.x;
            let cache = p.new_cache(x);
            let mut g = vec![0.0; p.dim()];
            p.full_gradient(x, &cache, &mut g);
            let mut zero = vec![false; p.dim()];
            if let Some(gap) = p.gap_safe_screen(x, &cache, &g, &mut zero) {
                assert!(gap >= 0.0);
                for k in 0..p.dim() {
                    assert!(!zero[k] || exact[k] == 0.0, "{name}: fresh screen removed {k}");
                }
            }
        }
        if p.loss() != Loss::Softmax {
            assert!(any > 0, "{name}: screening removed nothing");
        }
    }
}

#[test]
fn duality_gaps_bound_the_suboptimality_and_vanish_at_the_optimum() {
    for (name, p) in problems() {
        let exact = greedy_solve(&p, 1e-14);
        let f_star = objective(&p, &exact);
        let gap_at = |x: &[f64]| {
            let cache = p.new_cache(x);
            let mut g = vec![0.0; p.dim()];
            p.full_gradient(x, &cache, &mut g);
            p.duality_gap(x, &cache, &g)
        };
        let Some(g_star) = gap_at(&exact) else {
            assert_eq!(p.loss(), Loss::Softmax, "{name} has no gap");
            continue;
        };
        assert!(g_star < 1e-9, "{name}: gap {g_star} at the optimum");
        // points around the optimum and away from it
        for s in 0..6 {
            let x: Vec<f64> = exact
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let t = ((k * 7 + s * 13) as f64).sin();
                    let v = v * (1.0 + 0.3 * t) + 0.01 * s as f64 * t;
                    p.penalty_at(k).prox(v, 0.0)
                })
                .collect();
            let gap = gap_at(&x).unwrap();
            let sub = objective(&p, &x) - f_star;
            assert!(
                gap >= sub - 1e-10 * f_star.abs(),
                "{name}: gap {gap} < suboptimality {sub}"
            );
        }
    }
}

#[test]
fn sample_weights_equal_duplicated_rows() {
    let (a, y) = data(60, 30, 0.3, SyntheticKind::LeastSquares, 41);
    let reps: Vec<usize> = (0..60).map(|i| 1 + i % 3).collect();
    let mut trip = Vec::new();
    let mut yd = Vec::new();
    let mut row = 0;
    for i in 0..60 {
        let (cols, vals) = a.row(i);
        for _ in 0..reps[i] {
            trip.extend(cols.iter().zip(vals).map(|(&j, &v)| (row, j as usize, v)));
            yd.push(y[i]);
            row += 1;
        }
    }
    let dup = CsrMatrix::from_triplets(row, 30, &trip).unwrap();
    for loss in [Loss::Squared, Loss::Logistic] {
        let labels = |v: &[f64]| -> Vec<f64> {
            if loss == Loss::Logistic {
                v.iter().map(|t| if *t > 0.0 { 1.0 } else { -1.0 }).collect()
            } else {
                v.to_vec()
            }
        };
        let weighted = Glm::with_intercept(a.clone(), labels(&y), loss, 0.0, Penalty::None)
            .unwrap()
            .with_sample_weights(reps.iter().map(|&r| r as f64).collect())
            .unwrap();
        let lam = 0.1 * weighted.lambda_max();
        let duplicated = Glm::with_intercept(dup.clone(), labels(&yd), loss, 0.0, Penalty::L1(lam)).unwrap();
        assert!((duplicated.lambda_max() - weighted.lambda_max()).abs() < 1e-12 * weighted.lambda_max());
        let weighted = weighted.with_penalty(Penalty::L1(lam)).unwrap();
        let (xw, rw) = ws_solve(&weighted, WorkingSet::default(), 1e-13);
        let (xd, rd) = ws_solve(&duplicated, WorkingSet::default(), 1e-13);
        assert!(rw.status.is_converged() && rd.status.is_converged());
        assert!(max_diff(&xw, &xd) < 1e-6, "{loss:?}: {}", max_diff(&xw, &xd));
        let (fw, fd) = (objective(&weighted, &xw), objective(&duplicated, &xd));
        assert!((fw - fd).abs() < 1e-10 * fd.abs(), "{loss:?}: {fw} vs {fd}");
    }
    // bad weights are named
    let g = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    for (w, what) in [
        (vec![1.0; 59], "59 sample weights"),
        (
            (0..60).map(|i| if i == 7 { -1.0 } else { 1.0 }).collect(),
            "sample 7",
        ),
        (vec![0.0; 60], "every sample weight is zero"),
    ] {
        let e = g.clone().with_sample_weights(w).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
}

#[test]
fn paths_match_independent_solves_and_use_the_strong_rule() {
    let (a, y) = data(100, 200, 0.1, SyntheticKind::LeastSquares, 43);
    let glm = Glm::new(a, y, Loss::Squared, 0.0, Penalty::L1(1.0)).unwrap();
    let lambdas = lambda_grid(glm.lambda_max(), 0.01 * glm.lambda_max(), 12);
    assert_eq!(lambdas.len(), 12);
    assert!((lambdas[0] - glm.lambda_max()).abs() < 1e-12 * lambdas[0]);
    assert!(lambdas.windows(2).all(|w| w[1] < w[0]));
    let opts = Options::default().tol(1e-12).max_iters(10_000);
    for method in [
        Method::WorkingSet(WorkingSet::default()),
        Method::Greedy(Bcd::new(Rule::GsQ, Update::Matrix).block_size(5)),
    ] {
        let path = glm_path(&glm, &lambdas, &method, &opts).unwrap();
        for (k, point) in path.iter().enumerate() {
            assert!(point.solved.report.status.is_converged());
            let p = glm.clone().with_penalty(Penalty::L1(point.lambda)).unwrap();
            let cold = greedy_solve(&p, 1e-13);
            let (f, f0) = (objective(&p, &point.solved.x), objective(&p, &cold));
            assert!((f - f0).abs() <= 1e-10 * f0, "λ {}: {f} vs {f0}", point.lambda);
            if let Method::WorkingSet(_) = method {
                assert_eq!(point.strong_set.is_some(), k > 0);
            }
        }
        // at λ_max the solution is zero
        assert!(path[0].solved.x.iter().all(|v| *v == 0.0));
    }
}

#[test]
fn anderson_extrapolation_solves_a_linear_fixed_point_exactly() {
    // x ← A x + b with A = diag(0.9, 0.5, −0.3): with 5 iterates (4 differences, dependent in
    // 3 dimensions) the extrapolation of a linear iteration is its fixed point
    let a = [0.9, 0.5, -0.3];
    let b = [1.0, -2.0, 0.5];
    let fixed: Vec<f64> = (0..3).map(|i| b[i] / (1.0 - a[i])).collect();
    let mut x = vec![0.0; 3];
    let mut hist = Vec::new();
    for _ in 0..5 {
        x = (0..3).map(|i| a[i] * x[i] + b[i]).collect();
        hist.push(x.clone());
    }
    let e = WorkingSet::extrapolate(&hist).unwrap();
    assert!(max_diff(&e, &fixed) < 1e-5, "{e:?} vs {fixed:?}");
    // the last iterate is far from it
    assert!(max_diff(&x, &fixed) > 1.0);
    // identical iterates: nothing to extrapolate
    assert!(WorkingSet::extrapolate(&[vec![1.0; 3], vec![1.0; 3], vec![1.0; 3]]).is_none());
}

#[test]
fn auto_picks_working_sets_for_penalised_problems_and_respects_greedy_settings() {
    let pick = |kind, choices: &BcdChoices| Method::resolve(Strategy::Auto, kind, 100, choices);
    assert!(matches!(
        pick(ProblemKind::Lasso, &BcdChoices::default()),
        Method::WorkingSet(_)
    ));
    assert!(matches!(
        pick(ProblemKind::L1Logistic, &BcdChoices::default()),
        Method::WorkingSet(_)
    ));
    assert!(matches!(
        pick(ProblemKind::Nnls, &BcdChoices::default()),
        Method::WorkingSet(_)
    ));
    assert!(matches!(
        pick(ProblemKind::Ls, &BcdChoices::default()),
        Method::Greedy(_)
    ));
    assert!(matches!(
        pick(ProblemKind::Labelprop, &BcdChoices::default()),
        Method::Greedy(_)
    ));
    let rule = BcdChoices {
        rule: Some(Rule::GsR),
        ..BcdChoices::default()
    };
    assert!(matches!(pick(ProblemKind::Lasso, &rule), Method::Greedy(b) if b.rule == Rule::GsR));
    assert!(matches!(
        Method::resolve(Strategy::Greedy, ProblemKind::Lasso, 100, &BcdChoices::default()),
        Method::Greedy(_)
    ));
}

#[test]
fn warm_starts_below_the_previous_weight_screen_safely() {
    let (a, y) = data(100, 300, 0.05, SyntheticKind::LeastSquares, 44);
    let glm = Glm::new(a, y, Loss::Squared, 0.0, Penalty::L1(1.0)).unwrap();
    let lmax = glm.lambda_max();
    let hi = glm.clone().with_penalty(Penalty::L1(0.7 * lmax)).unwrap();
    let lo = glm.clone().with_penalty(Penalty::L1(0.5 * lmax)).unwrap();
    let (start, _) = ws_solve(&hi, WorkingSet::default(), 1e-12);
    let exact = greedy_solve(&lo, 1e-14);
    let mut ws = WorkingSet::default().warm_start(start);
    let out = run(&lo, &mut ws, &Options::default().tol(1e-10).max_iters(200)).unwrap();
    for (k, &z) in out.state.screened.iter().enumerate() {
        assert!(
            !z || exact[k] == 0.0,
            "coordinate {k} screened, {} at the optimum",
            exact[k]
        );
    }
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
}

#[test]
fn dense_columns_take_the_contiguous_path_with_the_same_numbers() {
    // every column holds every sample: the contiguous gradient and step must equal the
    // formulas computed here by hand
    let (n, p) = (37, 6);
    let dense: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..p)
                .map(|j| ((i * 7 + j * 3) as f64 * 0.37).sin() + 0.1)
                .collect()
        })
        .collect();
    let trip: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|i| (0..p).map(move |j| (i, j, 0.0)))
        .map(|(i, j, _)| (i, j, dense[i][j]))
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).cos()).collect();
    let glm = Glm::new(
        CsrMatrix::from_triplets(n, p, &trip).unwrap(),
        y.clone(),
        Loss::Squared,
        0.0,
        Penalty::L1(0.01),
    )
    .unwrap();
    let w: Vec<f64> = (0..p).map(|j| 0.2 * j as f64 - 0.4).collect();
    let cache = glm.new_cache(&w);
    let z: Vec<f64> = (0..n).map(|i| (0..p).map(|j| dense[i][j] * w[j]).sum()).collect();
    for j in 0..p {
        let by_hand: f64 = (0..n).map(|i| dense[i][j] * (z[i] - y[i])).sum::<f64>() / n as f64;
        assert!((glm.coord_gradient(&w, &cache, j) - by_hand).abs() < 1e-13);
    }
    let mut x = w.clone();
    let mut c = cache.clone();
    for j in 0..p {
        glm.coordinate_step(&mut x, &mut c, j);
    }
    let fresh = glm.new_cache(&x);
    assert!(max_diff(&c.z, &fresh.z) < 1e-13 && max_diff(&c.r, &fresh.r) < 1e-13);
    assert!(glm.objective(&x, &c) < glm.objective(&w, &cache));
}
