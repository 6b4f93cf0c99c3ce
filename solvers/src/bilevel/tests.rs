//! Bilevel solvers against closed forms, known minima and each other.

// Index loops over several arrays at once read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::{run, Options};
use solvent_problems::bilevel::{
    Batch, Bilevel, QuadraticBilevel, QuadraticConfig, Set, SimpleBilevel, ToyBilevel,
};

fn quad() -> QuadraticBilevel {
    QuadraticBilevel::generate(&QuadraticConfig {
        dim_x: 5,
        dim_y: 8,
        upper_samples: 40,
        lower_samples: 40,
        condition: 10.0,
        seed: 3,
    })
    .unwrap()
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    d / b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1e-300)
}

fn solve<P: Bilevel>(p: &P, s: BilevelSolver, tol: f64, iters: usize) -> crate::RunOutput<BilevelState> {
    let mut s = s;
    run(p, &mut s, &Options::default().tol(tol).max_iters(iters)).unwrap()
}

#[test]
fn penalty_reaches_the_closed_form_and_its_bias_is_linear_in_sigma() {
    let p = quad();
    let (xs, ys) = p.closed_form();
    let mut tight = BilevelSolver::new(Method::Penalty).sigma(5e-6);
    tight.inner_max_iters = 10_000;
    let out = solve(&p, tight, 1e-8, 3000);
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
    let e = rel(&out.state.x, &xs);
    assert!(e <= 1e-6, "relative error {e:e}");
    assert!(rel(&out.state.z, &ys) <= 1e-5);
    // Fixed σ: halving σ halves the error.
    let err = |s: f64| {
        rel(
            &solve(&p, BilevelSolver::new(Method::Penalty).sigma(s), 1e-10, 3000)
                .state
                .x,
            &xs,
        )
    };
    let (e1, e2) = (err(1e-2), err(5e-3));
    assert!(
        (e1 / e2 - 2.0).abs() < 0.1,
        "errors {e1:e}, {e2:e}: ratio {}",
        e1 / e2
    );
    // The trace carries what the issue asks for.
    let m = &out.report.metrics;
    for k in ["lower_gap", "lower_residual", "grad_calls", "sigma"] {
        assert!(m.extra.contains_key(k), "{k}");
    }
    assert!(
        (m.objective.unwrap() - p.hyper_objective(&xs)).abs() < 1e-6 * (1.0 + p.hyper_objective(&xs).abs())
    );
}

#[test]
fn aid_f2sa_and_the_stochastic_methods_head_for_the_same_answer() {
    let p = quad();
    let (xs, _) = p.closed_form();
    let aid = solve(&p, BilevelSolver::new(Method::Aid), 1e-9, 2000);
    assert!(aid.report.status.is_converged() && rel(&aid.state.x, &xs) < 1e-8);
    assert!(aid.report.metrics.extra["hvp_calls"] > 0.0);
    let f2sa = solve(&p, BilevelSolver::new(Method::F2sa), 1e-9, 400);
    let e0 = rel(&p.start().0, &xs);
    let first = f2sa.report.trace.first().map(|t| t.metrics.value).unwrap_or(0.0);
    eprintln!(
        "F2SA: error {} from {e0}, measure {} from {first}",
        rel(&f2sa.state.x, &xs),
        f2sa.report.metrics.value
    );
    assert!(rel(&f2sa.state.x, &xs) < e0, "F2SA makes progress");
    for m in [Method::PenaltyStochastic, Method::PenaltySingleLoop] {
        let mut s = BilevelSolver::new(m).sigma(1e-2);
        s.batch = 16;
        // the single loop's outer steps are single gradient steps, scaled by the lower
        // problem's μ/L so the lower variables keep up: it needs more of them
        let iters = if m == Method::PenaltySingleLoop {
            40_000
        } else {
            4000
        };
        let out = solve(&p, s, 1e-12, iters);
        let e = rel(&out.state.x, &xs);
        assert!(
            e < 0.05,
            "{m:?}: relative error {e} ({:?} after {})",
            out.report.status,
            out.report.iterations
        );
        assert!(
            out.state.calls.grad_g < iters as f64 * 2.0 * 11.0,
            "minibatch calls are fractional"
        );
    }
}

#[test]
fn toy_runs_end_at_a_local_minimum_with_y_equal_minus_x() {
    let minima = ToyBilevel::local_minima();
    assert!(
        (minima[0] - 0.3824).abs() < 1e-3
            && (minima[1] - 1.2151).abs() < 1e-3
            && (minima[2] - 2.8296).abs() < 1e-3
    );
    let p = ToyBilevel::default();
    let mut hits = [0usize; 3];
    for i in 0..100 {
        let x0 = 3.0 * i as f64 / 99.0;
        let mut s = BilevelSolver::new(Method::Penalty).sigma(1e-4);
        s.start = Some((vec![x0], vec![-x0]));
        let out = solve(&p, s, 1e-7, 2000);
        let x = out.state.x[0];
        let k = minima.iter().position(|m| (x - m).abs() < 1e-3);
        assert!(
            k.is_some(),
            "start {x0}: ended at x = {x} ({:?})",
            out.report.status
        );
        hits[k.unwrap_or(0)] += 1;
        assert!(
            (out.state.z[0] + x).abs() < 1e-3,
            "start {x0}: z = {} vs −x = {}",
            out.state.z[0],
            -x
        );
    }
    assert!(hits.iter().all(|&h| h > 0), "{hits:?}");
}

#[test]
fn boxes_make_the_right_bounds_active() {
    // X = [−1, 0.5]: ψ = 2(x − 1)² is smallest at the upper bound, y = x = 0.5.
    let p = SimpleBilevel {
        x_set: Set::uniform_box(1, -1.0, 0.5),
        y_set: Set::Free,
    };
    for m in [Method::Penalty, Method::Aid] {
        let out = solve(&p, BilevelSolver::new(m).sigma(1e-5), 1e-9, 500);
        assert!(
            (out.state.x[0] - 0.5).abs() < 1e-6 && (out.state.z[0] - 0.5).abs() < 1e-6,
            "{m:?}: x {} z {} y {} status {:?}",
            out.state.x[0],
            out.state.z[0],
            out.state.y[0],
            out.report.status
        );
    }
    // Y ≤ 0.3: y*(x) = min(x, 0.3), ψ = (x − 1)² + 0.49 for x ≥ 0.3: x = 1, y = 0.3 at its bound.
    let p = SimpleBilevel {
        x_set: Set::Free,
        y_set: Set::Box {
            lo: vec![f64::NEG_INFINITY],
            hi: vec![0.3],
        },
    };
    let out = solve(&p, BilevelSolver::new(Method::Penalty).sigma(1e-5), 1e-9, 500);
    assert!((out.state.x[0] - 1.0).abs() < 1e-4, "x = {}", out.state.x[0]);
    assert_eq!(out.state.z[0], 0.3);
    // A box on the quadratic: the projected answer's active set matches a long projected
    // gradient run on ψ itself (closed-form ψ gradient by finite differences of y*).
    let q = quad();
    let (xs, _) = q.closed_form();
    let hi: Vec<f64> = xs.iter().map(|v| v - 0.1 * v.abs().max(0.1)).collect();
    let q = q
        .clone()
        .with_sets(
            Set::Box {
                lo: vec![f64::NEG_INFINITY; 5],
                hi: hi.clone(),
            },
            Set::Free,
        )
        .unwrap();
    let out = solve(&q, BilevelSolver::new(Method::Aid), 1e-10, 3000);
    let mut x = q.start().0;
    for _ in 0..20000 {
        let h = 1e-6;
        let g: Vec<f64> = (0..5)
            .map(|j| {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[j] += h;
                b[j] -= h;
                (q.hyper_objective(&a) - q.hyper_objective(&b)) / (2.0 * h)
            })
            .collect();
        for j in 0..5 {
            x[j] = (x[j] - 0.2 * g[j]).min(hi[j]);
        }
    }
    for j in 0..5 {
        let active_ref = (x[j] - hi[j]).abs() < 1e-9;
        let active = (out.state.x[j] - hi[j]).abs() < 1e-9;
        assert_eq!(
            active, active_ref,
            "coordinate {j}: {} vs reference {}",
            out.state.x[j], x[j]
        );
        assert!((out.state.x[j] - x[j]).abs() < 1e-5);
    }
    let pen = solve(&q, BilevelSolver::new(Method::Penalty).sigma(1e-5), 1e-8, 3000);
    for j in 0..5 {
        assert_eq!(
            (pen.state.x[j] - hi[j]).abs() < 1e-9,
            (x[j] - hi[j]).abs() < 1e-9,
            "penalty, coordinate {j}"
        );
    }
}

/// A problem whose upper gradient turns NaN once x passes 2.
struct Nan;

impl Bilevel for Nan {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        1
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        (x[0] - 5.0).powi(2) + y[0] * y[0]
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        (y[0] - x[0]).powi(2)
    }
    fn grad_f_x(&self, x: &[f64], _y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = if x[0] > 2.0 { f64::NAN } else { 2.0 * (x[0] - 5.0) };
    }
    fn grad_f_y(&self, _x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = 2.0 * y[0];
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = -2.0 * (y[0] - x[0]);
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = 2.0 * (y[0] - x[0]);
    }
    fn x_set(&self) -> &Set {
        &Set::Free
    }
    fn y_set(&self) -> &Set {
        &Set::Free
    }
}

#[test]
fn bad_input_gets_clear_errors() {
    let e = run(
        &Nan,
        &mut BilevelSolver::new(Method::Penalty).sigma(1e-3),
        &Options::default().tol(1e-9),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("outer iteration") && e.contains("NaN"), "{e}");
    let e = run(
        &quad(),
        &mut BilevelSolver::new(Method::Penalty).sigma(0.0),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sigma") && e.contains("positive"), "{e}");
    let e = run(
        &quad(),
        &mut BilevelSolver::new(Method::Penalty).sigma(-1.0),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sigma"), "{e}");
    let e = quad()
        .with_sets(
            Set::Box {
                lo: vec![0.0; 5],
                hi: vec![-1.0; 5],
            },
            Set::Free,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty box") && e.contains("coordinate 0"), "{e}");
    let e = quad()
        .with_sets(Set::uniform_box(3, 0.0, 1.0), Set::Free)
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 and 3 entries for dimension 5"), "{e}");
    let mut s = BilevelSolver::new(Method::Penalty);
    s.start = Some((vec![0.0; 2], vec![0.0; 8]));
    let e = run(&quad(), &mut s, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("dimension mismatch"), "{e}");
    let e = run(
        &ToyBilevel::default(),
        &mut BilevelSolver::new(Method::PenaltyStochastic),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("minibatch"), "{e}");
}

#[test]
fn the_tilted_penalty_reaches_the_same_point_with_fewer_gradient_calls() {
    // 40 × 40 quadratic, σ = 1e-4, ‖G‖ ≤ 1e-6: the hypergradient needs y − z to ~1e-12,
    // which the untilted method buys by solving z to σ·‖G‖ as well
    let p = QuadraticBilevel::generate(&QuadraticConfig {
        dim_x: 40,
        dim_y: 40,
        upper_samples: 256,
        lower_samples: 256,
        condition: 10.0,
        seed: 8,
    })
    .unwrap();
    let run_with = |tilt: bool| {
        let mut s = BilevelSolver::new(Method::Penalty).sigma(1e-4);
        s.tilt = tilt;
        solve(&p, s, 1e-6, 3000)
    };
    let (a, b) = (run_with(true), run_with(false));
    for o in [&a, &b] {
        assert!(o.report.status.is_converged(), "{:?}", o.report.status);
    }
    // both are stationary for the same ψ_σ: they agree far below the O(σ) bias
    assert!(
        rel(&a.state.x, &b.state.x) <= 1e-6,
        "{:e}",
        rel(&a.state.x, &b.state.x)
    );
    let (ca, cb) = (a.state.calls.gradients(), b.state.calls.gradients());
    assert!(ca < cb, "tilted {ca} vs untilted {cb} gradient calls");
    // the z handed back is the lower solution at the final x to σ-scaled accuracy
    assert!(a.state.lower_residual <= 1e-6, "{}", a.state.lower_residual);
}

#[test]
fn lbfgs_inner_solves_hit_the_lower_solution_and_carried_curvature_pays() {
    use super::oracle::{lbfgs_solve, Calls, CurvatureMemory, Inner};
    let p = QuadraticBilevel::generate(&QuadraticConfig {
        dim_x: 20,
        dim_y: 30,
        upper_samples: 100,
        lower_samples: 100,
        condition: 100.0,
        seed: 4,
    })
    .unwrap();
    let (xs, ys) = p.closed_form();
    let mut calls = Calls::default();
    let mut memory = CurvatureMemory::default();
    let mut z = vec![0.0; 30];
    let (r, its) = lbfgs_solve(
        &p,
        &xs,
        &mut z,
        Inner::Lower,
        1e-11,
        1000,
        &mut memory,
        0.1,
        &mut calls,
    );
    assert!(r <= 1e-11, "gradient norm {r:e} after {its} steps");
    assert!(rel(&z, &ys) <= 1e-9, "{:e}", rel(&z, &ys));
    // a nearby x: the same solve from the same warm start with and without the pairs
    let x2: Vec<f64> = xs.iter().map(|v| v + 1e-2).collect();
    let solve = |memory: &mut CurvatureMemory| {
        let mut z2 = z.clone();
        let mut c = Calls::default();
        lbfgs_solve(&p, &x2, &mut z2, Inner::Lower, 1e-10, 1000, memory, 0.1, &mut c).1
    };
    let (warm, cold) = (solve(&mut memory.clone()), solve(&mut CurvatureMemory::default()));
    assert!(warm < cold, "carried pairs: {warm} steps, empty memory: {cold}");
}
