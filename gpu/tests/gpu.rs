//! GPU kernels and solvers against the CPU, on whatever adapter is present (Mesa's
//! lavapipe in CI). Without an adapter the tests skip, unless `SOLVENT_REQUIRE_GPU` is set
//! (the CI script sets it), in which case they fail.

use solvent_gpu::cg::{cg_batch, CgSettings, CgState};
use solvent_gpu::gmres::{gmres, GmresSettings};
use solvent_gpu::refine::{solve, solve_batch};
use solvent_gpu::vector::{axpby, dot, norm2, spmv};
use solvent_gpu::{
    GpuContext, GpuError, GpuMatrix, GpuMethod, GpuOperator, GpuRequest, GpuVector, Precision,
    RefineSettings, SpmvKernel, REQUIRE_GPU_ENV,
};
use solvent_linalg::operator::LinearOperator;
use solvent_linalg::CsrMatrix;
use solvent_problems::generators::{convection_diffusion2d, poisson2d, FamilyConfig, PdeFamily, PdeSampler};
use std::sync::{Arc, OnceLock};

fn ctx() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    CTX.get_or_init(|| match GpuContext::new(&GpuRequest { allow_software: true }) {
        Ok(c) => {
            eprintln!("GPU tests on {}", c.describe());
            Some(c)
        }
        Err(e) if std::env::var_os(REQUIRE_GPU_ENV).is_some() => {
            panic!("{REQUIRE_GPU_ENV} is set but no adapter could be opened: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    })
    .clone()
}

fn precisions(c: &GpuContext) -> Vec<Precision> {
    if c.has_f64() {
        vec![Precision::F32, Precision::F64]
    } else {
        vec![Precision::F32]
    }
}

/// A deterministic pseudo-random sequence in [−1, 1).
fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// A matrix with long rows (rows of 40–200 entries), to exercise the cooperative kernel.
fn long_rows(n: usize) -> CsrMatrix {
    let mut t = Vec::new();
    let vals = pseudo(n * 200, 7);
    let mut v = vals.iter();
    for i in 0..n {
        let len = 40 + (i * 37) % 160;
        for k in 0..len {
            t.push((i, (i * 13 + k * 7) % n, *v.next().unwrap()));
        }
    }
    CsrMatrix::from_triplets(n, n, &t).unwrap()
}

/// |y_gpu − y_cpu| ≤ (len + 2)·u·Σ|a_ij||x_j| + (tiny) per row: the rounding of the
/// inputs to the device precision (two roundings per product term) plus a recursive sum
/// of len terms.
fn check_spmv(c: &Arc<GpuContext>, a: &CsrMatrix, prec: Precision, kernel: SpmvKernel) {
    let n = a.nrows();
    let x = pseudo(n, 3);
    let dev = GpuMatrix::new(c, a, prec).unwrap().with_kernel(kernel);
    let gx = GpuVector::from_slice(c, &x, 1, prec).unwrap();
    let gy = GpuVector::zeros(c, n, 1, prec).unwrap();
    spmv(&dev, &gx, &gy).unwrap();
    let y = gy.to_vec().unwrap();
    let u = prec.eps();
    for (i, &yi) in y.iter().enumerate() {
        let (cols, vals) = a.row(i);
        let exact: f64 = cols.iter().zip(vals).map(|(&j, v)| v * x[j as usize]).sum();
        let mag: f64 = cols
            .iter()
            .zip(vals)
            .map(|(&j, v)| (v * x[j as usize]).abs())
            .sum();
        let bound = (cols.len() as f64 + 3.0) * u * mag + 1e-300;
        assert!(
            (yi - exact).abs() <= bound,
            "{prec:?} {kernel:?} row {i} (length {}): error {:.3e} > bound {bound:.3e}",
            cols.len(),
            (yi - exact).abs()
        );
    }
}

#[test]
fn spmv_matches_cpu_within_rounding_bound() {
    let Some(c) = ctx() else { return };
    let poisson = poisson2d(40).unwrap();
    let long = long_rows(500);
    for prec in precisions(&c) {
        for kernel in [SpmvKernel::Row, SpmvKernel::Warp] {
            check_spmv(&c, &poisson, prec, kernel);
            check_spmv(&c, &long, prec, kernel);
        }
    }
    // the automatic pick follows the row length
    assert_eq!(
        GpuMatrix::new(&c, &poisson, Precision::F32).unwrap().kernel(),
        SpmvKernel::Row
    );
    assert_eq!(
        GpuMatrix::new(&c, &long, Precision::F32).unwrap().kernel(),
        SpmvKernel::Warp
    );
}

#[test]
fn batched_spmv_uses_each_systems_values() {
    let Some(c) = ctx() else { return };
    let a = poisson2d(12).unwrap();
    let n = a.nrows();
    let k = 3;
    let values: Vec<f64> = (0..k)
        .flat_map(|s| a.values().iter().map(move |v| v * (s + 1) as f64))
        .collect();
    let x = pseudo(n * k, 9);
    let prec = Precision::F32;
    let dev = GpuMatrix::batch(&c, &a, &values, prec).unwrap();
    let gx = GpuVector::from_slice(&c, &x, k, prec).unwrap();
    let gy = GpuVector::zeros(&c, n, k, prec).unwrap();
    spmv(&dev, &gx, &gy).unwrap();
    let y = gy.to_vec().unwrap();
    for s in 0..k {
        let mut want = vec![0.0; n];
        a.mul_vec(&x[s * n..(s + 1) * n], &mut want);
        for i in 0..n {
            let w = want[i] * (s + 1) as f64;
            assert!(
                (y[s * n + i] - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "system {s} row {i}"
            );
        }
    }
}

#[test]
fn reductions_and_axpby_match_cpu() {
    let Some(c) = ctx() else { return };
    for prec in precisions(&c) {
        for &n in &[1usize, 255, 256, 1000, 300_000] {
            let x = pseudo(2 * n, 1);
            let y = pseudo(2 * n, 2);
            let gx = GpuVector::from_slice(&c, &x, 2, prec).unwrap();
            let gy = GpuVector::from_slice(&c, &y, 2, prec).unwrap();
            let d = dot(&gx, &gy).unwrap();
            let nr = norm2(&gx).unwrap();
            let u = prec.eps();
            for s in 0..2 {
                let (xs, ys) = (&x[s * n..(s + 1) * n], &y[s * n..(s + 1) * n]);
                let exact: f64 = xs.iter().zip(ys).map(|(a, b)| a * b).sum();
                let mag: f64 = xs.iter().zip(ys).map(|(a, b)| (a * b).abs()).sum();
                // two-level reduction: depth ≤ n/threads + log2(256) + log2(partials) ≪ n
                let bound = (n as f64 + 3.0) * u * mag;
                assert!(
                    (d[s] - exact).abs() <= bound,
                    "{prec:?} n={n}: dot error {:.2e} > {bound:.2e}",
                    (d[s] - exact).abs()
                );
                let en = xs.iter().map(|a| a * a).sum::<f64>().sqrt();
                assert!(
                    (nr[s] - en).abs() <= (n as f64 + 3.0) * u * en,
                    "{prec:?} n={n}: norm"
                );
            }
            axpby(&[(2.0, -1.0), (0.5, 3.0)], &gx, &gy).unwrap();
            let z = gy.to_vec().unwrap();
            for (s, (al, be)) in [(2.0, -1.0), (0.5, 3.0)].into_iter().enumerate() {
                for i in (0..n).step_by(97) {
                    let w = al * x[s * n + i] + be * y[s * n + i];
                    assert!(
                        (z[s * n + i] - w).abs() <= 8.0 * u * (1.0 + w.abs()),
                        "axpby {prec:?}"
                    );
                }
            }
        }
    }
}

fn relres(a: &CsrMatrix, x: &[f64], b: &[f64]) -> f64 {
    let mut r = vec![0.0; b.len()];
    a.mul_vec(x, &mut r);
    let num: f64 = r
        .iter()
        .zip(b)
        .map(|(ax, bi)| (bi - ax).powi(2))
        .sum::<f64>()
        .sqrt();
    num / b.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn cg_reaches_tolerance_and_refinement_reaches_1e10() {
    let Some(c) = ctx() else { return };
    let a = poisson2d(48).unwrap();
    let b = pseudo(a.nrows(), 5);
    for prec in precisions(&c) {
        // plain device CG to what the precision allows, true residual checked in f64
        let tol = if prec == Precision::F64 { 1e-8 } else { 1e-4 };
        let dev = GpuMatrix::new(&c, &a, prec).unwrap();
        let res = cg_batch(
            &dev,
            &b,
            &CgSettings {
                tol,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(res.state[0], CgState::Converged);
        let rr = relres(&a, &res.x, &b);
        assert!(rr <= 2.0 * tol, "{prec:?}: device CG true residual {rr:.2e}");
        // refined to 1e-10
        let out = solve(&c, &a, &b, &RefineSettings::new(GpuMethod::Cg, 1e-10, prec)).unwrap();
        assert!(
            out.converged && out.relres <= 1e-10,
            "{prec:?}: refined CG {:?}",
            (out.relres, out.rounds)
        );
        assert!(relres(&a, &out.x, &b) <= 1e-10);
        if prec == Precision::F32 {
            assert!(out.rounds >= 2, "f32 needs refinement to reach 1e-10");
        }
    }
}

#[test]
fn gmres_solves_nonsymmetric_system_with_refinement() {
    let Some(c) = ctx() else { return };
    let a = convection_diffusion2d(32, 0.01, 1.0, 0.5).unwrap();
    let b = pseudo(a.nrows(), 11);
    for prec in precisions(&c) {
        let tol = if prec == Precision::F64 { 1e-8 } else { 1e-4 };
        let dev = GpuMatrix::new(&c, &a, prec).unwrap();
        let res = gmres(
            &dev,
            &b,
            &GmresSettings {
                tol,
                restart: 30,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(res.converged, "{prec:?} GMRES estimate {:.2e}", res.est_relres);
        assert!(
            relres(&a, &res.x, &b) <= 2.0 * tol,
            "{prec:?}: GMRES true residual"
        );
        let mut s = RefineSettings::new(GpuMethod::Gmres, 1e-10, prec);
        s.restart = 30;
        let out = solve(&c, &a, &b, &s).unwrap();
        assert!(
            out.converged && relres(&a, &out.x, &b) <= 1e-10,
            "{prec:?}: refined GMRES {:?}",
            out.relres
        );
    }
}

#[test]
fn batched_cg_equals_one_by_one() {
    let Some(c) = ctx() else { return };
    let sampler = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(20, 3)).unwrap();
    let k = 5;
    let samples: Vec<_> = (0..k).map(|i| sampler.sample(i).unwrap()).collect();
    let pattern = &samples[0].a;
    let values: Vec<f64> = samples.iter().flat_map(|s| s.a.values().to_vec()).collect();
    let rhs: Vec<f64> = samples.iter().flat_map(|s| s.b.clone()).collect();
    let n = pattern.nrows();
    for prec in precisions(&c) {
        let tol = if prec == Precision::F64 { 1e-9 } else { 1e-5 };
        let settings = CgSettings {
            tol,
            ..Default::default()
        };
        let batch = cg_batch(
            &GpuMatrix::batch(&c, pattern, &values, prec).unwrap(),
            &rhs,
            &settings,
        )
        .unwrap();
        for (i, s) in samples.iter().enumerate() {
            let one = cg_batch(&GpuMatrix::new(&c, &s.a, prec).unwrap(), &s.b, &settings).unwrap();
            assert_eq!(
                batch.iterations[i], one.iterations[0],
                "{prec:?} system {i}: iterations"
            );
            assert_eq!(
                &batch.x[i * n..(i + 1) * n],
                &one.x[..],
                "{prec:?} system {i}: solution differs"
            );
            assert_eq!(one.state[0], CgState::Converged);
        }
        // and the refined batch meets 1e-10 on every system
        let outs = solve_batch(
            &c,
            pattern,
            &values,
            &rhs,
            &RefineSettings::new(GpuMethod::Cg, 1e-10, prec),
        )
        .unwrap();
        for (o, s) in outs.iter().zip(&samples) {
            assert!(
                o.converged && relres(&s.a, &o.x, &s.b) <= 1e-10,
                "{prec:?}: {:?}",
                o.relres
            );
        }
    }
}

#[test]
fn operator_applies_on_device() {
    let Some(c) = ctx() else { return };
    let a = convection_diffusion2d(20, 0.1, 1.0, -1.0).unwrap();
    let x = pseudo(a.nrows(), 4);
    let op = GpuOperator::new(&c, a.clone(), Precision::F32).unwrap();
    let mut y = vec![0.0; a.nrows()];
    op.apply(&x, &mut y);
    let mut want = vec![0.0; a.nrows()];
    a.mul_vec(&x, &mut want);
    for (g, w) in y.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()));
    }
    assert_eq!(op.nrows(), a.nrows());
    assert!(op.as_csr().is_some());
}

#[test]
fn bad_input_gives_typed_errors() {
    use solvent_gpu::gcrodr::GpuGcroDr;
    let Some(c) = ctx() else { return };
    let a = poisson2d(10).unwrap();
    // NaN in the matrix
    let mut vals = a.values().to_vec();
    vals[17] = f64::NAN;
    match GpuMatrix::batch(&c, &a, &vals, Precision::F32) {
        Err(GpuError::NonFinite { index: 17, .. }) => {}
        other => panic!("expected NonFinite at 17, got {other:?}"),
    }
    // NaN in the right-hand side
    let mut b = vec![1.0; a.nrows()];
    b[3] = f64::INFINITY;
    let dev = GpuMatrix::new(&c, &a, Precision::F32).unwrap();
    assert!(matches!(
        cg_batch(&dev, &b, &CgSettings::default()),
        Err(GpuError::NonFinite { index: 3, .. })
    ));
    // a matrix over the (lowered) storage-binding limit: a clear error, not a crash
    let small = GpuContext::with_binding_limit(&c, 1024).unwrap();
    let err = GpuMatrix::new(&small, &a, Precision::F32).unwrap_err();
    assert!(matches!(err, GpuError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("1024"), "{err}");
    // indefinite matrix: CG reports the breakdown instead of returning garbage
    let neg: Vec<f64> = a.values().iter().map(|v| -v).collect();
    let dev = GpuMatrix::batch(&c, &a, &neg, Precision::F32).unwrap();
    let res = cg_batch(
        &dev,
        &vec![1.0; a.nrows()],
        &CgSettings {
            jacobi: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(res.state[0], CgState::Breakdown);
    // Jacobi on a negative diagonal is refused up front
    assert!(matches!(
        cg_batch(&dev, &vec![1.0; a.nrows()], &CgSettings::default()),
        Err(GpuError::Setting(_))
    ));
    // wrong sizes
    assert!(matches!(
        GpuVector::from_slice(&c, &[1.0, 2.0, 3.0], 2, Precision::F32),
        Err(GpuError::Shape(_))
    ));
    let f32cg = RefineSettings::new(GpuMethod::Cg, 1e-8, Precision::F32);
    assert!(matches!(
        solve_batch(&c, &a, a.values(), &[1.0; 7], &f32cg),
        Err(GpuError::Shape(_))
    ));
    assert!(matches!(solve(&c, &a, &[], &f32cg), Err(GpuError::Shape(_))));
    // aliasing input and output
    let v = GpuVector::from_slice(&c, &vec![1.0; a.nrows()], 1, Precision::F32).unwrap();
    let dev = GpuMatrix::new(&c, &a, Precision::F32).unwrap();
    assert!(matches!(spmv(&dev, &v, &v), Err(GpuError::Shape(_))));
    // GCRO-DR settings out of range (restart 1; (m+1)·k over the dispatch limit)
    assert!(matches!(
        GpuGcroDr::new(&c, 100, 1, 1, Precision::F32),
        Err(GpuError::Setting(_))
    ));
    assert!(matches!(
        GpuGcroDr::new(&c, 100, 400, 300, Precision::F32),
        Err(GpuError::Setting(_))
    ));
}

#[test]
fn refinement_handles_tiny_and_huge_right_hand_sides() {
    let Some(c) = ctx() else { return };
    let a = poisson2d(16).unwrap();
    for scale in [1e-30, 1e25] {
        let b: Vec<f64> = pseudo(a.nrows(), 8).iter().map(|v| v * scale).collect();
        for method in [GpuMethod::Cg, GpuMethod::Gmres, GpuMethod::Gcrodr] {
            let out = solve(&c, &a, &b, &RefineSettings::new(method, 1e-10, Precision::F32)).unwrap();
            assert!(
                out.converged,
                "{method:?} at scale {scale:e}: {:?}",
                (out.relres, &out.note)
            );
            assert!(relres(&a, &out.x, &b) <= 1e-10);
        }
    }
}

#[test]
fn batched_gmres_equals_one_by_one() {
    use solvent_gpu::gmres::gmres_batch;
    let Some(c) = ctx() else { return };
    let sampler = PdeSampler::new(PdeFamily::ConvDiff, FamilyConfig::new(16, 5)).unwrap();
    let samples: Vec<_> = (0..4).map(|i| sampler.sample(i).unwrap()).collect();
    let pattern = &samples[0].a;
    let values: Vec<f64> = samples.iter().flat_map(|s| s.a.values().to_vec()).collect();
    let rhs: Vec<f64> = samples.iter().flat_map(|s| s.b.clone()).collect();
    for prec in precisions(&c) {
        let tol = if prec == Precision::F64 { 1e-9 } else { 1e-4 };
        let settings = GmresSettings {
            tol,
            restart: 12,
            ..Default::default()
        };
        let batch = gmres_batch(
            &GpuMatrix::batch(&c, pattern, &values, prec).unwrap(),
            &rhs,
            &settings,
        )
        .unwrap();
        for (i, s) in samples.iter().enumerate() {
            let one = gmres(&GpuMatrix::new(&c, &s.a, prec).unwrap(), &s.b, &settings).unwrap();
            assert!(one.converged);
            assert_eq!(
                batch[i].iterations, one.iterations,
                "{prec:?} system {i}: iterations"
            );
            assert_eq!(batch[i].x, one.x, "{prec:?} system {i}: solution differs");
            assert!(relres(&s.a, &batch[i].x, &s.b) <= 3.0 * tol);
        }
        let mut rs = RefineSettings::new(GpuMethod::Gmres, 1e-10, prec);
        rs.restart = 12;
        let outs = solve_batch(&c, pattern, &values, &rhs, &rs).unwrap();
        for (o, s) in outs.iter().zip(&samples) {
            assert!(
                o.converged && relres(&s.a, &o.x, &s.b) <= 1e-10,
                "{prec:?}: {:?}",
                o.relres
            );
        }
    }
}
