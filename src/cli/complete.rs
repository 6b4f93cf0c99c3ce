//! `solvent complete`: fill in a sparsely observed matrix (ratings) with a low-rank model.
//!
//! Test entries whose user or item never appears in training cannot be scored by the
//! model: they are counted (`unseen`) and predicted by the **training mean** (the
//! documented fallback), both in `--predict` output and in the final
//! `test_rmse_with_fallback`; the per-sweep test RMSE covers the seen pairs only.

use super::{check_output_path, write_json, CliError};
use clap::{Args, ValueEnum};
use serde::Serialize;
use solvent_linalg::io::{atomic_write, npy};
use solvent_problems::completion::{read_pairs, read_ratings, Delimiter};
use solvent_solvers::completion::{
    choose_reg, CompletionConfig, RatingsProblem, RegChoice, RowSolver, REG_GRID,
};
use solvent_solvers::{Envelope, Observer, Outcome, Report, Status, TraceSample, TraceSchedule};
use std::path::PathBuf;
use std::process::ExitCode;

/// Row solver of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompletionSolver {
    /// Alternating minimisation with warm-started CG per row (O(|Ω|k) per sweep).
    Altmin,
    /// Exact ALS: Cholesky of each row's k×k normal equations (O(|Ω|k² + (m+n)k³)).
    Als,
}

/// Whether rating files have a header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Header {
    /// Detected: a first line whose rating (or, for pairs, whose user field starting with
    /// "user") is not data.
    Auto,
    /// The first data line is a header.
    Yes,
    /// No header.
    No,
}

/// Arguments of `solvent complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// Training entries: `user item rating [more…]` lines (tab/comma/semicolon/space) or a
    /// Matrix Market coordinate file (.mtx).
    #[arg(long)]
    pub train: PathBuf,
    /// Test entries, same formats; ids are matched to the training ids.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Without --test: hold out this fraction of the training file as the test set
    /// (seeded by --seed).
    #[arg(long)]
    pub split: Option<f64>,
    /// Field separator: auto, tab, comma, semicolon, space.
    #[arg(long, default_value = "auto", value_parser = |s: &str| Delimiter::parse(s).ok_or_else(|| format!("unknown delimiter `{s}` (auto, tab, comma, semicolon, space)")))]
    pub delimiter: Delimiter,
    /// Header line in the text files.
    #[arg(long, value_enum, default_value = "auto")]
    pub header: Header,
    /// Rank k of the model.
    #[arg(long, default_value_t = 10)]
    pub rank: usize,
    /// Ridge λ, scaled by each row's number of observations (ALS-WR), or `auto`: chosen
    /// from 0.02–0.35 by fitting on 90% of the training entries and scoring the held-out
    /// 10%, then fitted on all. Default 0.12: on MovieLens-100k (rank 10, 80/20 splits,
    /// seeds 0–2) test RMSE 0.913–0.922, against 0.956–0.968 at 0.05 (overfitting).
    #[arg(long, default_value = "0.12", value_parser = parse_reg)]
    pub reg: Reg,
    /// Row solver.
    #[arg(long, value_enum, default_value = "altmin")]
    pub solver: CompletionSolver,
    /// Most sweeps.
    #[arg(long, default_value_t = 20)]
    pub sweeps: usize,
    /// Stop when a sweep lowers the training RMSE by less than this fraction (0: run all sweeps).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Stop after this many seconds of sweeps (the factors so far are still written).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// altmin: reduction of each row's residual per half-step.
    #[arg(long, default_value_t = 1e-2)]
    pub cg_reduction: f64,
    /// altmin: CG iteration cap per row and half-step (warm starts carry the rest over).
    #[arg(long, default_value_t = solvent_solvers::completion::solver::ALTMIN_CG_ITERS)]
    pub cg_iters: usize,
    /// Fit the deviations from the training mean (predictions add it back). Off by
    /// default: on MovieLens-100k the uncentered ALS-WR model generalises better (its
    /// leading factor plays the part of user and item biases).
    #[arg(long)]
    pub center: bool,
    /// Theory mode: give the start and every half-step a fresh, disjoint part of the
    /// training entries (2·sweeps + 2 parts) instead of all of them.
    #[arg(long)]
    pub sample_splitting: bool,
    /// Seed of the split and of the randomized SVD start.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write U.npy (m×k), V.npy (n×k), users.txt and items.txt (the ids, one per line, in
    /// row order) here.
    #[arg(long)]
    pub out_factors: Option<PathBuf>,
    /// `user item` pairs to predict (further columns ignored).
    #[arg(long, requires = "out")]
    pub predict: Option<PathBuf>,
    /// Predictions: `user<TAB>item<TAB>prediction` lines in the order of --predict.
    #[arg(long, requires = "predict")]
    pub out: Option<PathBuf>,
    /// Write the report (settings, sizes, trace) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No per-sweep lines and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// The ridge λ, given or chosen on held-out entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reg {
    /// This λ.
    Value(f64),
    /// Chosen by `solvent_solvers::completion::choose_reg`.
    Auto,
}

fn parse_reg(s: &str) -> Result<Reg, String> {
    if s == "auto" {
        return Ok(Reg::Auto);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Reg::Value(v)),
        _ => Err(format!("`{s}` is neither a number ≥ 0 nor `auto`")),
    }
}

fn header(h: Header) -> Option<bool> {
    match h {
        Header::Auto => None,
        Header::Yes => Some(true),
        Header::No => Some(false),
    }
}

/// Prints one line per sweep as the run loop measures it.
struct SweepLines {
    last_s: f64,
}

impl Observer for SweepLines {
    fn on_sample(&mut self, s: &TraceSample) {
        let e = &s.metrics.extra;
        crate::outln!(
            "sweep {:>3}: train RMSE {:.5}{}  ({:.3} s, {:.1} CG iterations per row)",
            s.iteration,
            e["train_rmse"],
            e.get("test_rmse")
                .map(|t| format!(", test RMSE {t:.5}"))
                .unwrap_or_default(),
            s.time_s - self.last_s,
            e["cg_iterations_per_row"]
        );
        self.last_s = s.time_s;
    }
}

#[derive(Serialize)]
struct Inputs {
    train: String,
    test: Option<String>,
    split: Option<f64>,
}

#[derive(Serialize)]
struct Body<'a> {
    train: String,
    m: usize,
    n: usize,
    observed: usize,
    bytes_per_entry: f64,
    rank: usize,
    reg: f64,
    reg_choice: Option<&'a RegChoice>,
    solver: &'static str,
    test_entries: usize,
    unseen_test_entries: usize,
    fallback: &'static str,
    train_mean: f64,
    centered: bool,
    train_rmse: Option<f64>,
    test_rmse: Option<f64>,
    test_rmse_with_fallback: Option<f64>,
    fallback_predictions: usize,
    run: &'a Report,
    /// The MPI ranks, their blocks and the measured and modelled exchange per sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    mpi: Option<serde_json::Value>,
}

/// Runs `solvent complete` (over the ranks of an MPI job when there are several).
pub fn run(args: &CompleteArgs) -> Result<ExitCode, CliError> {
    #[cfg(feature = "mpi")]
    if let Some(ranks) = crate::distributed::cli_ranks() {
        return Ok(run_distributed(args, &ranks));
    }
    let prepared = prepare(args)?;
    let mut lines = SweepLines { last_s: 0.0 };
    let mut observers: Vec<&mut dyn Observer> = Vec::new();
    if !args.quiet {
        observers.push(&mut lines);
    }
    let out = prepared
        .model
        .fit(&prepared.cfg, &prepared.options, &mut observers)?;
    finish(args, &prepared, out.state.factors, out.report, None).map(ExitCode::from)
}

/// `mpirun -n R solvent complete …`: rank 0 reads the data and hands each rank its rows
/// and columns of Ω ([`crate::distributed::completion`]); every rank runs the sweeps;
/// rank 0 writes the factors, predictions and report. Every rank returns the same exit
/// code; rank 0 prints the failures of every rank.
#[cfg(feature = "mpi")]
fn run_distributed(args: &CompleteArgs, ranks: &crate::distributed::Ranks) -> ExitCode {
    use crate::distributed::completion::{fit, Stopping};
    let rank = ranks.rank();
    let code = (|| -> Result<u8, String> {
        let text = |e: crate::distributed::RankErrors| e.to_string();
        let prepared = if rank == 0 {
            Some((|| {
                if args.reg == Reg::Auto {
                    return Err(CliError::Usage(
                        "--reg auto is not distributed: give a value (or choose it in one process)".into(),
                    ));
                }
                if args.sample_splitting {
                    return Err(CliError::Usage(
                        "--sample-splitting is not distributed: run it in one process".into(),
                    ));
                }
                prepare(args)
            })())
        } else {
            None
        };
        let prepared = ranks.agree(prepared.transpose()).map_err(text)?;
        let cfg = config(args);
        let mut lines = SweepLines { last_s: 0.0 };
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        if !args.quiet {
            observers.push(&mut lines);
        }
        let stopping = Stopping {
            tol: args.tol.max(f64::MIN_POSITIVE),
            sweeps: args.sweeps,
            time_limit: args.time_limit,
        };
        let problem = prepared.as_ref().map(|p| &p.model.problem);
        let fitted = fit(ranks, problem, cfg, stopping, &mut observers).map_err(text)?;
        let (Some(fitted), Some(prepared)) = (fitted, prepared) else {
            return Ok(0);
        };
        let extra = serde_json::json!({
            "ranks": fitted.ranks,
            "partition": fitted.partition,
            "sweep_bytes_received": fitted.sweep_bytes,
            "sweep_bytes_model": fitted.model_bytes,
        });
        let code =
            finish(args, &prepared, fitted.factors, fitted.report, Some(extra)).map_err(|e| e.to_string())?;
        if !args.quiet {
            crate::outln!(
                "MPI: {}; factor rows received per sweep {:?} bytes (model k·rows·8: {:?})",
                fitted.ranks.summary(),
                fitted.sweep_bytes,
                fitted.model_bytes
            );
        }
        Ok(code)
    })();
    crate::distributed::cli_exit(ranks, code)
}

/// The library settings the arguments give (`--reg auto` starts from 0 and is chosen in
/// [`prepare`]).
fn config(args: &CompleteArgs) -> CompletionConfig {
    let k = args.rank;
    let solver = match args.solver {
        CompletionSolver::Als => RowSolver::Exact,
        CompletionSolver::Altmin => RowSolver::Cg {
            reduction: args.cg_reduction,
            max_iters: args.cg_iters,
            sketch_above: solvent_solvers::completion::solver::SKETCH_ABOVE_K2 * k * k,
        },
    };
    CompletionConfig {
        rank: k,
        reg: match args.reg {
            Reg::Value(v) => v,
            Reg::Auto => 0.0,
        },
        solver,
        mu: 1.0,
        seed: args.seed,
        sample_splitting: args.sample_splitting.then_some(args.sweeps),
    }
}

/// The data read and the settings resolved, before the sweeps.
struct Prepared {
    model: RatingsProblem,
    cfg: CompletionConfig,
    options: solvent_solvers::Options,
    reg_choice: Option<RegChoice>,
    hdr: Option<bool>,
}

/// Checks the arguments, reads the data, resolves the settings (`--reg auto` included)
/// and prints the problem line.
fn prepare(args: &CompleteArgs) -> Result<Prepared, CliError> {
    for (p, what) in [(&args.json, "the report"), (&args.out, "the predictions")] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    let factor_files: Vec<std::path::PathBuf> = args
        .out_factors
        .iter()
        .flat_map(|d| ["U.npy", "V.npy", "users.txt", "items.txt"].map(|f| d.join(f)))
        .collect();
    let mut outputs = vec![
        (args.out.as_deref(), "the predictions"),
        (args.json.as_deref(), "the report"),
    ];
    outputs.extend(factor_files.iter().map(|p| (Some(p.as_path()), "a factor file")));
    super::check_files(
        &[
            (Some(args.train.as_path()), "the training set"),
            (args.test.as_deref(), "the test set"),
            (args.predict.as_deref(), "the pairs to predict"),
        ],
        &outputs,
    )?;
    if args.test.is_some() && args.split.is_some() {
        return Err(CliError::Usage("give --test or --split, not both".into()));
    }
    if !(args.tol >= 0.0 && args.tol.is_finite()) {
        return Err(CliError::Usage(format!("--tol must be ≥ 0, got {}", args.tol)));
    }
    if args.sweeps == 0 {
        return Err(CliError::Usage("--sweeps must be at least 1".into()));
    }
    let hdr = header(args.header);
    let all = read_ratings(&args.train, args.delimiter, hdr)?;
    let (train, test) = match (&args.test, args.split) {
        (Some(p), _) => (all, Some(read_ratings(p, args.delimiter, hdr)?)),
        (None, Some(f)) => {
            let (a, b) = all.split(f, args.seed)?;
            (a, Some(b))
        }
        (None, None) => (all, None),
    };
    let model = RatingsProblem::new(train, test.as_ref(), args.center);
    drop(test);
    let (m, n) = (model.train.nrows(), model.train.ncols());
    let omega = &model.problem.omega;
    let k = args.rank;
    let mut cfg = config(args);
    // tol 0 = run every sweep: the smallest positive tolerance only stops a sweep that
    // changes nothing at all
    let options = super::run_options(args.tol.max(f64::MIN_POSITIVE), args.sweeps, args.time_limit)?
        .trace(TraceSchedule::Every(1));
    let quiet = args.quiet;
    let reg_choice = match args.reg {
        Reg::Value(_) => None,
        Reg::Auto => {
            let c = choose_reg(
                &model.train,
                &cfg,
                &options,
                &REG_GRID,
                0.1,
                args.center,
                args.seed,
            )?;
            cfg.reg = c.reg;
            if !quiet {
                let tried: Vec<String> = c.scores.iter().map(|(r, e)| format!("{r}: {e:.4}")).collect();
                crate::outln!(
                    "--reg auto: λ = {} (held-out RMSE by λ: {})",
                    c.reg,
                    tried.join(", ")
                );
            }
            Some(c)
        }
    };
    let unseen = model.unseen_test.len();
    let test_entries = model.problem.test.len() + unseen;
    if !quiet {
        crate::outln!(
            "{} × {} matrix, {} training entries ({:.1} bytes per entry in Ω), {} test entries ({} with an unseen id); rank {k}, {:?}",
            m,
            n,
            omega.len(),
            omega.bytes_per_entry(),
            test_entries,
            unseen,
            args.solver
        );
    }
    Ok(Prepared {
        model,
        cfg,
        options,
        reg_choice,
        hdr,
    })
}

/// Writes the factors, predictions and report of a fitted model and prints the summary;
/// the exit code (2 after a breakdown). `ranks` describes the MPI ranks, if any.
fn finish(
    args: &CompleteArgs,
    prepared: &Prepared,
    factors: solvent_solvers::completion::Factors,
    report: Report,
    ranks: Option<serde_json::Value>,
) -> Result<u8, CliError> {
    let Prepared {
        model,
        cfg,
        reg_choice,
        hdr,
        ..
    } = prepared;
    let (hdr, cfg) = (*hdr, *cfg);
    let (m, n, k) = (model.train.nrows(), model.train.ncols(), cfg.rank);
    let omega = &model.problem.omega;
    let quiet = args.quiet;
    let unseen = model.unseen_test.len();
    let test_entries = model.problem.test.len() + unseen;
    let test_rmse_all = model.test_rmse_with_fallback(&factors);
    if let Some(dir) = &args.out_factors {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Usage(format!("cannot write factors to {}: {e}", dir.display())))?;
        npy::write_f64(dir.join("U.npy"), &[m, k], &factors.u)?;
        npy::write_f64(dir.join("V.npy"), &[n, k], &factors.v)?;
        for (name, ids) in [
            ("users.txt", model.train.users.names()),
            ("items.txt", model.train.items.names()),
        ] {
            atomic_write(&dir.join(name), |w| {
                for id in ids {
                    writeln!(w, "{id}")?;
                }
                Ok(())
            })?;
        }
    }
    let mut fallback_predictions = 0usize;
    if let (Some(pairs), Some(out)) = (&args.predict, &args.out) {
        let pairs = read_pairs(pairs, args.delimiter, hdr)?;
        let preds: Vec<f64> = pairs
            .iter()
            .map(|(u, it)| {
                let p = model.predict(&factors, u, it);
                fallback_predictions += usize::from(p.fallback);
                p.value
            })
            .collect();
        atomic_write(out, |w| {
            for ((u, it), p) in pairs.iter().zip(&preds) {
                writeln!(w, "{u}\t{it}\t{p}")?;
            }
            Ok(())
        })?;
    }
    let mean = model.mean;
    if let Some(p) = &args.json {
        let envelope = Envelope::new(
            "complete",
            Inputs {
                train: args.train.display().to_string(),
                test: args.test.as_ref().map(|t| t.display().to_string()),
                split: args.split,
            },
            Outcome::of(&report.status, report.metrics.value),
            Body {
                train: args.train.display().to_string(),
                m,
                n,
                observed: omega.len(),
                bytes_per_entry: omega.bytes_per_entry(),
                rank: k,
                reg: cfg.reg,
                reg_choice: reg_choice.as_ref(),
                solver: match args.solver {
                    CompletionSolver::Altmin => "altmin",
                    CompletionSolver::Als => "als",
                },
                test_entries,
                unseen_test_entries: unseen,
                fallback: "training mean",
                train_mean: mean,
                centered: args.center,
                train_rmse: report.metrics.extra.get("train_rmse").copied(),
                test_rmse: report.metrics.extra.get("test_rmse").copied(),
                test_rmse_with_fallback: test_rmse_all,
                fallback_predictions,
                run: &report,
                mpi: ranks,
            },
        )
        .timing("wall_s", report.wall_s)
        .timing("solve_s", report.elapsed_s);
        write_json(p, &envelope)?;
    }
    if !quiet {
        let why = match &report.status {
            Status::Converged { value, tol, .. } => {
                format!("Stopped (the last sweep lowered the training RMSE by {value:.1e} ≤ {tol:.0e})")
            }
            Status::IterationLimit { .. } => "Done".to_string(),
            other => other.describe(report.metrics.value),
        };
        crate::outln!(
            "{why}: {} sweeps in {:.2} s, train RMSE {:.5}{}{}",
            report.iterations,
            report.elapsed_s,
            report.metrics.extra["train_rmse"],
            test_rmse_all
                .map(|t| format!(
                    ", test RMSE {t:.5} (unseen ids predicted by the training mean {mean:.3}: {unseen})"
                ))
                .unwrap_or_default(),
            if fallback_predictions > 0 {
                format!("; {fallback_predictions} predictions fell back to the training mean")
            } else {
                String::new()
            }
        );
    }
    // running out of sweeps (or time) is a normal end here; a breakdown is not
    Ok(match report.status {
        Status::Diverged { .. } | Status::Breakdown { .. } => 2,
        _ => 0,
    })
}
