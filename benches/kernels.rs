//! Kernel benches, each measured side by side with its yardstick in one run:
//!
//! - `spmv_vs_copy`: CSR SpMV on the 2-D Poisson matrix with n = 10⁶ against a
//!   parallel streaming copy that moves the same number of bytes (read + write).
//!   Both report throughput in bytes/s; the ratio is the bandwidth fraction.
//! - `gmres_iteration`: 80 GMRES(40) iterations (two full cycles, restarts
//!   included) on the same n = 10⁶ Poisson matrix against one SpMV plus one
//!   CGS2 pass over 20 vectors (the average basis size of a 40-vector cycle);
//!   per-iteration cost = time/80.
//! - `cgs2_n1e4`: the orthogonalisation of one Krylov step at n = 10⁴ (where the
//!   sequence benches live and the kernels run serially, from L2 up to ~25 vectors and
//!   from L3 beyond): `h = Vᵀw` alone and a
//!   whole CGS2 pass (whose second pass, as in a real solve, is skipped: the basis is
//!   orthonormal; the 80 KB copy that resets `w` is inside the timing), against 20, 30
//!   and 75 vectors (the average bases of GMRES(40),
//!   GCRO-DR(40, 20) and GCRO-DR(100, 50)); and one SpMV with the 5-point pattern.
//! - `cg_parts`: the pieces of a CG + IC(0) iteration at n = 10⁶ (and an ILU(0) application).
//!
//! Run: `cargo bench --bench kernels` (prints criterion's figures).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rayon::prelude::*;
use solvent::linalg::gram_schmidt::{cgs2, project, Basis};
use solvent::linalg::precond::{Ic0, Ilu0};
use solvent::linalg::vector::{axpy, dot, scale};
use solvent::linalg::Preconditioner;
use solvent::prelude::*;
use solvent::problems::generators::poisson2d;
use solvent::solvers::TraceSchedule;
use std::hint::black_box;
use std::time::Duration;

/// Bytes a CSR SpMV moves with u32 indices: values and column indices once,
/// row pointers once, x read once (at least) and y written once.
fn spmv_bytes(a: &CsrMatrix) -> u64 {
    (a.nnz() * (8 + 4) + (a.nrows() + 1) * 4 + a.ncols() * 8 + a.nrows() * 8) as u64
}

fn spmv_vs_copy(c: &mut Criterion) {
    let a = poisson2d(1000).unwrap();
    let n = a.nrows();
    let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let mut y = vec![0.0; n];
    let bytes = spmv_bytes(&a);
    // the copy reads half and writes half of the same byte count
    let len = (bytes / 2 / 8) as usize;
    let src: Vec<f64> = (0..len).map(|i| i as f64).collect();
    let mut dst = vec![0.0; len];
    let mut g = c.benchmark_group("spmv_vs_copy");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(30).measurement_time(Duration::from_secs(6));
    g.bench_function("spmv_poisson_n1e6", |b| {
        b.iter(|| a.mul_vec(black_box(&x), black_box(&mut y)))
    });
    g.bench_function("stream_copy_same_bytes", |b| {
        b.iter(|| {
            dst.par_chunks_mut(1 << 16)
                .zip(src.par_chunks(1 << 16))
                .for_each(|(d, s)| d.copy_from_slice(s));
            black_box(&dst);
        })
    });
    g.finish();
}

fn gmres_iteration(c: &mut Criterion) {
    let a = poisson2d(1000).unwrap();
    let n = a.nrows();
    let problem = LinearSystemProblem::new(a.clone(), vec![1.0; n]).unwrap();
    let opts = Options::default()
        .tol(1e-30)
        .max_iters(80)
        .trace(TraceSchedule::Off);
    let mut g = c.benchmark_group("gmres_iteration");
    g.sample_size(10).measurement_time(Duration::from_secs(40));
    g.bench_function("gmres40_80_iterations", |b| {
        b.iter(|| {
            let out = run(&problem, &mut Gmres::new().restart(40), &opts).unwrap();
            assert_eq!(out.report.iterations, 80);
            black_box(out.state.x[0])
        })
    });
    let mut basis = Basis::zeros(n, 21);
    for j in 0..21 {
        let col: Vec<f64> = (0..n).map(|i| ((i * (j + 3)) % 101) as f64 - 50.0).collect();
        basis.col_mut(j).copy_from_slice(&col);
        let nrm = dot(&col, &col).sqrt();
        scale(1.0 / nrm, basis.col_mut(j));
    }
    let v: Vec<f64> = basis.col(20).to_vec();
    let mut w = vec![0.0; n];
    let (mut h, mut s) = (vec![0.0; 20], vec![0.0; 20]);
    g.bench_function("spmv_plus_cgs2_20_vectors", |b| {
        b.iter(|| {
            a.mul_vec(&v, &mut w);
            black_box(cgs2(basis.first(20), n, &mut w, &mut h, &mut s))
        })
    });
    g.finish();
}

/// `cols` orthonormal vectors of length `n` (thin QR of a fixed pseudo-random matrix): a
/// Krylov basis as CGS2 sees it, so its second pass is skipped as in a real solve.
fn orthonormal_basis(n: usize, cols: usize) -> Basis {
    let raw = faer::Mat::<f64>::from_fn(n, cols, |i, j| {
        ((i * (j + 3) * 7919) % 1013) as f64 / 1013.0 - 0.5
    });
    let q = raw.qr().compute_thin_Q();
    let mut basis = Basis::zeros(n, cols);
    for j in 0..cols {
        for (i, x) in basis.col_mut(j).iter_mut().enumerate() {
            *x = q[(i, j)];
        }
    }
    basis
}

fn cgs2_n1e4(c: &mut Criterion) {
    let n = 10_000;
    let basis = orthonormal_basis(n, 75);
    let w0: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1013) as f64 / 1013.0 - 0.5)
        .collect();
    let mut g = c.benchmark_group("cgs2_n1e4");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for j in [20, 30, 75] {
        let (mut h, mut s) = (vec![0.0; j], vec![0.0; j]);
        g.bench_function(format!("project_{j}"), |b| {
            b.iter(|| {
                project(basis.first(j), n, black_box(&w0), &mut h);
                black_box(h[0])
            })
        });
        let mut w = w0.clone();
        g.bench_function(format!("cgs2_{j}"), |b| {
            b.iter(|| {
                w.copy_from_slice(&w0);
                black_box(cgs2(basis.first(j), n, &mut w, &mut h, &mut s))
            })
        });
    }
    // the other half of a Krylov step at this size: one serial SpMV with the 5-point
    // pattern of the sequence benches' Darcy matrices
    let a = poisson2d(100).unwrap();
    let mut y = vec![0.0; n];
    g.bench_function("spmv", |b| b.iter(|| a.mul_vec(black_box(&w0), &mut y)));
    g.finish();
}

fn cg_parts(c: &mut Criterion) {
    let a = poisson2d(1000).unwrap();
    let n = a.nrows();
    let ic0 = Ic0::new(&a).unwrap();
    let ilu0 = Ilu0::new(&a).unwrap();
    let r: Vec<f64> = (0..n).map(|i| (i as f64 * 0.1).cos()).collect();
    let mut z = vec![0.0; n];
    let mut g = c.benchmark_group("cg_parts_n1e6");
    g.sample_size(20);
    g.bench_function("spmv", |b| b.iter(|| a.mul_vec(black_box(&r), &mut z)));
    g.bench_function("ic0_apply", |b| b.iter(|| ic0.apply(black_box(&r), &mut z)));
    g.bench_function("ilu0_apply", |b| b.iter(|| ilu0.apply(black_box(&r), &mut z)));
    g.bench_function("dot", |b| b.iter(|| black_box(dot(&r, &z))));
    g.bench_function("axpy", |b| b.iter(|| axpy(0.5, black_box(&r), &mut z)));
    g.finish();
}

criterion_group!(benches, spmv_vs_copy, gmres_iteration, cgs2_n1e4, cg_parts);
criterion_main!(benches);
