//! Every iterative solver against faer's sparse direct solve.

use super::*;
use crate::{run, Options, Solver, Status};
use solvent_linalg::direct::{DirectKind, DirectSolver};
use solvent_linalg::precond::{Ic0, Ilu0, Jacobi, PrecondKind, Ssor};
use solvent_linalg::vector::relative_residual;
use solvent_linalg::CsrMatrix;
use solvent_problems::generators::{
    convection_diffusion2d, diffusion2d, poisson2d, shifted_laplacian2d, smooth_coefficient,
};
use solvent_problems::LinearSystemProblem;

fn rhs(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.0 + ((i * 37) % 11) as f64 / 11.0).collect()
}

fn reference(a: &CsrMatrix, b: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; b.len()];
    DirectSolver::new(a, DirectKind::Lu)
        .unwrap()
        .solve(b, &mut x)
        .unwrap();
    x
}

fn rel_err(x: &[f64], y: &[f64]) -> f64 {
    let d: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    d / y.iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn check<S>(name: &str, a: &CsrMatrix, mut solver: S, tol: f64, max_err: f64)
where
    S: Solver<LinearSystemProblem>,
    S::State: HasSolution,
{
    let b = rhs(a.nrows());
    let p = LinearSystemProblem::new(a.clone(), b.clone()).unwrap();
    let out = run(&p, &mut solver, &Options::default().tol(tol).max_iters(20_000)).unwrap();
    let x = out.state.solution();
    let res = relative_residual(a, x, &b);
    assert!(
        out.report.status.is_converged(),
        "{name}: {:?} (res {res:.2e})",
        out.report.status
    );
    assert!(res <= tol, "{name}: true residual {res:.2e} > tol {tol:.0e}");
    assert!(
        (out.report.metrics.value - res).abs() <= 1e-3 * res + 1e-300,
        "{name}: report disagrees"
    );
    let err = rel_err(x, &reference(a, &b));
    assert!(err <= max_err, "{name}: error vs direct {err:.2e}");
}

fn spd_matrices() -> Vec<(&'static str, CsrMatrix)> {
    vec![
        ("poisson", poisson2d(40).unwrap()),
        ("diffusion", diffusion2d(40, smooth_coefficient).unwrap()),
    ]
}

#[test]
fn cg_on_spd_with_every_preconditioner() {
    for (name, a) in spd_matrices() {
        check(&format!("cg/{name}"), &a, Cg::new(), 1e-10, 1e-7);
        check(
            &format!("cg+jacobi/{name}"),
            &a,
            Cg::new().preconditioner(Arc::new(Jacobi::new(&a).unwrap())),
            1e-10,
            1e-7,
        );
        check(
            &format!("cg+ssor/{name}"),
            &a,
            Cg::new().preconditioner(Arc::new(Ssor::new(&a, 1.2).unwrap())),
            1e-10,
            1e-7,
        );
        check(
            &format!("cg+ic0/{name}"),
            &a,
            Cg::new().preconditioner(Arc::new(Ic0::new(&a).unwrap())),
            1e-10,
            1e-7,
        );
    }
}

#[test]
fn gmres_and_bicgstab_on_spd_and_nonsymmetric() {
    let mut ms = spd_matrices();
    ms.push(("convdiff", convection_diffusion2d(40, 0.01, 1.0, 0.5).unwrap()));
    for (name, a) in ms {
        check(
            &format!("gmres/{name}"),
            &a,
            Gmres::new().restart(30),
            1e-10,
            1e-6,
        );
        check(
            &format!("gmres+ilu0/{name}"),
            &a,
            Gmres::new()
                .restart(20)
                .preconditioner(Arc::new(Ilu0::new(&a).unwrap())),
            1e-10,
            1e-6,
        );
        check(&format!("bicgstab/{name}"), &a, Bicgstab::new(), 1e-10, 1e-6);
        check(
            &format!("bicgstab+ilu0/{name}"),
            &a,
            Bicgstab::new().preconditioner(Arc::new(Ilu0::new(&a).unwrap())),
            1e-10,
            1e-6,
        );
    }
}

#[test]
fn minres_and_gmres_on_symmetric_indefinite() {
    let a = shifted_laplacian2d(30, 300.0).unwrap();
    assert!(
        a.diagonal().iter().all(|&d| d > 0.0),
        "diagonal stays positive; indefinite through the shift"
    );
    // CG must refuse it, MINRES and GMRES must solve it
    let p = LinearSystemProblem::new(a.clone(), rhs(a.nrows())).unwrap();
    let out = run(&p, &mut Cg::new(), &Options::default().tol(1e-10).max_iters(5000)).unwrap();
    assert!(!out.report.status.is_converged());
    check("minres/shifted", &a, Minres::new(), 1e-10, 1e-6);
    check(
        "minres+jacobi/shifted",
        &a,
        Minres::new().preconditioner(Arc::new(Jacobi::new_abs(&a).unwrap())),
        1e-10,
        1e-6,
    );
    check("gmres/shifted", &a, Gmres::new().restart(60), 1e-10, 1e-6);
    for (name, a) in spd_matrices() {
        check(&format!("minres/{name}"), &a, Minres::new(), 1e-10, 1e-7);
    }
}

#[test]
fn direct_solver_and_auto_plans() {
    for (name, a) in spd_matrices() {
        check(&format!("direct/{name}"), &a, Direct::new(), 1e-12, 1e-12);
    }
    let c = convection_diffusion2d(30, 0.01, 1.0, 0.5).unwrap();
    check("direct/convdiff", &c, Direct::new(), 1e-12, 1e-12);
    // plans above the direct threshold
    let big = MatrixAnalysis {
        n: 1_000_000,
        nnz: 5_000_000,
        symmetric: true,
        positive_diagonal: true,
        zero_diagonal: false,
        diagonally_dominant: false,
        cholesky_fill: None,
    };
    let p = plan(&big, &SolveConfig::default());
    // not diagonally dominant (could be a Helmholtz operator): IC(0), never AMG
    assert_eq!((p.method, p.precond), (Method::Cg, PrecondKind::Ic0));
    let dominant = MatrixAnalysis {
        diagonally_dominant: true,
        ..big
    };
    let p = plan(&dominant, &SolveConfig::default());
    assert_eq!((p.method, p.precond), (Method::Cg, PrecondKind::Amg));
    // 3-D-like fill: IC(0) below AUTO_AMG_MIN_N; 2-D-like: AMG from AUTO_AMG_MIN_N_2D,
    // the direct solve below
    for (n, fill, want) in [
        (200_000, 300, (Method::Cg, PrecondKind::Ic0)),
        (200_000, 50, (Method::Cg, PrecondKind::Amg)),
        (50_000, 50, (Method::Direct, PrecondKind::None)),
    ] {
        let an = MatrixAnalysis {
            n,
            cholesky_fill: Some(fill * n),
            ..dominant
        };
        let p = plan(&an, &SolveConfig::default());
        assert_eq!((p.method, p.precond), want, "n = {n}, fill {fill}: {}", p.reason);
    }
    let p = plan(
        &MatrixAnalysis {
            symmetric: false,
            ..big
        },
        &SolveConfig::default(),
    );
    assert_eq!((p.method, p.precond), (Method::Gmres, PrecondKind::Ilu0));
    let p = plan(
        &MatrixAnalysis {
            positive_diagonal: false,
            ..big
        },
        &SolveConfig::default(),
    );
    assert_eq!((p.method, p.precond), (Method::Minres, PrecondKind::Jacobi));
    let p = plan(&MatrixAnalysis { n: 100, ..big }, &SolveConfig::default());
    assert_eq!(p.method, Method::Direct);
    // with a predicted fill: 2-D-like at any size goes direct, 3-D-like SPD does not
    // even when small, small non-SPD matrices stay direct unless diagonally dominant
    // (then GMRES), and a factor too large for memory is not attempted
    for (n, per_unknown, symmetric, positive_diagonal, diagonally_dominant, want) in [
        (1_000_000, 55, true, true, false, Method::Direct),
        (27_000, 280, true, true, false, Method::Cg),
        (27_000, 280, true, false, false, Method::Direct),
        (27_000, 280, false, true, false, Method::Direct),
        (27_000, 280, false, true, true, Method::Gmres),
        (27_000, 280, false, false, true, Method::Direct),
        (27_000, 100, false, true, true, Method::Direct),
        (10_000_000, 60, true, true, false, Method::Cg),
    ] {
        let an = MatrixAnalysis {
            n,
            symmetric,
            positive_diagonal,
            diagonally_dominant,
            cholesky_fill: Some(per_unknown * n),
            ..big
        };
        assert_eq!(
            plan(&an, &SolveConfig::default()).method,
            want,
            "n {n}, fill {per_unknown}/unknown, symmetric {symmetric}, positive diagonal \
             {positive_diagonal}, dominant {diagonally_dominant}"
        );
    }
    // the real analysis of a 2-D and a 3-D grid (26³) predicts fills on either side
    let a2 = diffusion2d(60, smooth_coefficient).unwrap();
    assert_eq!(analyse(&a2).cholesky_fill, None, "analyse stays cheap");
    let f2 = analyse(&a2).with_fill(&a2).cholesky_fill.unwrap() as f64 / a2.nrows() as f64;
    assert!(f2 < AUTO_DIRECT_MAX_FILL_PER_UNKNOWN, "2-D fill {f2}");
    let m = 26;
    let id = |i: usize, j: usize, k: usize| (i * m + j) * m + k;
    let mut t = Vec::new();
    for i in 0..m {
        for j in 0..m {
            for k in 0..m {
                t.push((id(i, j, k), id(i, j, k), 6.0));
                for (a, b, c) in [(i + 1, j, k), (i, j + 1, k), (i, j, k + 1)] {
                    if a < m && b < m && c < m {
                        t.push((id(i, j, k), id(a, b, c), -1.0));
                        t.push((id(a, b, c), id(i, j, k), -1.0));
                    }
                }
            }
        }
    }
    let a3 = CsrMatrix::from_triplets(m * m * m, m * m * m, &t).unwrap();
    let an3 = analyse(&a3).with_fill(&a3);
    let f3 = an3.cholesky_fill.unwrap() as f64 / a3.nrows() as f64;
    assert!(f3 > AUTO_DIRECT_MAX_FILL_PER_UNKNOWN, "3-D fill {f3}");
    assert_eq!(plan(&an3, &SolveConfig::default()).method, Method::Cg);
    // diagonal dominance on real matrices: upwind convection–diffusion and the
    // Laplacians are dominant; a Helmholtz shift, one row with a larger off-diagonal
    // entry, and a matrix whose rows all sum to zero (no strictly dominant row) are not
    let c = convection_diffusion2d(30, 0.01, 1.0, 0.5).unwrap();
    assert!(analyse(&c).diagonally_dominant && !analyse(&c).symmetric);
    assert!(analyse(&a3).diagonally_dominant && analyse(&a2).diagonally_dominant);
    let helm = shifted_laplacian2d(30, 20.0).unwrap();
    assert!(!analyse(&helm).diagonally_dominant);
    let mut t: Vec<_> = (0..c.nrows())
        .flat_map(|i| {
            let (cols, vals) = c.row(i);
            cols.iter()
                .zip(vals)
                .map(move |(&j, &v)| (i, j as usize, v))
                .collect::<Vec<_>>()
        })
        .collect();
    let off = t.iter().position(|&(i, j, _)| i == 465 && j != 465).unwrap();
    t[off].2 *= 1.5;
    let c2 = CsrMatrix::from_triplets(c.nrows(), c.ncols(), &t).unwrap();
    assert!(!analyse(&c2).diagonally_dominant, "one row no longer dominant");
    let neumann: Vec<_> = (0..50)
        .flat_map(|i: usize| {
            let nb = [(i + 49) % 50, (i + 1) % 50];
            [(i, i, 2.0), (i, nb[0], -1.5), (i, nb[1], -0.5)]
        })
        .collect();
    let periodic = CsrMatrix::from_triplets(50, 50, &neumann).unwrap();
    assert!(
        !analyse(&periodic).diagonally_dominant,
        "singular: every row sums to zero"
    );
    // with 3-D-like fill a dominant nonsymmetric matrix gets GMRES + ILU(0)
    let an = MatrixAnalysis {
        cholesky_fill: Some(300 * c.nrows()),
        ..analyse(&c)
    };
    let p = plan(&an, &SolveConfig::default());
    assert_eq!((p.method, p.precond), (Method::Gmres, PrecondKind::Ilu0));
    assert!(p.reason.contains("diagonally dominant"), "{}", p.reason);
    // a small non-dominant one goes iterative only when its factor is over the cap,
    // and the reason does not call it dominant
    let an = MatrixAnalysis {
        cholesky_fill: Some(AUTO_DIRECT_MAX_FILL + 1),
        ..analyse(&c2)
    };
    let p = plan(&an, &SolveConfig::default());
    assert_eq!(p.method, Method::Gmres);
    assert!(
        p.reason.contains("> 250000000") && !p.reason.contains("dominant"),
        "{}",
        p.reason
    );
}

#[test]
fn solve_system_runs_every_method_and_auto_recovers_from_cg_breakdown() {
    let a = diffusion2d(30, smooth_coefficient).unwrap();
    let b = rhs(a.nrows());
    let p = LinearSystemProblem::new(a.clone(), b.clone()).unwrap();
    for m in [
        Method::Auto,
        Method::Cg,
        Method::Gmres,
        Method::Bicgstab,
        Method::Minres,
        Method::Direct,
    ] {
        let cfg = SolveConfig {
            method: m,
            ..Default::default()
        };
        let s = solve_system(&p, &cfg, &Options::default().tol(1e-9), &mut []).unwrap();
        assert!(s.report.status.is_converged(), "{m:?}: {:?}", s.report.status);
        assert!(relative_residual(&a, &s.x, &b) <= 1e-9);
    }
    // an explicit preconditioner that cannot be built is an error, not a fallback
    let ind = shifted_laplacian2d(20, 1100.0).unwrap();
    let pi = LinearSystemProblem::new(ind.clone(), rhs(ind.nrows())).unwrap();
    let cfg = SolveConfig {
        method: Method::Cg,
        precond: Some(solvent_linalg::precond::PrecondKind::Ic0),
        restart: 40,
        ..SolveConfig::default()
    };
    assert!(solve_system(&pi, &cfg, &Options::default(), &mut []).is_err());
    // CG (forced) on an indefinite matrix with positive diagonal breaks down and says why
    let cfg = SolveConfig {
        method: Method::Cg,
        precond: Some(solvent_linalg::precond::PrecondKind::None),
        restart: 40,
        ..SolveConfig::default()
    };
    let s = solve_system(&pi, &cfg, &Options::default().tol(1e-10), &mut []).unwrap();
    assert!(
        matches!(s.report.status, Status::Breakdown { .. }),
        "{:?}",
        s.report.status
    );
}

#[test]
fn warm_start_and_zero_rhs() {
    let a = poisson2d(20).unwrap();
    let b = rhs(a.nrows());
    let x = reference(&a, &b);
    let p = LinearSystemProblem::new(a.clone(), b.clone())
        .unwrap()
        .with_initial_guess(x)
        .unwrap();
    let out = run(&p, &mut Gmres::new(), &Options::default().tol(1e-8)).unwrap();
    assert!(out.report.status.is_converged());
    assert_eq!(
        out.report.iterations, 0,
        "the exact warm start needs no iteration"
    );
    let p0 = LinearSystemProblem::new(a.clone(), vec![0.0; a.nrows()]).unwrap();
    let out = run(&p0, &mut Cg::new(), &Options::default()).unwrap();
    assert!(out.report.status.is_converged());
    assert!(out.state.x.iter().all(|&v| v == 0.0));
}

#[test]
fn iteration_limit_reports_the_residual_reached() {
    let a = poisson2d(40).unwrap();
    let p = LinearSystemProblem::new(a.clone(), rhs(a.nrows())).unwrap();
    let out = run(
        &p,
        &mut Gmres::new().restart(5),
        &Options::default().tol(1e-12).max_iters(30),
    )
    .unwrap();
    assert_eq!(out.report.status, Status::IterationLimit { limit: 30 });
    assert_eq!(out.report.iterations, 30);
    let res = relative_residual(&a, &out.state.x, p.b());
    assert!((out.report.metrics.value - res).abs() < 1e-12 && res > 1e-12);
    assert!(out.report.status.describe(res).contains("iteration limit 30"));
}
