//! The shared finite-element systems (assembled by scikit-fem, not by us):
//! every method reproduces the reference solutions.

use solvent::linalg::vector::relative_residual;
use solvent::prelude::*;
mod common;
use common::shared_file as shared;

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

#[test]
fn reads_the_coefficient_fields_as_npy() {
    for k in 0..3 {
        let a = solvent::linalg::io::npy::read(shared(&format!("params_{k:04}.npy"))).unwrap();
        // κ at the 551 mesh nodes
        assert_eq!(a.shape, vec![551]);
        assert_eq!(a.data.len(), 551);
        assert!(
            a.data.iter().all(|v| v.is_finite() && *v > 0.0),
            "κ = exp(GRF) is positive"
        );
    }
}
