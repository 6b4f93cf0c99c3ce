//! Fit a Lasso on a sparse design held in memory with block coordinate descent (the
//! defaults `solvent bcd` uses), and check the duality gap it stops on.
//!
//! `cargo run --release --example lasso`

use solvent::linalg::CsrMatrix;
use solvent::solvers::bcd::{build_glm, Bcd, BcdChoices, GlmSpec, ProblemKind};
use solvent::solvers::{run, Options};

/// Fits, prints the support, checks it found the planted one.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 200 samples, 50 features, about 10% non-zeros; y depends on features 3 and 17 only
    let (m, p) = (200, 50);
    let mut t = Vec::new();
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..m {
        for j in 0..p {
            if next() < 0.1 || j == 3 || j == 17 {
                t.push((i, j, next() * 2.0 - 1.0));
            }
        }
    }
    let x = CsrMatrix::from_triplets(m, p, &t)?;
    let w_true = |j: usize| match j {
        3 => 2.0,
        17 => -1.5,
        _ => 0.0,
    };
    let mut y = vec![0.0; m];
    for &(i, j, v) in &t {
        y[i] += v * w_true(j);
    }
    let spec = GlmSpec {
        lambda_ratio: Some(0.05),
        ..GlmSpec::new(ProblemKind::Lasso)
    };
    let built = build_glm(x, y, &spec)?;
    let dim = solvent::problems::bcd::CoordinateProblem::dim(&built.glm);
    let mut bcd = Bcd::default_for(ProblemKind::Lasso, dim, &BcdChoices::default());
    let out = run(&built.glm, &mut bcd, &Options::default().tol(1e-8))?;
    println!("{}", out.report.summary());
    let support: Vec<usize> = (0..p).filter(|&j| out.state.x[j] != 0.0).collect();
    println!("λ = {:.3e}, support {support:?}", built.lambda);
    assert!(out.report.status.is_converged());
    assert!(support.contains(&3) && support.contains(&17));
    Ok(())
}
