//! The shared finite-element systems (assembled by scikit-fem, not by us):
//! every method reproduces the reference solutions.

use solvent::linalg::vector::relative_residual;
use solvent::prelude::*;
use std::path::PathBuf;

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/fem-poisson-disk")
        .join(name)
}

#[test]
fn every_method_reproduces_the_reference_solutions() {
    for k in 0..3 {
        let a = read_matrix(shared(&format!("A_{k:04}.mtx"))).unwrap();
        assert_eq!((a.nrows(), a.nnz()), (475, 3165));
        assert!(a.is_symmetric(1e-14));
        let b = read_vector(shared(&format!("b_{k:04}.mtx"))).unwrap();
        let x_ref = read_vector(shared(&format!("x_{k:04}.mtx"))).unwrap();
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
            let s = solve_system(&p, &cfg, &Options::default().tol(1e-10), &mut []).unwrap();
            assert!(
                s.report.status.is_converged(),
                "system {k} {m:?}: {:?}",
                s.report.status
            );
            assert!(relative_residual(&a, &s.x, &b) <= 1e-10);
            let err: f64 =
                s.x.iter()
                    .zip(&x_ref)
                    .map(|(u, v)| (u - v).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    / x_ref.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!(
                err < 1e-7,
                "system {k} {m:?}: relative error {err:.2e} against the reference"
            );
        }
    }
}
