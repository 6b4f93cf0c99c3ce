//! Flags shared by the sequence commands (`datagen`, `solve-seq`) and their progress bar.

use super::{named, named_of, CliError};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use solvent_linalg::precond::PrecondKind;
use solvent_linalg::Named;
use solvent_solvers::krylov::Method;
use solvent_solvers::policy::Device;
use solvent_solvers::sequence::{SequenceConfig, SequenceProgress, Strategy, SystemRecord};
use solvent_solvers::Options;

/// A preconditioner choice; `None` lets the method choose (`auto`).
#[derive(Clone, Copy, Debug)]
pub struct PrecondChoice(pub Option<PrecondKind>);

/// `auto` or a preconditioner's name.
pub(crate) fn precond_parser() -> impl clap::builder::TypedValueParser<Value = PrecondChoice> {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    let names: Vec<&'static str> = std::iter::once("auto").chain(PrecondKind::names()).collect();
    PossibleValuesParser::new(names).map(|s| PrecondChoice(PrecondKind::parse(&s)))
}

/// How to solve a sequence.
#[derive(Debug, Args)]
pub struct SequenceArgs {
    /// auto (every trick, chosen per sequence: CG + AMG on large diagonally dominant SPD
    /// operators, direct with symbolic reuse on other 2-D-like fill, else sorted,
    /// warm-started CG + IC(0) or GMRES + ILU(0) (GCRO-DR(m + 5, 5) from 2.5·10⁵
    /// unknowns)), skr (the published SKR
    /// method: sorted, GCRO-DR(m, k) from zero, the recycled space refreshed every cycle),
    /// independent (GMRES(m) from zero each time: the published baseline).
    #[arg(long, value_parser = named::<Strategy>(), default_value = "auto")]
    pub strategy: Strategy,
    /// Method for `independent` (gmres, cg, minres, bicgstab, direct); `auto` accepts only `direct`.
    #[arg(long, value_parser = named_of::<Method>(&["gmres", "gcrodr", "cg", "minres", "bicgstab", "direct"]))]
    pub method: Option<Method>,
    /// Preconditioner. auto: chosen by the strategy — for skr and independent none when the
    /// first matrix is SPD-like and diagonally dominant (Darcy, Poisson: as published),
    /// ILU(0) otherwise (Helmholtz, convection–diffusion, where unpreconditioned restarted
    /// methods stall; the paper used additive Schwarz on Helmholtz).
    #[arg(long, value_parser = precond_parser(), default_value = "auto")]
    pub precond: PrecondChoice,
    /// Krylov basis size m (GMRES(m), GCRO-DR(m, k)).
    #[arg(long, default_value_t = 40)]
    pub restart: usize,
    /// Recycled vectors k of GCRO-DR (default: 20 for skr, the published GCRO-DR(m, k);
    /// 5 for auto, which runs GCRO-DR(m + k, k) on nonsymmetric sequences from 2.5·10⁵
    /// unknowns so that each cycle builds as many new Krylov vectors as GMRES(m); naming
    /// it under auto asks for GCRO-DR(m + k, k) at any size).
    #[arg(long)]
    pub recycle: Option<usize>,
    /// Refresh GCRO-DR's recycled space every N cycles (default: 1 for skr, the published
    /// method; 4 for auto, measured ~30% faster on Darcy for ~7% more iterations).
    #[arg(long)]
    pub refresh_every: Option<usize>,
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
    #[arg(long, value_parser = named::<Device>(), default_value = "auto")]
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
        if self.refresh_every == Some(0) {
            return Err(CliError::Usage("--refresh-every must be at least 1".into()));
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
            device: self.device,
            refresh_every: self.refresh_every,
            ..SequenceConfig::default()
        }
    }
    /// Per-system stopping rules.
    pub fn options(&self) -> Options {
        Options::default().tol(self.tol).max_iters(self.max_iters)
    }
}

/// A progress bar per sequence (hidden when quiet or not a terminal).
pub(crate) struct Bar {
    quiet: bool,
    bar: ProgressBar,
}

impl Bar {
    /// A bar that shows nothing until a sequence starts.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            bar: ProgressBar::hidden(),
        }
    }
}

impl SequenceProgress for Bar {
    fn start(&mut self, label: &str, count: usize) {
        if self.quiet {
            return;
        }
        self.bar = ProgressBar::new(count as u64);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} systems, {elapsed} ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        self.bar.set_prefix(label.to_string());
    }
    fn system(&mut self, rec: &SystemRecord) {
        self.bar.inc(1);
        self.bar
            .set_message(format!("{} its, residual {:.1e}", rec.iterations, rec.relres));
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
