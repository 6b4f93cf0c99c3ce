//! Solve a sparse system assembled in memory: triplets → CSR → `solve_system`, which
//! picks the method and preconditioner (and says why).
//!
//! `cargo run --release --example solve_triplets`

use solvent::prelude::*;

/// A 1-D Poisson matrix (tridiagonal 2, −1) of order `n` as (row, column, value) triplets.
fn poisson_1d(n: usize) -> Vec<(usize, usize, f64)> {
    let mut t = Vec::with_capacity(3 * n);
    for i in 0..n {
        t.push((i, i, 2.0));
        if i > 0 {
            t.push((i, i - 1, -1.0));
        }
        if i + 1 < n {
            t.push((i, i + 1, -1.0));
        }
    }
    t
}

/// Solves and checks the answer against the known solution.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = 2000;
    let a = CsrMatrix::from_triplets(n, n, &poisson_1d(n))?;
    // b = A x* for x*_i = sin(i): we know the answer
    let x_star: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let mut b = vec![0.0; n];
    a.mul_vec(&x_star, &mut b);
    let problem = LinearSystemProblem::new(a, b)?;
    let sol = solve_system(
        &problem,
        &SolveConfig::new(),
        &Options::default().tol(1e-10),
        &mut [],
    )?;
    println!("{} ({})", sol.report.summary(), sol.plan.reason);
    let err = sol
        .x
        .iter()
        .zip(&x_star)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    println!("largest error against the known solution: {err:.2e}");
    assert!(sol.report.status.is_converged() && err < 1e-6);
    Ok(())
}
