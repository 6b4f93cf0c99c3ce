//! Solver benches against faer's own routine, side by side in one run:
//!
//! - `cg_ic0_vs_faer`: preconditioned CG on the 2-D Poisson matrix with
//!   n = 10⁶, tolerance 1e-8 relative, x₀ = 0, with the same IC(0)
//!   preconditioner object — Solvent's `Cg` through the run loop against
//!   `faer::matrix_free::conjugate_gradient` on faer's own CSR operator.
//!   Both iterate to the same relative residual; the iteration counts are
//!   asserted equal within 2 so the comparison is per-solve and fair.
//!
//! Run: `cargo bench --bench krylov`.

use criterion::{criterion_group, criterion_main, Criterion};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::matrix_free::conjugate_gradient::{conjugate_gradient, conjugate_gradient_scratch, CgParams};
use faer::matrix_free::{InitialGuessStatus, LinOp, Precond};
use faer::reborrow::ReborrowMut;
use faer::{Col, MatMut, MatRef, Par};
use solvent::linalg::precond::Ic0;
use solvent::linalg::vector::relative_residual;
use solvent::linalg::Preconditioner;
use solvent::prelude::*;
use solvent::problems::generators::poisson2d;
use solvent::solvers::TraceSchedule;
use std::sync::Arc;
use std::time::Duration;

/// Our IC(0) seen through faer's preconditioner traits.
#[derive(Debug)]
struct FaerIc0(Arc<Ic0>);

impl LinOp<f64> for FaerIc0 {
    fn apply_scratch(&self, _k: usize, _par: Par) -> faer::dyn_stack::StackReq {
        faer::dyn_stack::StackReq::EMPTY
    }
    fn nrows(&self) -> usize {
        self.0.dim()
    }
    fn ncols(&self) -> usize {
        self.0.dim()
    }
    fn apply(&self, mut out: MatMut<'_, f64>, rhs: MatRef<'_, f64>, _par: Par, _stack: &mut MemStack) {
        for j in 0..rhs.ncols() {
            let r = rhs.col(j).try_as_col_major().expect("contiguous").as_slice();
            let z = out
                .rb_mut()
                .col_mut(j)
                .try_as_col_major_mut()
                .expect("contiguous")
                .as_slice_mut();
            self.0.apply(r, z);
        }
    }
    fn conj_apply(&self, out: MatMut<'_, f64>, rhs: MatRef<'_, f64>, par: Par, stack: &mut MemStack) {
        self.apply(out, rhs, par, stack)
    }
}

impl Precond<f64> for FaerIc0 {}

fn cg_ic0_vs_faer(c: &mut Criterion) {
    let a = poisson2d(1000).unwrap();
    let n = a.nrows();
    let b = vec![1.0; n];
    let ic0 = Arc::new(Ic0::new(&a).unwrap());
    let problem = LinearSystemProblem::new(a.clone(), b.clone()).unwrap();
    let tol = 1e-8;
    let opts = Options::default()
        .tol(tol)
        .max_iters(5000)
        .trace(TraceSchedule::Off);
    let par = Par::rayon(rayon::current_num_threads());

    let ours = || {
        let out = run(&problem, &mut Cg::new().preconditioner(ic0.clone()), &opts).unwrap();
        assert!(out.report.status.is_converged());
        (out.state.x, out.report.iterations)
    };
    let faer_cg = || {
        let precond = FaerIc0(ic0.clone());
        let op = a.as_faer();
        let rhs = Col::<f64>::from_fn(n, |i| b[i]);
        let mut x = Col::<f64>::zeros(n);
        let mut mem = MemBuffer::new(conjugate_gradient_scratch(&precond, op, 1, par));
        let params = CgParams {
            // `Zero` leaves faer's residual buffer uninitialised in 0.24.4; x = 0 is passed explicitly
            initial_guess: InitialGuessStatus::MaybeNonZero,
            abs_tolerance: 0.0,
            rel_tolerance: tol,
            max_iters: 5000,
            ..Default::default()
        };
        let info = conjugate_gradient(
            x.as_mat_mut(),
            &precond,
            op,
            rhs.as_mat(),
            params,
            |_| {},
            par,
            MemStack::new(&mut mem),
        )
        .expect("faer CG converges");
        (x.iter().copied().collect::<Vec<f64>>(), info.iter_count)
    };
    let (x1, it1) = ours();
    let (x2, it2) = faer_cg();
    let (r1, r2) = (relative_residual(&a, &x1, &b), relative_residual(&a, &x2, &b));
    eprintln!(
        "solvent cg: {it1} iterations, true relres {r1:.3e}; faer cg: {it2} iterations, true relres {r2:.3e}"
    );
    assert!(it1.abs_diff(it2) <= 2, "iteration counts differ: {it1} vs {it2}");

    let mut g = c.benchmark_group("cg_ic0_poisson_n1e6");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.bench_function("solvent_cg_ic0", |bch| bch.iter(|| ours().1));
    g.bench_function("faer_cg_ic0", |bch| bch.iter(|| faer_cg().1));
    g.finish();
}

criterion_group!(benches, cg_ic0_vs_faer);
criterion_main!(benches);
