//! `solvent solve-seq`: a sequence of systems assembled elsewhere, from a directory of
//! Matrix Market files or from one `.npz` archive of CSR arrays.

use super::sequence_args::{Bar, SequenceArgs};
use super::{write_json, CliError};
use clap::Args;
use serde::Serialize;
use solvent_linalg::io::matrix_market;
use solvent_solvers::sequence::{
    plan_sequence, solve_with_progress, DirectorySource, NpzSequenceSource, SequencePlan, SequenceReport,
    SequenceSolutions, SystemRecord,
};
use solvent_solvers::{Envelope, Outcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `solvent solve-seq`.
#[derive(Debug, Args)]
pub struct SolveSeqArgs {
    /// Directory with A_0000.mtx, b_0000.mtx, … (and params_0000.npy, used for ordering),
    /// or one .npz file of CSR arrays sharing a pattern: indptr, indices, data (K × nnz),
    /// b (K × n or n), optional features or params (K × F) and shape.
    pub dir: PathBuf,
    /// Solver flags.
    #[command(flatten)]
    pub seq: SequenceArgs,
    /// Where to write x_0000.mtx, … (created if missing; default: DIR). For an .npz input,
    /// the output .npz file (x as K × n, iterations, relres, converged; default:
    /// STEM.solutions.npz beside the input; an existing directory: that file in it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report (per-system iterations, time, true relative residual) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// When the run fails part-way (an unreadable or singular system), keep the solutions
    /// of the systems solved before it (default: nothing is written).
    #[arg(long)]
    pub keep_partial: bool,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// The output directory of one run: solutions are staged in a hidden subdirectory
/// (`OUT/.solvent-tmp-PID`) and moved into place only when the run ends without an error,
/// under a lock (`OUT/.solvent.lock`) that keeps a second run out of the same directory.
struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    lock: PathBuf,
}

impl Staging {
    /// Creates `out` if needed, takes the lock, creates the staging directory.
    fn open(out: &Path) -> Result<Self, CliError> {
        let fail =
            |e: std::io::Error| CliError::Usage(format!("cannot write solutions to {}: {e}", out.display()));
        std::fs::create_dir_all(out).map_err(fail)?;
        let lock = out.join(".solvent.lock");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut f) => {
                use std::io::Write;
                let _ = writeln!(f, "{}", std::process::id());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CliError::Usage(format!(
                    "another solvent run is writing solutions to {} (remove {} if none is)",
                    out.display(),
                    lock.display()
                )))
            }
            Err(e) => return Err(fail(e)),
        }
        solvent_linalg::io::output::register(&lock);
        let tmp = out.join(format!(".solvent-tmp-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir(&tmp) {
            let _ = std::fs::remove_file(&lock);
            return Err(fail(e));
        }
        solvent_linalg::io::output::register(&tmp);
        Ok(Self {
            out: out.to_path_buf(),
            tmp,
            lock,
        })
    }
    /// Moves every staged file into the output directory.
    fn publish(&self) -> Result<(), CliError> {
        let entries = std::fs::read_dir(&self.tmp)
            .map_err(|e| CliError::Usage(format!("{}: {e}", self.tmp.display())))?;
        for entry in entries.flatten() {
            let to = self.out.join(entry.file_name());
            std::fs::rename(entry.path(), &to)
                .map_err(|e| CliError::Usage(format!("moving {} into place: {e}", to.display())))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
        let _ = std::fs::remove_file(&self.lock);
        solvent_linalg::io::output::unregister(&self.tmp);
        solvent_linalg::io::output::unregister(&self.lock);
    }
}

#[derive(Serialize)]
struct Inputs {
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    npz: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    npz: Option<String>,
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
    /// Per-rank statistics of an MPI run.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranks: Option<serde_json::Value>,
}

/// Runs `solvent solve-seq` (over the ranks of an MPI job when there are several).
pub fn run(args: &SolveSeqArgs) -> Result<ExitCode, CliError> {
    #[cfg(feature = "mpi")]
    if let Some(ranks) = crate::distributed::cli_ranks() {
        return Ok(run_distributed(args, &ranks));
    }
    if is_npz(&args.dir) {
        return run_npz(args);
    }
    args.seq.validate()?;
    let source = DirectorySource::open(&args.dir)?;
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    // every check before anything is created
    if let Some(p) = &args.json {
        super::check_output_path(p, "the report")?;
        let inputs = source.input_files();
        let inputs: Vec<(Option<&Path>, &str)> = inputs
            .iter()
            .map(|f| (Some(f.as_path()), "an input system"))
            .collect();
        super::check_files(&inputs, &[(Some(p.as_path()), "the report")])?;
    }
    let plan = plan_sequence(&source, &args.seq.config())?;
    let options = args.seq.options();
    let staging = Staging::open(&out)?;
    let mut written = 0usize;
    let result = solve_with_progress(
        &source,
        &plan,
        &options,
        args.seq.strategy.as_str(),
        &mut Bar::new(args.quiet),
        &mut |rec, x| {
            if rec.converged {
                matrix_market::write_vector(staging.tmp.join(format!("x_{}.mtx", source.id(rec.index))), x)?;
                written += 1;
            }
            Ok(())
        },
    );
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if args.keep_partial {
                staging.publish()?;
                crate::errln!(
                    "note: --keep-partial: the {written} solutions written before the failure are in {}",
                    out.display()
                );
            }
            return Err(e.into());
        }
    };
    staging.publish()?;
    drop(staging);
    finish(args, Input::Dir(&source), &out, &report, written, None).map(ExitCode::from)
}

/// Whether the input is an `.npz` archive rather than a directory: a file, or a path
/// ending in `.npz`.
fn is_npz(path: &Path) -> bool {
    path.is_file() || path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// The output file of an `.npz` input: `--out` (a file, or a directory to put the
/// default name in), else `STEM.solutions.npz` beside the input.
fn npz_output(input: &Path, out: Option<&Path>) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sequence".into());
    let name = format!("{stem}.solutions.npz");
    match out {
        Some(o) if o.is_dir() => o.join(name),
        Some(o) => o.to_path_buf(),
        None => input.with_file_name(name),
    }
}

/// `solve-seq FILE.npz`: the sequence of one archive, its solutions written to one `.npz`
/// file, atomically (a temporary file in the same directory, renamed when complete).
fn run_npz(args: &SolveSeqArgs) -> Result<ExitCode, CliError> {
    args.seq.validate()?;
    let source = NpzSequenceSource::open(&args.dir)?;
    let out = npz_output(&args.dir, args.out.as_deref());
    // every check before anything is written
    super::check_output_path(&out, "the solutions")?;
    let mut outputs = vec![(Some(out.as_path()), "the solutions")];
    if let Some(p) = &args.json {
        super::check_output_path(p, "the report")?;
        outputs.push((Some(p.as_path()), "the report"));
    }
    super::check_files(&[(Some(args.dir.as_path()), "the input sequence")], &outputs)?;
    let plan = plan_sequence(&source, &args.seq.config())?;
    let options = args.seq.options();
    let mut solutions = SequenceSolutions::new(source.len(), source.n());
    let result = solve_with_progress(
        &source,
        &plan,
        &options,
        args.seq.strategy.as_str(),
        &mut Bar::new(args.quiet),
        &mut |rec, x| solutions.record(rec, x),
    );
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            if args.keep_partial {
                solutions.write_npz(&out)?;
                crate::errln!(
                    "note: --keep-partial: the {} solutions found before the failure are in {} (the other rows of x are NaN)",
                    solutions.converged_count(),
                    out.display()
                );
            }
            return Err(e.into());
        }
    };
    solutions.write_npz(&out)?;
    finish(
        args,
        Input::Npz(&source),
        &out,
        &report,
        solutions.converged_count(),
        None,
    )
    .map(ExitCode::from)
}

/// The input of a run, for the names in its report and messages.
#[derive(Clone, Copy)]
enum Input<'a> {
    Dir(&'a DirectorySource),
    Npz(&'a NpzSequenceSource),
}

impl Input<'_> {
    fn ordered_by(self) -> &'static str {
        match self {
            Input::Dir(s) if s.has_params() => "params_*.npy",
            Input::Dir(_) => "right-hand sides",
            Input::Npz(s) => s.ordering().as_str(),
        }
    }
    /// System `i`'s matrix.
    fn matrix(self, i: usize) -> String {
        match self {
            Input::Dir(s) => format!("A_{}.mtx", s.id(i)),
            Input::Npz(_) => format!("data[{i}]"),
        }
    }
    /// Where system `i`'s solution is written.
    fn solution(self, i: usize) -> String {
        match self {
            Input::Dir(s) => format!("x_{}.mtx", s.id(i)),
            Input::Npz(_) => format!("x[{i}]"),
        }
    }
}

/// `mpirun -n R solvent solve-seq DIR …`: rank 0 takes the output directory's lock and
/// staging directory, every rank solves its piece ([`crate::distributed::sequence`]) and
/// writes its solutions there, rank 0 moves them into place and reports. Every rank
/// returns the same exit code; rank 0 prints the failures of every rank.
#[cfg(feature = "mpi")]
fn run_distributed(args: &SolveSeqArgs, ranks: &crate::distributed::Ranks) -> ExitCode {
    let rank = ranks.rank();
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    let code = (|| -> Result<u8, String> {
        let text = |e: crate::distributed::RankErrors| e.to_string();
        let opened = (|| -> Result<DirectorySource, CliError> {
            args.seq.validate()?;
            if is_npz(&args.dir) {
                return Err(CliError::Usage(format!(
                    "{}: an .npz sequence is solved in one process (use --jobs N for parallel chains), not over MPI ranks",
                    args.dir.display()
                )));
            }
            let source = DirectorySource::open(&args.dir)?;
            if let Some(p) = &args.json {
                super::check_output_path(p, "the report")?;
                let inputs = source.input_files();
                let inputs: Vec<(Option<&Path>, &str)> = inputs
                    .iter()
                    .map(|f| (Some(f.as_path()), "an input system"))
                    .collect();
                super::check_files(&inputs, &[(Some(p.as_path()), "the report")])?;
            }
            Ok(source)
        })();
        let source = ranks.agree(opened).map_err(text)?;
        // rank 0 stages; every rank writes into its staging directory
        let staging = if rank == 0 {
            Some(Staging::open(&out))
        } else {
            None
        };
        let staging = ranks.agree(staging.transpose()).map_err(text)?;
        let tmp = staging
            .as_ref()
            .map(|s| s.tmp.display().to_string())
            .unwrap_or_default();
        let tmp = PathBuf::from(String::from_utf8_lossy(&ranks.broadcast_bytes(tmp.as_bytes())).into_owned());
        let mut written = 0usize;
        let solved = crate::distributed::sequence::solve(
            ranks,
            &source,
            &args.seq.config(),
            &args.seq.options(),
            &mut Bar::new(args.quiet || rank != 0),
            &mut |rec, x| {
                if rec.converged {
                    matrix_market::write_vector(tmp.join(format!("x_{}.mtx", source.id(rec.index))), x)?;
                    written += 1;
                }
                Ok(())
            },
        );
        let solved = match solved {
            Ok(s) => s,
            Err(e) => {
                if let (true, Some(staging)) = (args.keep_partial, &staging) {
                    staging.publish().map_err(|e| e.to_string())?;
                    crate::errln!(
                        "note: --keep-partial: the solutions written before the failure are in {}",
                        out.display()
                    );
                }
                return Err(text(e));
            }
        };
        let Some(solved) = solved else { return Ok(0) };
        let staging = staging.expect("rank 0 stages");
        staging.publish().map_err(|e| e.to_string())?;
        drop(staging);
        let written = solved.report.systems.iter().filter(|r| r.converged).count();
        let ranks_json = serde_json::to_value(&solved.ranks).unwrap_or_default();
        let code = finish(
            args,
            Input::Dir(&source),
            &out,
            &solved.report,
            written,
            Some(ranks_json),
        )
        .map_err(|e| e.to_string())?;
        if !args.quiet {
            crate::outln!("MPI: {}", solved.ranks.summary());
        }
        Ok(code)
    })();
    crate::distributed::cli_exit(ranks, code)
}

/// Writes the report and prints the summary of a solved sequence; the exit code (2 when
/// some system did not converge). `ranks` describes the MPI ranks, if any.
fn finish(
    args: &SolveSeqArgs,
    source: Input<'_>,
    out: &Path,
    report: &SequenceReport,
    written: usize,
    ranks: Option<serde_json::Value>,
) -> Result<u8, CliError> {
    let ordered_by = source.ordered_by();
    let input = args.dir.display().to_string();
    let (dir, npz) = match source {
        Input::Dir(_) => (Some(input), None),
        Input::Npz(_) => (None, Some(input)),
    };
    if let Some(p) = &args.json {
        let systems = report
            .systems
            .iter()
            .map(|r| SystemEntry {
                matrix: source.matrix(r.index),
                solution: r.converged.then(|| source.solution(r.index)),
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
                dir: dir.clone(),
                npz: npz.clone(),
                ordered_by,
            },
            Outcome {
                converged: report.failed.is_empty(),
                summary: report.summary(),
            },
            Body {
                dir,
                npz,
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
                ranks,
            },
        )
        .timing("wall_s", report.wall_s)
        .timing("solve_s", report.solve_s)
        .timing("ordering_s", report.ordering_s)
        .timing("assembly_s", report.assembly_s);
        write_json(p, &envelope)?;
    }
    if !args.quiet {
        crate::outln!(
            "Solved {} systems from {} ({}): {}",
            report.systems.len(),
            args.dir.display(),
            report.plan.reason,
            report.summary()
        );
        match source {
            Input::Dir(_) => crate::outln!("Wrote {written} solutions to {}", out.display()),
            Input::Npz(_) => crate::outln!(
                "Wrote {written} of {} solutions to {} (x, iterations, relres, converged)",
                report.systems.len(),
                out.display()
            ),
        }
    }
    if report.failed.is_empty() {
        Ok(0)
    } else {
        for &i in &report.failed {
            let r = &report.systems[i];
            match source {
                Input::Dir(s) => crate::errln!(
                    "error: A_{}.mtx did not converge: {} (no solution written)",
                    s.id(i),
                    r.status.describe(r.relres)
                ),
                Input::Npz(_) => crate::errln!(
                    "error: system {i} of {} did not converge: {} (its row of x is NaN)",
                    args.dir.display(),
                    r.status.describe(r.relres)
                ),
            }
        }
        Ok(2)
    }
}
