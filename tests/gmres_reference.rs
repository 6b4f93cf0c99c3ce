//! GMRES(m) iteration counts against an independent implementation.
//!
//! Reference: SciPy 1.17.1 `scipy.sparse.linalg.gmres` (x₀ = 0, `rtol` = tol,
//! `atol` = 0, no preconditioner), inner iterations counted with
//! `callback_type='pr_norm'`. Reproduce with
//! `python3 benches/reference/gmres_scipy.py A restart tol` (see the script);
//! the convection–diffusion matrices are rebuilt inside the script from the
//! stencil formula, not read from our generator. Counts must agree within ±2.

use solvent::prelude::*;
use solvent::problems::generators::convection_diffusion2d;
use solvent::solvers::TraceSchedule;
mod common;
use common::shared_file as shared;

fn gmres_iterations(problem: &LinearSystemProblem, restart: usize, tol: f64) -> (usize, f64) {
    let opts = Options::default()
        .tol(tol)
        .max_iters(10_000)
        .trace(TraceSchedule::Off);
    let out = run(problem, &mut Gmres::new().restart(restart), &opts).unwrap();
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
    (out.report.iterations, out.report.metrics.value)
}

#[test]
fn gmres_matches_scipy_on_the_shared_fem_system() {
    // (system, restart, tol, SciPy inner iterations)
    let cases = [
        (0, 10, 1e-8, 257),
        (0, 20, 1e-8, 130),
        (0, 40, 1e-8, 99),
        (2, 15, 1e-10, 206),
    ];
    for (k, restart, tol, scipy) in cases {
        let a = read_matrix(shared(&format!("A_{k:04}.mtx"))).unwrap();
        let b = read_vector(shared(&format!("b_{k:04}.mtx"))).unwrap();
        let p = LinearSystemProblem::new(a, b).unwrap();
        let (its, res) = gmres_iterations(&p, restart, tol);
        assert!(res <= tol);
        assert!(
            its.abs_diff(scipy) <= 2,
            "system {k}, GMRES({restart}): {its} iterations vs SciPy {scipy}"
        );
    }
}

#[test]
fn gmres_matches_scipy_on_nonsymmetric_convection_diffusion() {
    // (m, ε, vx, vy, restart, SciPy inner iterations), b = ones, tol 1e-8
    let cases = [
        (30, 0.01, 1.0, 0.5, 10, 108),
        (30, 0.01, 1.0, 0.5, 30, 145),
        (50, 0.005, 1.0, -0.7, 20, 182),
    ];
    for (m, eps, vx, vy, restart, scipy) in cases {
        let a = convection_diffusion2d(m, eps, vx, vy).unwrap();
        let p = LinearSystemProblem::new(a, vec![1.0; m * m]).unwrap();
        let (its, _) = gmres_iterations(&p, restart, 1e-8);
        assert!(
            its.abs_diff(scipy) <= 2,
            "convdiff m={m}, GMRES({restart}): {its} iterations vs SciPy {scipy}"
        );
    }
}
