//! Helpers shared by the end-to-end tests: running the `solvent` binary and
//! finding the test data that ships in `tests/data`.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the built `solvent` binary with `args`.
pub fn solvent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solvent"))
        .args(args)
        .output()
        .expect("run solvent")
}

/// Its standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The finite-element test sequence that ships with the repository
/// (`tests/data/fem-poisson-disk`: A_000k.mtx, b_000k.mtx, x_000k.mtx reference
/// solutions, params_000k.npy). Every test reads it through this one helper.
#[allow(dead_code)]
pub fn shared() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fem-poisson-disk")
}

/// One file of the finite-element test sequence ([`shared`]).
#[allow(dead_code)]
pub fn shared_file(name: &str) -> std::path::PathBuf {
    shared().join(name)
}

/// Checks the x_000k.mtx that a `solve-seq` run wrote to `out` against the shared
/// systems (relative residual ≤ 1e-10) and reference solutions (max error ≤ 1e-6 of the
/// largest entry); returns each system's relative residual.
#[allow(dead_code)]
pub fn check_shared_solutions(out: &std::path::Path, label: &str) -> Vec<f64> {
    use solvent::linalg::io::matrix_market;
    (0..3)
        .map(|k| {
            let a = matrix_market::read_matrix(shared().join(format!("A_{k:04}.mtx"))).unwrap();
            let b = matrix_market::read_vector(shared().join(format!("b_{k:04}.mtx"))).unwrap();
            let x_ref = matrix_market::read_vector(shared().join(format!("x_{k:04}.mtx"))).unwrap();
            let x = matrix_market::read_vector(out.join(format!("x_{k:04}.mtx"))).unwrap();
            let res = solvent::linalg::vector::relative_residual(&a, &x, &b);
            assert!(res <= 1e-10, "{label} system {k}: {res:.2e}");
            let scale = x_ref.iter().map(|v| v.abs()).fold(0.0, f64::max);
            let err = x
                .iter()
                .zip(&x_ref)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err <= 1e-6 * scale, "{label} system {k}: error {err:.2e}");
            res
        })
        .collect()
}
