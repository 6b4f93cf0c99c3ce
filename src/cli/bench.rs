//! `solvent bench SUITE.toml`: runs a benchmark suite ([`crate::bench::run_suite`]).

use super::CliError;
use crate::bench::suite::Suite;
use crate::bench::{run_suite, BenchOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `solvent bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The suite: a TOML file of problems, solvers (Solvent's, with parameter grids, or
    /// external commands) and seeds (docs/bench.md; built-in suites in bench/suites/).
    pub suite: PathBuf,
    /// Output directory: results.csv, results.jsonl, SVG plots, summary.md, index.html.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Only the runs whose `problem/solver` contains this text.
    #[arg(long)]
    pub only: Option<String>,
    /// Repetitions of every run (default: the suite's).
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Seconds per run at most (default: the suite's).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Keep the runs already recorded in OUT and run the others.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar and no summary table.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `solvent bench`: exit 0 when every run ran (ok or timed out; skipped peers
/// included), 2 when some run failed (the suite still finishes and writes everything).
pub fn run(args: &BenchArgs) -> Result<ExitCode, CliError> {
    let suite = Suite::read(&args.suite).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.repeat == Some(0) {
        return Err(CliError::Usage("--repeat must be at least 1".into()));
    }
    let opts = BenchOptions {
        out: args.out.clone(),
        only: args.only.clone(),
        repeat: args.repeat,
        timeout: args.timeout,
        resume: args.resume,
        progress: !args.quiet,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        // external commands run where `solvent bench` was started (their templates name
        // scripts relative to it, e.g. bench/peers/…)
        cwd: PathBuf::from("."),
    };
    let out = run_suite(&suite, &opts).map_err(|e| CliError::Usage(e.to_string()))?;
    if !args.quiet {
        crate::outln!("{}", out.markdown);
        crate::outln!(
            "{} runs ({} resumed) → {}/index.html",
            out.records.len(),
            out.resumed,
            args.out.display()
        );
    }
    let failed: Vec<&str> = out
        .records
        .iter()
        .filter(|r| r.run.status == crate::bench::trace::RunStatus::Failed)
        .map(|r| r.id.as_str())
        .collect();
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        crate::errln!(
            "error: {} of {} runs failed (their reasons are in results.csv): {}",
            failed.len(),
            out.records.len(),
            failed.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        );
        Ok(ExitCode::from(2))
    }
}
