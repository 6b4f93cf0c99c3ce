//! `solvent solve-seq`: a sequence of systems assembled elsewhere, from a directory.

use super::sequence_args::{Bar, SequenceArgs};
use super::{write_json, CliError};
use clap::Args;
use serde::Serialize;
use solvent_linalg::io::matrix_market;
use solvent_solvers::sequence::{
    plan_sequence, solve_with_progress, DirectorySource, SequencePlan, SystemRecord,
};
use solvent_solvers::{Envelope, Outcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `solvent solve-seq`.
#[derive(Debug, Args)]
pub struct SolveSeqArgs {
    /// Directory with A_0000.mtx, b_0000.mtx, … (and params_0000.npy, used for ordering).
    pub dir: PathBuf,
    /// Solver flags.
    #[command(flatten)]
    pub seq: SequenceArgs,
    /// Where to write x_0000.mtx, … (created if missing; default: DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report (per-system iterations, time, true relative residual) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Creates `dir` if needed and checks that a file can be written in it.
fn prepare_out_dir(dir: &Path) -> Result<(), CliError> {
    let fail =
        |e: std::io::Error| CliError::Usage(format!("cannot write solutions to {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".solvent-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

#[derive(Serialize)]
struct Inputs {
    dir: String,
    ordered_by: &'static str,
}

/// One system's line in the report.
#[derive(Serialize)]
struct SystemEntry<'a> {
    matrix: String,
    solution: Option<String>,
    iterations: usize,
    time_s: f64,
    relres: f64,
    converged: bool,
    record: &'a SystemRecord,
}

#[derive(Serialize)]
struct Body<'a> {
    dir: String,
    out: String,
    tol: f64,
    ordered_by: &'static str,
    plan: &'a SequencePlan,
    order: &'a [usize],
    total_iterations: usize,
    solve_s: f64,
    solve_wall_s: f64,
    failed: &'a [usize],
    systems: Vec<SystemEntry<'a>>,
}

/// Runs `solvent solve-seq`.
pub fn run(args: &SolveSeqArgs) -> Result<ExitCode, CliError> {
    args.seq.validate()?;
    let source = DirectorySource::open(&args.dir)?;
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    prepare_out_dir(&out)?;
    if let Some(p) = &args.json {
        super::check_output_path(p, "the report")?;
    }
    let plan = plan_sequence(&source, &args.seq.config())?;
    let options = args.seq.options();
    let mut written = 0usize;
    let report = solve_with_progress(
        &source,
        &plan,
        &options,
        args.seq.strategy.as_str(),
        &mut Bar::new(args.quiet),
        &mut |rec, x| {
            if rec.converged {
                matrix_market::write_vector(out.join(format!("x_{}.mtx", source.id(rec.index))), x)?;
                written += 1;
            }
            Ok(())
        },
    )?;
    let ordered_by = if source.has_params() {
        "params_*.npy"
    } else {
        "right-hand sides"
    };
    if let Some(p) = &args.json {
        let systems = report
            .systems
            .iter()
            .map(|r| SystemEntry {
                matrix: format!("A_{}.mtx", source.id(r.index)),
                solution: r.converged.then(|| format!("x_{}.mtx", source.id(r.index))),
                iterations: r.iterations,
                time_s: r.setup_s + r.solve_s,
                relres: r.relres,
                converged: r.converged,
                record: r,
            })
            .collect();
        let envelope = Envelope::new(
            "solve-seq",
            Inputs {
                dir: args.dir.display().to_string(),
                ordered_by,
            },
            Outcome {
                converged: report.failed.is_empty(),
                summary: report.summary(),
            },
            Body {
                dir: args.dir.display().to_string(),
                out: out.display().to_string(),
                tol: args.seq.tol,
                ordered_by,
                plan: &report.plan,
                order: &report.order,
                total_iterations: report.total_iterations,
                solve_s: report.solve_s,
                solve_wall_s: report.solve_wall_s,
                failed: &report.failed,
                systems,
            },
        )
        .timing("wall_s", report.wall_s)
        .timing("solve_s", report.solve_s)
        .timing("ordering_s", report.ordering_s)
        .timing("assembly_s", report.assembly_s);
        write_json(p, &envelope)?;
    }
    if !args.quiet {
        println!(
            "Solved {} systems from {} ({}): {}",
            report.systems.len(),
            args.dir.display(),
            report.plan.reason,
            report.summary()
        );
        println!("Wrote {written} solutions to {}", out.display());
    }
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for &i in &report.failed {
            let r = &report.systems[i];
            eprintln!(
                "error: A_{}.mtx did not converge: {} (no solution written)",
                source.id(i),
                r.status.describe(r.relres)
            );
        }
        Ok(ExitCode::from(2))
    }
}
