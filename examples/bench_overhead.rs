//! What `solvent bench` adds to a run's measured time: the same Lasso solve, to the same iteration count (the lasso
//! suite's 0.01 λ_max problem, BCD with its defaults, to a duality gap of 1e-6) timed
//! outside the harness — the run loop's solver time of a library call with no trace,
//! and `Instant` around that call (which also counts the gap measured at the start and
//! the end) — and inside it — the harness's recorded time (the run loop's solver time
//! with the harness's trace, measurements excluded) — interleaved, `REPS` times each;
//! medians and their ratios.
//!
//! `cargo run --example bench_overhead [REPS]` (the dev profile is optimised).

use solvent::bench::problems::{make, Made};
use solvent::bench::runners;
use solvent::bench::suite::Suite;
use solvent::problems::bcd::CoordinateProblem;
use solvent::solvers::bcd::{Bcd, BcdChoices};
use solvent::solvers::{Options, TraceSchedule};
use std::time::Instant;

const SUITE: &str = r#"
name = "overhead"
target = 1e-6
[[problems]]
name = "sparse-2000x10000-0.01"
kind = "lasso"
params = { samples = 2000, features = 10000, density = 0.003, informative = 50, noise = 0.1, lambda_ratio = 0.01 }
[[solvers]]
name = "bcd"
solver = "bcd"
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(11);
    let suite = Suite::parse(SUITE, "overhead")?;
    let made = make(&suite.problems[0], 0)?;
    let Made::Glm { built, kind, .. } = &made else {
        unreachable!("a lasso problem")
    };
    let config = &suite.configs()[0];
    let (mut outside, mut wall, mut inside) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let run = runners::run(config, &made, 1e-6, 60.0);
        let last = run.trace.last().expect("a trace");
        inside.push(last.time_s);
        // the same number of iterations outside (the harness's trace measures the gap more
        // often than a run without one, so it may stop sooner at the same tolerance)
        let mut bcd = Bcd::default_for(*kind, built.glm.dim(), &BcdChoices::default());
        let options = Options::default()
            .tol(f64::MIN_POSITIVE)
            .max_iters(last.iterations as usize)
            .trace(TraceSchedule::Off);
        let t = Instant::now();
        let out = solvent::run(&built.glm, &mut bcd, &options)?;
        wall.push(t.elapsed().as_secs_f64());
        outside.push(out.report.elapsed_s);
        assert_eq!(out.report.iterations as u64, last.iterations);
    }
    let (o, w, i) = (median(outside), median(wall), median(inside));
    println!("outside the harness, solver time (library call, no trace): median {o:.4} s");
    println!("outside the harness, wall time of that call:               median {w:.4} s");
    println!("inside the harness, recorded time:                         median {i:.4} s");
    println!(
        "inside / outside solver time: {:.3}; inside / outside wall: {:.3} ({reps} runs each, interleaved)",
        i / o,
        i / w
    );
    Ok(())
}
