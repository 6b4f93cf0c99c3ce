//! `solvent bilevel`: bilevel optimization by first-order penalty methods (and the F2SA and
//! implicit-differentiation baselines) on built-in problems or svmlight data.

use super::{check_output_path, named, run_options, run_with_progress, write_json, CliError};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::json;
use solvent_problems::bilevel::{
    Bilevel, Boxed, HyperCleaning, HyperParam, LogisticData, QuadraticBilevel, QuadraticConfig, Set,
    ToyBilevel,
};
use solvent_solvers::bilevel::{BilevelSolver, BilevelState, Method, Sigma};
use solvent_solvers::{Envelope, Outcome, Report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Built-in problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BilevelProblem {
    /// Quadratic levels with a closed-form solution (--dim-x, --dim-y, --samples, --condition).
    Quadratic,
    /// Per-feature L2 hyperparameters of logistic regression (--data, or synthetic ijcnn1-like).
    Hyperparam,
    /// One weight per training sample, --corrupt of the labels flipped (--data or synthetic).
    Hypercleaning,
    /// The nonconvex toy: g = (x+y)² + x sin²(x+y), x ∈ [0, 3].
    Toy,
}

/// Arguments of `solvent bilevel`.
#[derive(Debug, Args)]
pub struct BilevelArgs {
    /// The problem.
    #[arg(long, value_enum, default_value = "quadratic")]
    pub problem: BilevelProblem,
    /// svmlight data for hyperparam / hypercleaning (labels ±1 or 0/1); default: synthetic.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Synthetic data: samples (ijcnn1-like, 22 features).
    #[arg(long, default_value_t = 5000)]
    pub samples: usize,
    /// Synthetic data: features.
    #[arg(long, default_value_t = 22)]
    pub features: usize,
    /// Fraction of the data held out as the validation (upper-level) set.
    #[arg(long, default_value_t = 0.3)]
    pub val_frac: f64,
    /// hypercleaning: fraction of training labels flipped, in [0, 1) (default 0.3).
    #[arg(long)]
    pub corrupt: Option<f64>,
    /// quadratic: dimension of x.
    #[arg(long, default_value_t = 10)]
    pub dim_x: usize,
    /// quadratic: dimension of y.
    #[arg(long, default_value_t = 10)]
    pub dim_y: usize,
    /// quadratic: samples per level.
    #[arg(long, default_value_t = 64)]
    pub level_samples: usize,
    /// quadratic: condition number of the lower Hessian.
    #[arg(long, default_value_t = 10.0)]
    pub condition: f64,
    /// Box on x, `LO,HI` (same bounds on every coordinate).
    #[arg(long)]
    pub x_box: Option<String>,
    /// Box on y, `LO,HI`.
    #[arg(long)]
    pub y_box: Option<String>,
    /// The solver: penalty (deterministic double loop), penalty-stoch (minibatches),
    /// penalty-single-loop (one gradient step on each lower variable per outer step, in the
    /// tilted variables that keep it stable at small σ, momentum on the hypergradient;
    /// full batch or minibatches), f2sa (penalty
    /// weight increasing), aid (approximate implicit differentiation: CG on the lower
    /// Hessian).
    #[arg(long, value_parser = named::<Method>(), default_value = "penalty")]
    pub solver: Method,
    /// Penalty parameter σ (F2SA: its start, λ₀ = 1/σ). Default 1e-4 (F2SA 0.1).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Decrease σ geometrically to this floor (factor --sigma-factor per outer step).
    #[arg(long)]
    pub sigma_min: Option<f64>,
    /// Factor of the geometric σ schedule.
    #[arg(long, default_value_t = 0.9)]
    pub sigma_factor: f64,
    /// Minibatch size (stochastic solvers).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Inner steps per outer step (F2SA, penalty-stoch).
    #[arg(long, default_value_t = 10)]
    pub inner_steps: usize,
    /// Inner tolerance factor: penalty solves z to factor·‖G‖ and y to factor·σ·‖G‖ (with
    /// --no-tilt both to factor·σ·‖G‖); AID its lower problem and CG to 0.1·factor·‖G‖.
    #[arg(long, default_value_t = 0.1)]
    pub inner_tol: f64,
    /// penalty, aid: Nesterov momentum on x with gradient restarts.
    #[arg(long)]
    pub accelerate: bool,
    /// penalty: solve both inner problems to σ·‖G‖ from their own warm starts, as published,
    /// instead of z first and y on the problem tilted by z's gradient mapping.
    #[arg(long)]
    pub no_tilt: bool,
    /// penalty, aid: inner solves by the accelerated projected gradient (FISTA) even when Y
    /// is free (default there: L-BFGS carrying its curvature pairs across outer steps).
    #[arg(long)]
    pub fista: bool,
    /// Fixed outer step (default: adaptive, 1/L from secant estimates).
    #[arg(long)]
    pub step: Option<f64>,
    /// Most outer iterations (default 1000; 500,000 for penalty-single-loop, whose outer
    /// steps are single gradient steps).
    #[arg(long)]
    pub max_iters: Option<usize>,
    /// Tolerance on the projected hypergradient norm.
    #[arg(long, default_value_t = 1e-6)]
    pub tol: f64,
    /// Stop after this many seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Seed (data, split, corruption, minibatches).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write {"x": [...], "y": [...]} here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write `--out` even when the run did not converge (the last iterate; by default
    /// nothing is written then, as `solve` does).
    #[arg(long)]
    pub keep_unconverged: bool,
    /// Write the report (settings, status, trace) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_box(s: &Option<String>, dim: usize, what: &str) -> Result<Option<Set>, CliError> {
    let Some(s) = s else { return Ok(None) };
    let parts: Vec<&str> = s.split(',').collect();
    let parse = |t: &str| -> Result<f64, CliError> {
        match t.trim() {
            "-inf" => Ok(f64::NEG_INFINITY),
            "inf" | "+inf" => Ok(f64::INFINITY),
            v => v
                .parse()
                .map_err(|_| CliError::Usage(format!("{what}: \"{v}\" is not a number"))),
        }
    };
    if parts.len() != 2 {
        return Err(CliError::Usage(format!("{what} wants LO,HI, got \"{s}\"")));
    }
    let set = Set::uniform_box(dim, parse(parts[0])?, parse(parts[1])?);
    set.validate(dim, what)?;
    Ok(Some(set))
}

fn summary(v: &[f64]) -> String {
    if v.len() <= 8 {
        format!(
            "{:?}",
            v.iter().map(|x| (x * 1e6).round() / 1e6).collect::<Vec<_>>()
        )
    } else {
        let (min, max) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        format!(
            "{} entries, min {min:.4e}, max {max:.4e}, ‖·‖ {norm:.4e}",
            v.len()
        )
    }
}

fn solve<P: Bilevel>(p: &P, args: &BilevelArgs) -> Result<(BilevelState, Report), CliError> {
    let method = args.solver;
    let mut s = BilevelSolver::new(method);
    if let Some(sigma) = args.sigma {
        s.sigma = Sigma::Fixed(sigma);
    }
    if let Some(min) = args.sigma_min {
        s.sigma = Sigma::Geometric {
            start: args.sigma.unwrap_or(1e-1),
            factor: args.sigma_factor,
            min,
        };
        if method == Method::F2sa {
            s.f2sa_sigma_min = min;
        }
    }
    s.batch = args.batch;
    s.inner_tol = args.inner_tol;
    s.accelerate = args.accelerate;
    s.tilt = !args.no_tilt;
    s.lbfgs = !args.fista;
    s.inner_steps = args.inner_steps;
    s.step = args.step;
    s.seed = args.seed;
    let default_iters = if method == Method::PenaltySingleLoop {
        500_000
    } else {
        1000
    };
    let options = run_options(args.tol, args.max_iters.unwrap_or(default_iters), args.time_limit)?;
    let out = run_with_progress(p, &mut s, &options, args.quiet)?;
    Ok((out.state, out.report))
}

/// What `--out` holds: the upper variable and the lower solution.
#[derive(Serialize)]
struct Solution<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

#[derive(Serialize)]
struct Inputs {
    problem: String,
    data: Option<String>,
    seed: u64,
}

#[derive(Serialize)]
struct Body<'a> {
    problem: String,
    calls: &'a solvent_solvers::bilevel::Calls,
    details: &'a serde_json::Map<String, serde_json::Value>,
    report: &'a Report,
}

/// The checks of flags clap cannot express: ranges, orderings and options that the
/// chosen problem would silently ignore.
fn validate(args: &BilevelArgs) -> Result<(), CliError> {
    let bad = |m: String| Err(CliError::Usage(m));
    if let Some(c) = args.corrupt {
        if !(0.0..1.0).contains(&c) {
            return bad(format!(
                "--corrupt is the fraction of labels flipped, in [0, 1), got {c}"
            ));
        }
        if args.problem != BilevelProblem::Hypercleaning {
            return bad("--corrupt applies to --problem hypercleaning".into());
        }
    }
    if !(args.val_frac > 0.0 && args.val_frac < 1.0) {
        return bad(format!("--val-frac must lie in (0, 1), got {}", args.val_frac));
    }
    for (flag, v) in [("--sigma", args.sigma), ("--sigma-min", args.sigma_min)] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{flag} must be a positive number, got {v}"));
            }
        }
    }
    if !(args.sigma_factor > 0.0 && args.sigma_factor < 1.0) {
        return bad(format!(
            "--sigma-factor must lie in (0, 1), got {}",
            args.sigma_factor
        ));
    }
    if let (Some(min), Some(start)) = (args.sigma_min, args.sigma) {
        if min > start {
            return bad(format!(
                "--sigma-min {min} is above --sigma {start}: σ decreases from --sigma down to --sigma-min"
            ));
        }
    }
    let uses_data = matches!(
        args.problem,
        BilevelProblem::Hyperparam | BilevelProblem::Hypercleaning
    );
    if args.data.is_some() && !uses_data {
        return bad(format!(
            "--data is read by the hyperparam and hypercleaning problems; --problem {} builds its own",
            format!("{:?}", args.problem).to_lowercase()
        ));
    }
    Ok(())
}

/// Runs `solvent bilevel`.
pub fn run(args: &BilevelArgs) -> Result<ExitCode, CliError> {
    for (p, what) in [(&args.out, "the solution"), (&args.json, "the report")] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    super::check_files(
        &[(args.data.as_deref(), "the data")],
        &[
            (args.out.as_deref(), "the solution"),
            (args.json.as_deref(), "the report"),
        ],
    )?;
    validate(args)?;
    let data = || -> Result<(LogisticData, LogisticData), CliError> {
        let all = match &args.data {
            Some(path) => LogisticData::read(path, None)?,
            None => LogisticData::synthetic(args.samples, args.features, args.seed)?,
        };
        Ok(all.split(args.val_frac, args.seed)?)
    };
    let mut extra = serde_json::Map::new();
    let (state, report) = match args.problem {
        BilevelProblem::Quadratic => {
            let q = QuadraticBilevel::generate(&QuadraticConfig {
                dim_x: args.dim_x,
                dim_y: args.dim_y,
                upper_samples: args.level_samples,
                lower_samples: args.level_samples,
                condition: args.condition,
                seed: args.seed,
            })?;
            let p = Boxed {
                x_set: parse_box(&args.x_box, q.dim_x(), "--x-box")?,
                y_set: parse_box(&args.y_box, q.dim_y(), "--y-box")?,
                inner: q,
            };
            let r = solve(&p, args)?;
            if p.x_set.is_none() && p.y_set.is_none() {
                let (xs, _) = p.inner.closed_form();
                let d: f64 =
                    r.0.x
                        .iter()
                        .zip(&xs)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt();
                let n: f64 = xs.iter().map(|v| v * v).sum::<f64>().sqrt();
                extra.insert("closed_form_relative_error".into(), json!(d / n.max(1e-300)));
            }
            r
        }
        BilevelProblem::Toy => {
            let t = ToyBilevel::default();
            let p = Boxed {
                x_set: parse_box(&args.x_box, 1, "--x-box")?,
                y_set: parse_box(&args.y_box, 1, "--y-box")?,
                inner: t,
            };
            solve(&p, args)?
        }
        BilevelProblem::Hyperparam => {
            let (train, val) = data()?;
            let h = HyperParam::new(train, val)?;
            let p = Boxed {
                x_set: parse_box(&args.x_box, h.dim_x(), "--x-box")?,
                y_set: parse_box(&args.y_box, h.dim_y(), "--y-box")?,
                inner: h,
            };
            let r = solve(&p, args)?;
            extra.insert(
                "validation_error_rate".into(),
                json!(p.inner.val.error_rate(&r.0.z)),
            );
            r
        }
        BilevelProblem::Hypercleaning => {
            let (mut train, val) = data()?;
            let flipped = train.corrupt(args.corrupt.unwrap_or(0.3), args.seed ^ 0x5eed);
            let h = HyperCleaning::new(train, val, 1e-2)?;
            let p = Boxed {
                x_set: parse_box(&args.x_box, h.dim_x(), "--x-box")?,
                y_set: parse_box(&args.y_box, h.dim_y(), "--y-box")?,
                inner: h,
            };
            let r = solve(&p, args)?;
            // How well the weights find the corrupted samples: mean weight of each group.
            let w = |x: f64| 1.0 / (1.0 + (-x).exp());
            let mean = |sel: bool| {
                let v: Vec<f64> =
                    r.0.x
                        .iter()
                        .zip(&flipped)
                        .filter(|(_, &f)| f == sel)
                        .map(|(&x, _)| w(x))
                        .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            };
            extra.insert("mean_weight_corrupted".into(), json!(mean(true)));
            extra.insert("mean_weight_clean".into(), json!(mean(false)));
            extra.insert(
                "validation_error_rate".into(),
                json!(p.inner.val.error_rate(&r.0.z)),
            );
            r
        }
    };
    let converged = report.status.is_converged();
    let write_out = converged || args.keep_unconverged;
    if let Some(path) = args.out.as_ref().filter(|_| write_out) {
        write_json(
            path,
            &Solution {
                x: &state.x,
                y: &state.z,
            },
        )?;
    }
    let value = report.metrics.value;
    if let Some(path) = &args.json {
        let problem = format!("{:?}", args.problem).to_lowercase();
        let envelope = Envelope::new(
            "bilevel",
            Inputs {
                problem: problem.clone(),
                data: args.data.as_ref().map(|p| p.display().to_string()),
                seed: args.seed,
            },
            Outcome::of(&report.status, report.metrics.value),
            Body {
                problem,
                calls: &state.calls,
                details: &extra,
                report: &report,
            },
        )
        .timing("wall_s", report.wall_s)
        .timing("solve_s", report.elapsed_s);
        write_json(path, &envelope)?;
    }
    if !args.quiet {
        crate::outln!("{}", report.summary());
        crate::outln!("x = {}", summary(&state.x));
        crate::outln!("y = {}", summary(&state.z));
        crate::outln!(
            "upper value {:.6e}, projected hypergradient {:.3e}, σ {:.1e}, gradient calls {:.0} (hvp {:.0})",
            report.metrics.objective.unwrap_or(f64::NAN),
            value,
            state.sigma,
            state.calls.gradients(),
            state.calls.hvp
        );
        for (k, v) in &extra {
            crate::outln!("{k}: {v}");
        }
    }
    Ok(super::converged_exit(
        &report,
        converged,
        args.out.as_deref(),
        write_out,
    ))
}
