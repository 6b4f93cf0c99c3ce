//! Flags shared by the sequence commands (`datagen`, `solve-seq`) and the
//! sequence run with its progress bar.

use super::device::{self, Device, GpuJob};
use super::solve::{precond_parser, PrecondChoice};
use super::CliError;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use solvent_solvers::krylov::Method;
use solvent_solvers::sequence::{solve_sequence, SequenceConfig, SequenceReport, Strategy, SystemSource};
use solvent_solvers::Options;

/// How to solve a sequence.
#[derive(Debug, Args)]
pub struct SequenceArgs {
    /// auto (every trick, chosen per sequence), skr (sorted GCRO-DR from zero: the published
    /// method), independent (GMRES(m) from zero each time: the published baseline).
    #[arg(long, value_parser = strategy_parser(), default_value = "auto")]
    pub strategy: Strategy,
    /// Method for `independent` (gmres, cg, minres, bicgstab, direct); `auto` accepts only `direct`.
    #[arg(long, value_parser = seq_method_parser())]
    pub method: Option<Method>,
    /// Preconditioner (auto: none for skr/independent, chosen by auto).
    #[arg(long, value_parser = precond_parser(), default_value = "auto")]
    pub precond: PrecondChoice,
    /// Krylov basis size m (GMRES(m), GCRO-DR(m, k)).
    #[arg(long, default_value_t = 40)]
    pub restart: usize,
    /// Recycled vectors k of GCRO-DR.
    #[arg(long, default_value_t = 20)]
    pub recycle: usize,
    /// Tolerance on each system's relative residual ‖b − Ax‖/‖b‖.
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// Iteration limit per system.
    #[arg(long, default_value_t = 20_000)]
    pub max_iters: usize,
    /// Where to solve: cpu (the sequence solver), gpu (wgpu: batches with device CG when
    /// SPD, GMRES otherwise; --method gcrodr recycles along the sequence instead; refined in
    /// f64), auto (a hardware GPU when the run has ≥ 10⁶ unknowns in all and its
    /// method/preconditioner run there).
    #[arg(long, value_enum, default_value = "auto")]
    pub device: Device,
    /// Solve the (sorted) sequence as this many contiguous chains at once, one thread
    /// each, every chain carrying its own recycled space and warm start (its first
    /// system starts cold); 0: one chain per core (then results depend on the machine's
    /// core count). Results depend on N, not on timing. Runs on the CPU: with --device
    /// auto it keeps the job there, with --device gpu it is an error.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
}

impl SequenceArgs {
    /// Checks the numeric flags.
    pub fn validate(&self) -> Result<(), CliError> {
        if !(self.tol.is_finite() && self.tol > 0.0 && self.tol < 1.0) {
            return Err(CliError::Usage(format!(
                "--tol must be in (0, 1), got {}",
                self.tol
            )));
        }
        if self.restart < 2 {
            return Err(CliError::Usage(format!(
                "--restart must be at least 2, got {}",
                self.restart
            )));
        }
        if self.max_iters == 0 {
            return Err(CliError::Usage("--max-iters must be at least 1".into()));
        }
        Ok(())
    }
    /// The sequence configuration the flags ask for.
    pub fn config(&self) -> SequenceConfig {
        SequenceConfig {
            strategy: self.strategy,
            method: self.method,
            precond: self.precond.0,
            restart: self.restart,
            recycle: self.recycle,
            chains: self.jobs,
            ..SequenceConfig::default()
        }
    }
    /// Whether the flags allow the GPU path (strategy auto or independent; the GPU
    /// solves systems independently, so `skr` stays on the CPU).
    pub fn gpu_capable(&self) -> Result<GpuJob, String> {
        if self.strategy == Strategy::Skr {
            return Err("--strategy skr (sorted GCRO-DR) runs on the CPU only".into());
        }
        if self.jobs != 1 {
            return Err(format!(
                "--jobs {} (parallel chains) runs on the CPU only",
                self.jobs
            ));
        }
        let method = device::gpu_method(self.method, self.precond.0)?;
        Ok(GpuJob {
            method,
            jacobi: self.precond.0 != Some(solvent_linalg::precond::PrecondKind::None),
            tol: self.tol,
            max_iters: self.max_iters,
            restart: self.restart,
            recycle: self.recycle,
        })
    }
    /// Per-system stopping rules.
    pub fn options(&self) -> Options {
        Options::default().tol(self.tol).max_iters(self.max_iters)
    }
}

fn strategy_parser() -> impl TypedValueParser<Value = Strategy> {
    PossibleValuesParser::new(["auto", "skr", "independent"])
        .map(|s| Strategy::parse(&s).expect("listed values parse"))
}

fn seq_method_parser() -> impl TypedValueParser<Value = Method> {
    PossibleValuesParser::new(["gmres", "gcrodr", "cg", "minres", "bicgstab", "direct"])
        .map(|s| Method::parse(&s).expect("listed values parse"))
}

/// A progress bar over `count` systems (hidden when `quiet`).
pub(crate) fn progress(count: usize, label: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} systems, {elapsed} ({eta} left) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// Runs one sequence with a progress bar.
pub(crate) fn run_with_progress(
    source: &dyn SystemSource,
    plan: &solvent_solvers::sequence::SequencePlan,
    options: &Options,
    label: &str,
    quiet: bool,
    on_done: &mut solvent_solvers::sequence::OnDone<'_>,
) -> Result<SequenceReport, CliError> {
    let bar = progress(source.len(), label, quiet);
    let result = solve_sequence(source, plan, options, &mut |rec, x| {
        bar.inc(1);
        bar.set_message(format!("{} its, residual {:.1e}", rec.iterations, rec.relres));
        on_done(rec, x)
    });
    bar.finish_and_clear();
    Ok(result?)
}
