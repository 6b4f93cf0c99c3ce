//! The GPU's GCRO-DR against the CPU's: the same algorithm (Jacobi right
//! preconditioning, the same m and k, the harmonic Ritz refresh of
//! `solvent_linalg::small`) on a convection–diffusion sequence. Lives in the facade's
//! tests because it needs both `solvent-gpu` and `solvent-solvers`. Without an adapter
//! it skips, unless `SOLVENT_REQUIRE_GPU` is set (the CI script sets it).

use solvent::gpu::gmres::{gmres, GmresSettings};
use solvent::gpu::{GpuContext, GpuMatrix, GpuRequest, Precision, REQUIRE_GPU_ENV};
use solvent::linalg::vector::relative_residual as relres;
use solvent::problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use std::sync::Arc;

fn ctx() -> Option<Arc<GpuContext>> {
    match GpuContext::new(&GpuRequest { allow_software: true }) {
        Ok(c) => Some(c),
        Err(e) if std::env::var_os(REQUIRE_GPU_ENV).is_some() => {
            panic!("{REQUIRE_GPU_ENV} is set but no adapter could be opened: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

fn precisions(c: &GpuContext) -> Vec<Precision> {
    if c.has_f64() {
        vec![Precision::F32, Precision::F64]
    } else {
        vec![Precision::F32]
    }
}

#[test]
fn gcrodr_recycles_along_a_sequence_like_the_cpu_solver() {
    use solvent::gpu::gcrodr::{GcroDrSettings, GpuGcroDr};
    use solvent::linalg::precond::Jacobi;
    use solvent::problems::LinearSystemProblem;
    use solvent::solvers::krylov::GcroDr;
    use solvent::solvers::{run, Options};
    let Some(c) = ctx() else { return };
    let sampler = PdeSampler::new(PdeFamily::ConvDiff, FamilyConfig::new(24, 1)).unwrap();
    let samples: Vec<_> = (0..4).map(|i| sampler.sample(i).unwrap()).collect();
    let n = samples[0].a.nrows();
    let (m, k) = (30, 10);
    for prec in precisions(&c) {
        let tol = if prec == Precision::F64 { 1e-8 } else { 1e-4 };
        let mut solver = GpuGcroDr::new(&c, n, m, k, prec).unwrap();
        let settings = GcroDrSettings {
            tol,
            max_iters: 5000,
            jacobi: true,
            deadline: None,
        };
        let mut gcro = Vec::new();
        let mut plain = Vec::new();
        for (i, s) in samples.iter().enumerate() {
            let dev = GpuMatrix::new(&c, &s.a, prec).unwrap();
            let r = solver.solve(&dev, &s.b, &settings, false).unwrap();
            assert!(r.converged, "{prec:?} system {i}: estimate {:.2e}", r.est_relres);
            let rr = relres(&s.a, &r.x, &s.b);
            assert!(rr <= 3.0 * tol, "{prec:?} system {i}: true residual {rr:.2e}");
            if i > 0 {
                assert!(
                    r.recycled_at_start > 0,
                    "{prec:?} system {i} started without a recycled space"
                );
            }
            gcro.push(r.iterations);
            let g = gmres(
                &dev,
                &s.b,
                &GmresSettings {
                    tol,
                    restart: m,
                    max_iters: 5000,
                    jacobi: true,
                    deadline: None,
                },
            )
            .unwrap();
            plain.push(g.iterations);
        }
        let (tg, tp): (usize, usize) = (gcro.iter().sum(), plain.iter().sum());
        eprintln!("{prec:?}: GCRO-DR({m},{k}) iterations {gcro:?}, GMRES({m}) {plain:?}");
        assert!(tg < tp, "{prec:?}: GCRO-DR {gcro:?} vs GMRES {plain:?}");
        if prec == Precision::F64 {
            // the same algorithm on the CPU (Jacobi right preconditioning, same m and k)
            let mut cpu = GcroDr::new().restart(m).recycle_dim(k);
            let mut cpu_its = Vec::new();
            for s in &samples {
                cpu.set_preconditioner(Some(Arc::new(Jacobi::new(&s.a).unwrap())));
                let space = cpu.take_recycle();
                cpu.with_recycle(space, false);
                let p = LinearSystemProblem::new(s.a.clone(), s.b.clone()).unwrap();
                let out = run(&p, &mut cpu, &Options::default().tol(tol).max_iters(5000)).unwrap();
                cpu_its.push(out.report.iterations);
            }
            let tc: usize = cpu_its.iter().sum();
            eprintln!("CPU GCRO-DR({m},{k}) iterations {cpu_its:?}");
            let diff = (tg as f64 - tc as f64).abs() / tc as f64;
            assert!(diff <= 0.15, "GPU GCRO-DR {gcro:?} vs CPU {cpu_its:?}");
        }
    }
}
