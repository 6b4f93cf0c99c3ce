//! Complete a ratings matrix: string ids in, a low-rank model out, predictions (with the
//! training-mean fallback for ids never seen).
//!
//! `cargo run --release --example complete_ratings`

use solvent::problems::completion::Ratings;
use solvent::solvers::completion::{CompletionConfig, RatingsProblem};
use solvent::solvers::Options;

/// Fits a rank-2 model to ratings drawn from one and predicts held-out ones.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // users u0..u59 and items i0..i39 with rating = a_u·b_i (rank 2), about 44% observed for training
    let a = |u: usize| [1.0 + (u % 5) as f64 * 0.2, (u % 3) as f64 * 0.5];
    let b = |i: usize| [1.5 + (i % 4) as f64 * 0.25, 1.0 - (i % 2) as f64];
    let rating = |u: usize, i: usize| a(u)[0] * b(i)[0] + a(u)[1] * b(i)[1];
    let (mut train, mut test) = (Ratings::default(), Ratings::default());
    for u in 0..60 {
        for i in 0..40 {
            let name = (format!("u{u}"), format!("i{i}"));
            // a hash of (u, i) decides: 40% training, 10% test
            let h = (u as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (i as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            match (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 60 {
                0..=6 => train.push(&name.0, &name.1, rating(u, i)),
                7 | 8 => test.push(&name.0, &name.1, rating(u, i)),
                _ => {}
            }
        }
    }
    let model = RatingsProblem::new(train, Some(&test), false);
    let fit = model.fit(
        &CompletionConfig::als(2),
        &Options::default().max_iters(50),
        &mut [],
    )?;
    let rmse = model
        .test_rmse_with_fallback(&fit.state.factors)
        .unwrap_or(f64::NAN);
    println!("{}; test RMSE {rmse:.2e}", fit.report.summary());
    let p = model.predict(&fit.state.factors, "u3", "i5");
    println!("u3 rates i5: predicted {:.4}, true {:.4}", p.value, rating(3, 5));
    assert!(rmse < 1e-3);
    assert!(model.predict(&fit.state.factors, "nobody", "i5").fallback);
    Ok(())
}
