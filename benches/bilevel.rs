//! Bilevel speed, side by side in one run:
//!
//! 1. Quadratic, 100 outer × 100 inner dimensions, 1024 samples per level: gradient calls
//!    (full-gradient equivalents, HVPs counted as gradients) for the penalty method (σ = 1e-4;
//!    also without the tilt and with FISTA inner solves, to show what each gives), AID for
//!    reference and F2SA (λ from 10, +1 per step, up to 1e4) to reach a projected
//!    hypergradient norm of 1e-6, each under a 120 s limit.
//! 2. Hyperparameter selection, ijcnn1-like synthetic data (22 features, 50,000 samples, 30%
//!    validation): validation loss against time for the penalty method (σ = 1e-2) and AID,
//!    with default settings and both with Nesterov momentum on x, 20 s each.
//!
//! `cargo bench --bench bilevel`

use solvent::problems::bilevel::{HyperParam, LogisticData, QuadraticBilevel, QuadraticConfig};
use solvent::solvers::bilevel::{BilevelSolver, Method};
use solvent::solvers::{run, Options, TraceSchedule};
use std::time::Duration;

fn main() {
    let q = QuadraticBilevel::generate(&QuadraticConfig {
        dim_x: 100,
        dim_y: 100,
        upper_samples: 1024,
        lower_samples: 1024,
        condition: 10.0,
        seed: 1,
    })
    .unwrap();
    println!("quadratic 100 × 100, 1024 samples per level, target ‖G‖ ≤ 1e-6:");
    println!("| method | status | outer its | gradient calls | seconds |");
    println!("|---|---|---|---|---|");
    let untilted = BilevelSolver {
        tilt: false,
        ..BilevelSolver::new(Method::Penalty).sigma(1e-4)
    };
    let fista = BilevelSolver {
        lbfgs: false,
        ..BilevelSolver::new(Method::Penalty).sigma(1e-4)
    };
    for (name, solver) in [
        ("penalty σ=1e-4", BilevelSolver::new(Method::Penalty).sigma(1e-4)),
        ("penalty, untilted (y and z to σ·‖G‖)", untilted),
        ("penalty, FISTA inner solves", fista),
        ("aid (reference; HVPs counted)", BilevelSolver::new(Method::Aid)),
        ("f2sa", BilevelSolver::new(Method::F2sa)),
    ] {
        let mut s = solver;
        let opts = Options::default()
            .tol(1e-6)
            .max_iters(1_000_000)
            .time_limit(Duration::from_secs(120));
        let out = run(&q, &mut s, &opts).unwrap();
        println!(
            "| {name} | {} | {} | {:.0} | {:.1} |",
            out.report.status.describe(out.report.metrics.value),
            out.report.iterations,
            out.state.calls.gradients(),
            out.report.elapsed_s
        );
    }

    let all = LogisticData::synthetic(50_000, 22, 7).unwrap();
    let (train, val) = all.split(0.3, 7).unwrap();
    let h = HyperParam::new(train, val).unwrap();
    println!("\nhyperparameter selection, 22 features, 35,000 train / 15,000 validation: validation loss at time t");
    let marks = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0];
    println!("| method | {} |", marks.map(|t| format!("{t} s")).join(" | "));
    println!("|---|{}", "---|".repeat(marks.len()));
    let accelerated = |s: BilevelSolver| BilevelSolver {
        accelerate: true,
        ..s
    };
    for (name, solver) in [
        ("penalty σ=1e-2", BilevelSolver::new(Method::Penalty).sigma(1e-2)),
        ("aid", BilevelSolver::new(Method::Aid)),
        (
            "penalty σ=1e-2, --accelerate",
            accelerated(BilevelSolver::new(Method::Penalty).sigma(1e-2)),
        ),
        ("aid, --accelerate", accelerated(BilevelSolver::new(Method::Aid))),
    ] {
        let mut s = solver;
        let opts = Options::default()
            .tol(1e-9)
            .max_iters(1_000_000)
            .time_limit(Duration::from_secs(20))
            .trace(TraceSchedule::Every(1));
        let out = run(&h, &mut s, &opts).unwrap();
        let at = |t: f64| {
            out.report
                .trace
                .iter()
                .rev()
                .find(|s| s.time_s <= t)
                .and_then(|s| s.metrics.objective)
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "–".into())
        };
        println!("| {name} | {} |", marks.map(at).join(" | "));
    }
}
