//! Defaults that work: every built-in data-generation family under every strategy, at
//! default settings, converges on a small grid (a value the user never set must never
//! be the error).

use solvent::problems::generators::PdeFamily;
use solvent::solvers::datagen::{generate, DatagenConfig};
use solvent::solvers::sequence::{NoProgress, SequenceConfig, Strategy};

#[test]
fn every_family_converges_under_every_strategy_at_default_settings() {
    let mut failures = Vec::new();
    for &family in PdeFamily::ALL {
        for &strategy in Strategy::ALL {
            let config = DatagenConfig {
                seed: 1,
                sequence: SequenceConfig {
                    strategy,
                    ..SequenceConfig::default()
                },
                // 48² unknowns in 2-D; 12³ = 1728 in 3-D (48³ would dwarf the rest)
                ..DatagenConfig::new(family, if family.dim() == 3 { 12 } else { 48 }, 8)
            };
            let out = generate(&config, &mut NoProgress).unwrap();
            let worst = out.dataset.relres.iter().cloned().fold(0.0, f64::max);
            eprintln!(
                "{family} / {strategy}: {} ({}), worst relres {worst:.1e}",
                out.report.summary(),
                out.report.plan.reason
            );
            if !out.report.failed.is_empty() || worst > config.tol {
                failures.push(format!(
                    "{family} / {strategy}: {} not converged",
                    out.report.failed.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
