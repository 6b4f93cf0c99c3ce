//! GCRO-DR against GMRES and the direct solve, and recycling along sequences.

use super::*;
use crate::{run, Options, Solver};
use solvent_linalg::precond::Ilu0;
use solvent_linalg::vector::relative_residual;
use solvent_linalg::CsrMatrix;
use solvent_problems::generators::{convection_diffusion2d, diffusion2d, shifted_laplacian2d};
use solvent_problems::LinearSystemProblem;

fn rhs(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 1.0 + ((i * 37 + seed * 11) % 13) as f64 / 13.0)
        .collect()
}

fn solve_gcrodr(s: &mut GcroDr, a: &CsrMatrix, b: &[f64], tol: f64) -> (Vec<f64>, usize) {
    let p = LinearSystemProblem::new(a.clone(), b.to_vec()).unwrap();
    let out = run(&p, s, &Options::default().tol(tol).max_iters(20_000)).unwrap();
    assert!(out.report.status.is_converged(), "{:?}", out.report.status);
    let res = relative_residual(a, &out.state.x, b);
    assert!(res <= tol, "true residual {res:.2e} > {tol:.0e}");
    (out.state.x, out.report.iterations)
}

#[test]
fn first_cycle_is_gmres_and_solutions_agree() {
    // converges inside the first cycle: identical to GMRES(m) step for step
    let a = convection_diffusion2d(12, 0.05, 1.0, 0.5).unwrap();
    let b = rhs(a.nrows(), 0);
    let p = LinearSystemProblem::new(a.clone(), b.clone()).unwrap();
    let o = Options::default().tol(1e-8).max_iters(1000);
    let g = run(&p, &mut Gmres::new().restart(80), &o).unwrap();
    let mut s = GcroDr::new().restart(80).recycle_dim(10);
    let (x, its) = solve_gcrodr(&mut s, &a, &b, 1e-8);
    assert_eq!(its, g.report.iterations);
    let d: f64 = x
        .iter()
        .zip(&g.state.x)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-9, "max difference {d:.2e}");
    // needing several cycles: same solution to the tolerance
    let a = convection_diffusion2d(30, 0.01, 1.0, 0.5).unwrap();
    let b = rhs(a.nrows(), 1);
    let p = LinearSystemProblem::new(a.clone(), b.clone()).unwrap();
    let g = run(
        &p,
        &mut Gmres::new().restart(20),
        &o.clone().tol(1e-10).max_iters(5000),
    )
    .unwrap();
    let (x, its) = solve_gcrodr(&mut GcroDr::new().restart(20).recycle_dim(8), &a, &b, 1e-10);
    let num: f64 = x.iter().zip(&g.state.x).map(|(u, v)| (u - v) * (u - v)).sum();
    let den: f64 = x.iter().map(|u| u * u).sum();
    assert!((num / den).sqrt() < 1e-7);
    // deflation helps within one solve as well
    assert!(
        its < g.report.iterations,
        "gcrodr {its} vs gmres {}",
        g.report.iterations
    );
}

#[test]
fn a_repeated_matrix_solves_faster_the_second_time() {
    let a = diffusion2d(40, |x, y| 1.0 + 50.0 * (x * y)).unwrap();
    let mut s = GcroDr::new().restart(30).recycle_dim(10);
    let (_, first) = solve_gcrodr(&mut s, &a, &rhs(a.nrows(), 0), 1e-8);
    let space = s.take_recycle();
    assert_eq!(space.as_ref().map(RecycleSpace::dim), Some(10));
    s.with_recycle(space, true);
    let (_, second) = solve_gcrodr(&mut s, &a, &rhs(a.nrows(), 3), 1e-8);
    assert!(second < first, "second solve {second} not below first {first}");
}

#[test]
fn recycling_across_changing_indefinite_matrices_with_ilu() {
    // Helmholtz-like shifts: the matrix changes, the space is retargeted
    let m = 30;
    let mut s = GcroDr::new().restart(30).recycle_dim(10);
    let mut its = Vec::new();
    for (i, sigma) in [200.0, 205.0, 210.0].iter().enumerate() {
        let a = shifted_laplacian2d(m, *sigma).unwrap();
        let pc = std::sync::Arc::new(Ilu0::new(&a).unwrap());
        s.set_preconditioner(Some(pc));
        let space = s.take_recycle();
        s.with_recycle(space, false);
        let (_, it) = solve_gcrodr(&mut s, &a, &rhs(a.nrows(), i), 1e-8);
        its.push(it);
    }
    assert!(its[2] < its[0], "iterations {its:?}");
}

#[test]
fn bad_settings_are_typed_errors() {
    let a = diffusion2d(5, |_, _| 1.0).unwrap();
    let p = LinearSystemProblem::new(a.clone(), rhs(a.nrows(), 0)).unwrap();
    for (m, k) in [(10, 0), (10, 10), (1, 1)] {
        let e = run(
            &p,
            &mut GcroDr::new().restart(m).recycle_dim(k),
            &Options::default(),
        );
        assert!(e.is_err(), "m={m} k={k}");
    }
}

#[test]
fn deflated_cg_solves_and_recycling_cuts_iterations_along_a_darcy_sequence() {
    use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
    let s = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(40, 1)).unwrap();
    let o = Options::default().tol(1e-9).max_iters(5000);
    let mut dcg = DeflatedCg::new().deflation_dim(12);
    let (mut plain, mut deflated) = (0, 0);
    for i in 0..6 {
        let smp = s.sample(i).unwrap();
        let p = LinearSystemProblem::new(smp.a.clone(), smp.b.clone()).unwrap();
        let cg = run(&p, &mut Cg::new(), &o).unwrap();
        let space = dcg.take_space();
        dcg.with_space(space);
        let out = run(&p, &mut dcg, &o).unwrap();
        assert!(out.report.status.is_converged(), "{:?}", out.report.status);
        let res = relative_residual(&smp.a, &out.state.x, &smp.b);
        assert!(res <= 1e-9, "system {i}: {res:.2e}");
        let d: f64 = out
            .state
            .x
            .iter()
            .zip(&cg.state.x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let scale = cg.state.x.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(d <= 1e-6 * scale);
        if i > 0 {
            assert_eq!(out.state.deflated, 12);
            plain += cg.report.iterations;
            deflated += out.report.iterations;
        }
    }
    assert!(
        (deflated as f64) < 0.8 * plain as f64,
        "deflated {deflated} vs plain CG {plain}"
    );
    // the same matrix twice: the second solve is strictly faster
    let smp = s.sample(0).unwrap();
    let p = LinearSystemProblem::new(smp.a, smp.b).unwrap();
    let mut dcg = DeflatedCg::new();
    let first = run(&p, &mut dcg, &o).unwrap().report.iterations;
    let second = run(&p, &mut dcg, &o).unwrap().report.iterations;
    assert!(second < first, "{second} vs {first}");
}

#[test]
fn reused_buffers_give_the_same_iterates_as_fresh_ones() {
    // One solver kept along a sequence reuses its length-n buffers and swaps U in and
    // out of the recycled space; a fresh solver per system (handed a copy of the space)
    // starts from zeroed buffers. Stale values must never be read: the solutions agree
    // to the bit, system after system, through retargets (matrix changes), repeats
    // (same operator) and a change of size.
    let mut kept = GcroDr::new().restart(24).recycle_dim(8);
    let mut space: Option<RecycleSpace> = None;
    let systems = [
        (20, 180.0, false),
        (20, 186.0, false),
        (20, 186.0, true),
        (16, 150.0, false),
        (16, 153.0, false),
    ];
    for (i, &(m, sigma, same)) in systems.iter().enumerate() {
        let a = shifted_laplacian2d(m, sigma).unwrap();
        let pc: SharedPrecond = Some(std::sync::Arc::new(Ilu0::new(&a).unwrap()));
        let b = rhs(a.nrows(), i);
        let mut fresh = GcroDr::new().restart(24).recycle_dim(8);
        fresh.set_preconditioner(pc.clone());
        fresh.with_recycle(space.clone(), same);
        let (xf, itf) = solve_gcrodr(&mut fresh, &a, &b, 1e-9);
        kept.set_preconditioner(pc);
        let carried = kept.take_recycle();
        assert_eq!(
            carried.as_ref().map(RecycleSpace::dim),
            space.as_ref().map(RecycleSpace::dim)
        );
        kept.with_recycle(carried, same);
        let (xk, itk) = solve_gcrodr(&mut kept, &a, &b, 1e-9);
        assert_eq!(itk, itf, "system {i}: iterations");
        assert_eq!(xk, xf, "system {i}: solution");
        space = fresh.take_recycle();
        let sk = kept.take_recycle();
        let (a, b) = (sk.as_ref().unwrap(), space.as_ref().unwrap());
        assert_eq!((a.u(), a.c()), (b.u(), b.c()), "system {i}: recycled space");
        kept.with_recycle(sk, false);
    }
}

#[test]
fn a_breakdown_after_a_reused_solve_reads_no_stale_column() {
    // The second matrix has three distinct eigenvalues: its Krylov space ends after
    // three steps (breakdown), and the refresh still reads the basis column after the
    // last one. A solver whose buffers hold the first solve's vectors must give the
    // same bits as a fresh one.
    let n = 400;
    let diag = |f: &dyn Fn(usize) -> f64| {
        let t: Vec<_> = (0..n).map(|i| (i, i, f(i))).collect();
        CsrMatrix::from_triplets(n, n, &t).unwrap()
    };
    let a1 = diag(&|i| 1.0 + i as f64);
    let a2 = diag(&|i| 1.0 + (i % 3) as f64);
    let mut kept = GcroDr::new().restart(24).recycle_dim(8);
    let (_, _) = solve_gcrodr(&mut kept, &a1, &rhs(n, 0), 1e-10);
    // nothing recycled: the projected operator would hide the small Krylov space
    kept.with_recycle(None, false);
    let mut fresh = GcroDr::new().restart(24).recycle_dim(8);
    let b = vec![1.0; n];
    let (xf, itf) = solve_gcrodr(&mut fresh, &a2, &b, 1e-10);
    let (xk, itk) = solve_gcrodr(&mut kept, &a2, &b, 1e-10);
    assert_eq!((itk, &xk), (itf, &xf));
    let (sk, sf) = (kept.take_recycle().unwrap(), fresh.take_recycle().unwrap());
    assert_eq!((sk.u(), sk.c()), (sf.u(), sf.c()));
}

#[test]
fn a_space_built_from_vectors_is_retargeted_even_for_the_same_operator() {
    // from_vectors has no C yet: told "same operator", GCRO-DR must still compute it
    let a = diffusion2d(30, |x, y| 1.0 + 20.0 * x * y).unwrap();
    let n = a.nrows();
    let u: Vec<f64> = (0..n * 6)
        .map(|t| ((t * 7919) % 101) as f64 / 101.0 - 0.5)
        .collect();
    let b = rhs(n, 2);
    let mut told_same = GcroDr::new().restart(30).recycle_dim(6);
    told_same.with_recycle(Some(RecycleSpace::from_vectors(n, 6, u.clone())), true);
    let (xs, its) = solve_gcrodr(&mut told_same, &a, &b, 1e-9);
    let mut told_new = GcroDr::new().restart(30).recycle_dim(6);
    told_new.with_recycle(Some(RecycleSpace::from_vectors(n, 6, u)), false);
    let (xn, itn) = solve_gcrodr(&mut told_new, &a, &b, 1e-9);
    assert_eq!((its, xs), (itn, xn));
}

#[test]
fn finalize_twice_keeps_the_solution() {
    let a = diffusion2d(12, |_, _| 1.0).unwrap();
    let p = LinearSystemProblem::new(a.clone(), rhs(a.nrows(), 1)).unwrap();
    let mut s = GcroDr::new().restart(10).recycle_dim(4);
    let mut st = s.init(&p).unwrap();
    for _ in 0..25 {
        s.step(&p, &mut st).unwrap();
    }
    s.finalize(&p, &mut st).unwrap();
    let x = st.x.clone();
    let dim = s.recycled_dim();
    s.finalize(&p, &mut st).unwrap();
    assert_eq!(st.x, x);
    assert_eq!(s.recycled_dim(), dim);
    assert!(dim > 0);
}
