//! `solvent solve-seq`: a sequence of systems assembled elsewhere, from a directory.

use super::sequence_args::{run_with_progress, SequenceArgs};
use super::{write_json, CliError};
use clap::Args;
use solvent_linalg::io::matrix_market;
use solvent_solvers::krylov::analyse;
use solvent_solvers::sequence::{resolve_plan, DirectorySource, Strategy, SystemSource};
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

/// Runs `solvent solve-seq`.
pub fn run(args: &SolveSeqArgs) -> Result<ExitCode, CliError> {
    args.seq.validate()?;
    let source = DirectorySource::open(&args.dir)?;
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    prepare_out_dir(&out)?;
    if let Some(p) = &args.json {
        super::check_output_path(p, "the report")?;
    }
    let (a0, _) = source.system(0)?;
    // only auto's choice needs the predicted fill
    let analysis = match args.seq.strategy {
        Strategy::Auto => analyse(&a0).with_fill(&a0),
        _ => analyse(&a0),
    };
    drop(a0);
    let job = args.seq.gpu_capable();
    let ctx = super::device::open(
        args.seq.device,
        source.len() * analysis.n,
        job.as_ref().map(|_| ()).map_err(Clone::clone),
        args.quiet,
    )?;
    if let (Some(ctx), Ok(job)) = (&ctx, &job) {
        return run_gpu(args, &source, &out, ctx, job);
    }
    let seq = args.seq.config();
    let plan = resolve_plan(&seq, source.len(), &analysis, false)?;
    let options = args.seq.options();
    let mut written = 0usize;
    let report = run_with_progress(
        &source,
        &plan,
        &options,
        args.seq.strategy.as_str(),
        args.quiet,
        &mut |rec, x| {
            if rec.converged {
                matrix_market::write_vector(out.join(format!("x_{}.mtx", source.id(rec.index))), x)?;
                written += 1;
            }
            Ok(())
        },
    )?;
    if let Some(p) = &args.json {
        let systems: Vec<serde_json::Value> = report
            .systems
            .iter()
            .map(|r| {
                serde_json::json!({
                    "matrix": format!("A_{}.mtx", source.id(r.index)),
                    "solution": r.converged.then(|| format!("x_{}.mtx", source.id(r.index))),
                    "iterations": r.iterations,
                    "time_s": r.setup_s + r.solve_s,
                    "relres": r.relres,
                    "converged": r.converged,
                    "record": r,
                })
            })
            .collect();
        let v = serde_json::json!({
            "command": "solve-seq",
            "dir": args.dir.display().to_string(),
            "out": out.display().to_string(),
            "tol": args.seq.tol,
            "ordered_by": if source.has_params() { "params_*.npy" } else { "right-hand sides" },
            "plan": report.plan,
            "order": report.order,
            "total_iterations": report.total_iterations,
            "solve_s": report.solve_s,
            "solve_wall_s": report.solve_wall_s,
            "failed": report.failed,
            "systems": systems,
        });
        write_json(p, &v)?;
    }
    if !args.quiet {
        println!(
            "Solved {} systems from {} ({}): {}",
            source.len(),
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

/// `solve-seq --device gpu`: batched device CG for SPD sequences, device GMRES otherwise.
fn run_gpu(
    args: &SolveSeqArgs,
    source: &DirectorySource,
    out: &Path,
    ctx: &std::sync::Arc<solvent_gpu::GpuContext>,
    job: &super::device::GpuJob,
) -> Result<ExitCode, CliError> {
    let mut written = 0usize;
    let mut notes: Vec<(usize, String)> = Vec::new();
    let sum = super::device::solve_source(ctx, job, source, args.quiet, &mut |i, o| {
        if o.converged {
            matrix_market::write_vector(out.join(format!("x_{}.mtx", source.id(i))), &o.x)?;
            written += 1;
        } else {
            notes.push((i, o.note.clone().unwrap_or_default()));
        }
        Ok(())
    })?;
    if let Some(p) = &args.json {
        let systems: Vec<serde_json::Value> = (0..source.len())
            .map(|i| {
                let ok = !sum.failed.contains(&i);
                serde_json::json!({
                    "matrix": format!("A_{}.mtx", source.id(i)),
                    "solution": ok.then(|| format!("x_{}.mtx", source.id(i))),
                    "iterations": sum.iterations[i],
                    "time_s": sum.solve_s_each[i],
                    "relres": sum.relres[i],
                    "converged": ok,
                })
            })
            .collect();
        let v = serde_json::json!({
            "command": "solve-seq",
            "device": "gpu",
            "dir": args.dir.display().to_string(),
            "out": out.display().to_string(),
            "tol": args.seq.tol,
            "plan": {"adapter": sum.adapter, "precision": sum.precision, "mode": sum.mode},
            "total_iterations": sum.total_iterations,
            "solve_s": sum.solve_s,
            "failed": sum.failed,
            "systems": systems,
        });
        write_json(p, &v)?;
    }
    if !args.quiet {
        println!(
            "Solved {} systems from {} on {} ({}): {} iterations, {:.3} s",
            source.len(),
            args.dir.display(),
            sum.adapter,
            sum.mode,
            sum.total_iterations,
            sum.solve_s
        );
        println!("Wrote {written} solutions to {}", out.display());
    }
    if sum.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for &i in &sum.failed {
            eprintln!(
                "error: A_{}.mtx did not reach tol {:.0e} on the GPU: true relative residual {:.3e}{} (no solution written)",
                source.id(i),
                args.seq.tol,
                sum.relres[i],
                notes.iter().find(|(j, _)| *j == i).map(|(_, n)| format!(" ({n})")).unwrap_or_default()
            );
        }
        Ok(ExitCode::from(2))
    }
}
