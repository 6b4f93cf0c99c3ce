//! The `solvent` CLI: one module per subcommand.
//!
//! Exit codes: 0 when the run converged, 2 when it ran but did not converge
//! (with one line saying why and the residual reached), 1 for bad input or
//! any other error (one line naming what and where).

pub mod allocate;
pub mod bcd;
pub mod bench;
pub mod bilevel;
pub mod complete;
pub mod datagen;
#[cfg(feature = "nn")]
pub mod embed;
#[cfg(feature = "nn")]
pub mod prune_eval;
pub mod sequence_args;
pub mod solve;
pub mod solve_seq;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use solvent_linalg::Named;
use std::path::Path;
use std::process::ExitCode;

/// Prints a line to standard output. A closed pipe (`solvent … | head -1`) is the reader's
/// choice, not an error: the line is dropped, never a panic (files are written before
/// the summary is printed).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Prints a line to standard error, ignoring a closed stream (see [`outln!`]).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

/// Refuses (before any work) an output that is the same file as an input or another
/// output: `inputs` and `outputs` are `(path, what)`, `None`s skipped.
pub fn check_files(
    inputs: &[(Option<&Path>, &str)],
    outputs: &[(Option<&Path>, &str)],
) -> Result<(), CliError> {
    fn given<'a>(v: &[(Option<&'a Path>, &'a str)]) -> Vec<(&'a Path, &'a str)> {
        v.iter().filter_map(|&(p, w)| p.map(|p| (p, w))).collect()
    }
    Ok(solvent_linalg::io::check_distinct(
        &given(inputs),
        &given(outputs),
    )?)
}

/// The value parser of a [`Named`] setting: its spellings as the possible values.
pub fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::names()).map(|s| T::parse(&s).expect("listed values parse"))
}

/// The value parser of a [`Named`] setting restricted to `allowed` spellings.
pub fn named_of<T: Named + Clone + Send + Sync>(
    allowed: &'static [&'static str],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(allowed).map(|s| T::parse(&s).expect("listed values parse"))
}

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "solvent",
    version,
    about = "Optimization solver engine: sparse linear algebra and solver families"
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve a sparse linear system A x = b from a Matrix Market file (or a generated one).
    #[command(allow_negative_numbers = true)]
    Solve(solve::SolveArgs),
    /// Generate a PDE data set (coefficients and solutions) by solving a sorted, recycled sequence.
    #[command(allow_negative_numbers = true)]
    Datagen(datagen::DatagenArgs),
    /// Solve a sequence of systems A_i x_i = b_i read from a directory (A_0000.mtx, b_0000.mtx, …).
    #[command(allow_negative_numbers = true)]
    SolveSeq(solve_seq::SolveSeqArgs),
    /// Complete a sparsely observed matrix (ratings) with a low-rank model: alternating
    /// minimisation (CG rows) or exact ALS.
    #[command(allow_negative_numbers = true)]
    Complete(complete::CompleteArgs),
    /// Allocate per-layer compression under a global budget (exact DP, Lagrangian bound,
    /// baselines), from an options table or a safetensors model.
    #[command(allow_negative_numbers = true)]
    Allocate(Box<allocate::AllocateArgs>),
    /// Evaluate layer-wise pruning allocations on a BERT-family model: uniform, global
    /// magnitude, ERK, LAMP, OWL, the DP on output-distortion curves and its evolutionary
    /// refinement, at several sparsities, on held-out sentences (needs the `nn` feature).
    #[cfg(feature = "nn")]
    PruneEval(Box<prune_eval::PruneEvalArgs>),
    /// Sentence embeddings of a BERT-family model directory (needs the `nn` feature).
    #[cfg(feature = "nn")]
    Embed(embed::EmbedArgs),
    /// Bilevel optimization by first-order penalty methods (F2SA and implicit
    /// differentiation as baselines).
    #[command(allow_negative_numbers = true)]
    Bilevel(Box<bilevel::BilevelArgs>),
    /// Block coordinate descent (greedy block rules, message passing on tree blocks, active
    /// sets) for least squares, logistic/softmax regression, Lasso, NNLS and label propagation.
    #[command(allow_negative_numbers = true)]
    Bcd(Box<bcd::BcdArgs>),
    /// Run a benchmark suite (TOML): Solvent's solvers and external ones on the same
    /// problems; traces, suboptimality, time to target, CSV/JSON lines, SVG plots, HTML.
    Bench(bench::BenchArgs),
}

/// Everything that makes a command fail before or instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the numerical core (files, sizes, factorizations).
    #[error(transparent)]
    Linalg(#[from] solvent_linalg::LinalgError),
    /// From problem construction.
    #[error(transparent)]
    Problem(#[from] solvent_problems::ProblemError),
    /// From a solver.
    #[error(transparent)]
    Solver(#[from] solvent_solvers::SolverError),
    /// From the model runner.
    #[cfg(feature = "nn")]
    #[error(transparent)]
    Nn(#[from] solvent_nn::NnError),
    /// Invalid combination of arguments.
    #[error("{0}")]
    Usage(String),
}

/// Runs a parsed command line and returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Solve(args) => solve::run(&args),
        Command::Datagen(args) => datagen::run(&args),
        Command::SolveSeq(args) => solve_seq::run(&args),
        Command::Complete(args) => complete::run(&args),
        Command::Allocate(args) => allocate::run(&args),
        #[cfg(feature = "nn")]
        Command::PruneEval(args) => prune_eval::run(&args),
        #[cfg(feature = "nn")]
        Command::Embed(args) => embed::run(&args),
        Command::Bilevel(args) => bilevel::run(&args),
        Command::Bcd(args) => bcd::run(&args),
        Command::Bench(args) => bench::run(&args),
    }
}

/// Fails early (before any work) when an output file's directory does not exist.
pub fn check_output_path(path: &Path, what: &str) -> Result<(), CliError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "cannot write {what} to {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Run options from the arguments every solver subcommand shares: the tolerance, the
/// iteration limit and an optional `--time-limit` in seconds (which must be positive).
pub fn run_options(
    tol: f64,
    max_iters: usize,
    time_limit: Option<f64>,
) -> Result<solvent_solvers::Options, CliError> {
    let mut options = solvent_solvers::Options::default().tol(tol).max_iters(max_iters);
    if let Some(t) = time_limit {
        if !(t > 0.0 && t.is_finite()) {
            return Err(CliError::Usage(format!("--time-limit must be positive, got {t}")));
        }
        options = options.time_limit(std::time::Duration::from_secs_f64(t));
    }
    Ok(options)
}

/// Runs a solver through the shared loop with a progress bar unless `quiet`.
pub fn run_with_progress<P: ?Sized, S: solvent_solvers::Solver<P>>(
    problem: &P,
    solver: &mut S,
    options: &solvent_solvers::Options,
    quiet: bool,
) -> Result<solvent_solvers::RunOutput<S::State>, CliError> {
    let mut bar = solvent_solvers::ProgressObserver::new();
    let mut observers: Vec<&mut dyn solvent_solvers::Observer> = Vec::new();
    if !quiet {
        observers.push(&mut bar);
    }
    Ok(solvent_solvers::run_observed(
        problem,
        solver,
        options,
        &mut observers,
    )?)
}

/// Writes a report (any `Serialize` value, usually an [`solvent_solvers::Envelope`]) to
/// `path` as pretty JSON, atomically.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), CliError> {
    solvent_linalg::io::atomic_write(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

/// The exit status of a run that may stop unconverged: success, or exit 2 with the
/// reason on standard error (even under `--quiet`) and what became of `--out`
/// (`written`: whether `--keep-unconverged` wrote the last iterate there).
pub fn converged_exit(
    report: &solvent_solvers::Report,
    converged: bool,
    out: Option<&Path>,
    written: bool,
) -> ExitCode {
    if converged {
        return ExitCode::SUCCESS;
    }
    crate::errln!(
        "error: {}: {}{}",
        report.solver,
        report.status.describe(report.metrics.value),
        match (out, written) {
            (Some(p), true) => format!(" (--keep-unconverged: the last iterate is in {})", p.display()),
            (Some(_), false) =>
                " (no solution written; --keep-unconverged writes the last iterate)".to_string(),
            _ => String::new(),
        }
    );
    ExitCode::from(2)
}
