//! `solvent datagen`: a PDE data set for neural operators, solved as a sequence
//! ([`solvent_solvers::datagen::generate`]).

use super::sequence_args::{Bar, SequenceArgs};
use super::{check_output_path, named, write_json, CliError};
use clap::Args;
use serde::Serialize;
use solvent_problems::generators::PdeFamily;
use solvent_solvers::datagen::{
    check_output, device_name, export_systems, generate, grid_name, Datagen, DatagenConfig, Precision,
    Speedup,
};
use solvent_solvers::krylov::Method;
use solvent_solvers::sequence::{SeqMethod, SequenceReport};
use solvent_solvers::{Envelope, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `solvent datagen`.
#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// PDE family: darcy (−∇·(a∇u) = 1, a = exp(GRF)), darcy-threshold (a = 12/3), helmholtz
    /// (−Δu − k²u = f, random k and f), convdiff (random divergence-free velocity), poisson-rhs
    /// (only f varies) on the unit square; darcy3d, helmholtz3d, convdiff3d (v = curl of a
    /// random vector potential; coeff holds |v|) on the unit cube.
    #[arg(value_parser = named::<PdeFamily>())]
    pub family: PdeFamily,
    /// Interior grid points per side N (n = N² unknowns per system, N³ for the 3-D
    /// families; default 64, 32 for the 3-D families, or with --preset published the
    /// paper's: 80 for darcy, 100 for helmholtz).
    #[arg(long)]
    pub grid: Option<usize>,
    /// standard (Solvent's families) or published (the SKR paper's experiments: its Darcy
    /// operator L·diag(a), fields with α = 2.5 and τ = 7, Helmholtz k ~ U(0, 1), its grids;
    /// `--strategy skr --baseline` then reproduces its iteration ratios, see docs/datagen.md).
    #[arg(long, value_enum, default_value = "standard")]
    pub preset: Preset,
    /// Number of samples K.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seed of every random draw (sample i depends only on the seed and i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Solver flags.
    #[command(flatten)]
    pub seq: SequenceArgs,
    /// Also solve the same systems with `independent` and print the speed-up.
    #[arg(long)]
    pub baseline: bool,
    /// Output: .npz, or .h5 with the hdf5 feature (PDEBench layout).
    #[arg(long, default_value = "data.npz")]
    pub out: PathBuf,
    /// Element type of the stored fields.
    #[arg(long, value_parser = named::<Precision>(), default_value = "f32")]
    pub precision: Precision,
    /// Write the machine-readable report (per-sample iterations, times, residuals) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Instead of solving, write the assembled systems to this .npz (CSR arrays sharing
    /// one pattern: indptr, indices, data K × nnz, b K × n, features), the layout
    /// `solvent solve-seq FILE.npz` reads — to hand the same systems to other solvers.
    #[arg(long, conflicts_with_all = ["baseline", "json"])]
    pub systems: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Whose experiment settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Solvent's families.
    Standard,
    /// The SKR paper's.
    Published,
}

/// What `--json` holds besides the envelope's fields.
#[derive(Serialize)]
struct Inputs {
    family: PdeFamily,
    grid: usize,
    count: usize,
    seed: u64,
}

/// The command's own report fields.
#[derive(Serialize)]
struct Body<'a> {
    out: String,
    metadata: &'a serde_json::Value,
    sequence: &'a SequenceReport,
    baseline: Option<&'a SequenceReport>,
    speedup: Option<Speedup>,
    wall_s: f64,
    /// Per-rank statistics of an MPI run.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranks: Option<serde_json::Value>,
}

/// Runs `solvent datagen` (over the ranks of an MPI job when there are several).
pub fn run(args: &DatagenArgs) -> Result<ExitCode, CliError> {
    #[cfg(feature = "mpi")]
    if let Some(ranks) = crate::distributed::cli_ranks() {
        if args.systems.is_some() {
            return Err(CliError::Usage(
                "--systems writes one file from one process: run it without mpirun".into(),
            ));
        }
        return Ok(run_distributed(args, &ranks));
    }
    let (grid, config) = settings(args)?;
    if let Some(path) = &args.systems {
        return export(args, grid, &config, path);
    }
    let out = generate(&config, &mut Bar::new(args.quiet))?;
    finish(args, grid, &out, None).map(ExitCode::from)
}

/// `mpirun -n R solvent datagen …`: the ranks make the data set
/// ([`crate::distributed::datagen`]); rank 0 writes it and reports. Every rank returns
/// the same exit code; rank 0 prints the failures of every rank.
#[cfg(feature = "mpi")]
fn run_distributed(args: &DatagenArgs, ranks: &crate::distributed::Ranks) -> ExitCode {
    let rank = ranks.rank();
    let code = (|| -> Result<u8, String> {
        let (grid, config) = ranks.agree(settings(args)).map_err(|e| e.to_string())?;
        let made =
            crate::distributed::datagen::generate(ranks, &config, &mut Bar::new(args.quiet || rank != 0))
                .map_err(|e| e.to_string())?;
        let Some(made) = made else { return Ok(0) };
        let report = serde_json::to_value(&made.ranks).unwrap_or_default();
        let code = finish(args, grid, &made.datagen, Some(report)).map_err(|e| e.to_string())?;
        if !args.quiet {
            crate::outln!("MPI: {}", made.ranks.summary());
        }
        Ok(code)
    })();
    crate::distributed::cli_exit(ranks, code)
}

/// `--systems`: the assembled systems, unsolved, in solve-seq's .npz layout.
fn export(
    args: &DatagenArgs,
    grid: usize,
    config: &DatagenConfig,
    path: &std::path::Path,
) -> Result<ExitCode, CliError> {
    check_output_path(path, "the systems")?;
    let bar = (!args.quiet).then(|| indicatif::ProgressBar::new(args.count as u64));
    export_systems(config, path, &mut |i| {
        if let Some(b) = &bar {
            b.set_position(i as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        crate::outln!(
            "Wrote {} {} systems on a {} grid → {}",
            args.count,
            args.family.as_str(),
            grid_name(grid, args.family.dim()),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The grid and the library settings, after every check that needs no work.
fn settings(args: &DatagenArgs) -> Result<(usize, DatagenConfig), CliError> {
    args.seq.validate()?;
    let published = args.preset == Preset::Published;
    let grid = args.grid.unwrap_or(match (published, args.family) {
        (true, PdeFamily::Darcy) => 80,
        (true, PdeFamily::Helmholtz) => 100,
        (_, f) if f.dim() == 3 => 32,
        _ => 64,
    });
    if grid < 2 {
        return Err(CliError::Usage(format!(
            "--grid must be at least 2, got {}",
            grid
        )));
    }
    if args.count == 0 {
        return Err(CliError::Usage("--count must be at least 1".into()));
    }
    check_output_path(&args.out, "the data set")?;
    if let Some(p) = &args.json {
        check_output_path(p, "the report")?;
    }
    super::check_files(
        &[],
        &[
            (Some(args.out.as_path()), "the data set"),
            (args.json.as_deref(), "the report"),
            (args.systems.as_deref(), "the systems"),
        ],
    )?;
    check_output(&args.out, args.count, grid, args.family.dim(), args.precision)
        .map_err(|e| CliError::Usage(format!("--out {e}")))?;
    let config = DatagenConfig {
        seed: args.seed,
        sequence: args.seq.config(),
        tol: args.seq.tol,
        max_iters: args.seq.max_iters,
        baseline: args.baseline,
        precision: args.precision,
        published,
        ..DatagenConfig::new(args.family, grid, args.count)
    };
    Ok((grid, config))
}

/// Writes the data set and the report, prints the summary; `ranks` describes the MPI
/// ranks that made it, if any.
fn finish(
    args: &DatagenArgs,
    grid: usize,
    out: &Datagen,
    ranks: Option<serde_json::Value>,
) -> Result<u8, CliError> {
    out.dataset.write(&args.out, args.precision)?;
    let report = &out.report;
    let speedup = out.speedup();
    if let Some(p) = &args.json {
        let converged = report.failed.is_empty();
        let envelope = Envelope::new(
            "datagen",
            Inputs {
                family: args.family,
                grid,
                count: args.count,
                seed: args.seed,
            },
            Outcome {
                converged,
                summary: report.summary(),
            },
            Body {
                out: args.out.display().to_string(),
                metadata: &out.dataset.metadata,
                sequence: report,
                baseline: out.baseline.as_ref(),
                speedup,
                wall_s: out.wall_s,
                ranks,
            },
        )
        .timing("wall_s", out.wall_s)
        .timing("solve_s", report.solve_s)
        .timing("ordering_s", report.ordering_s)
        .timing("assembly_s", report.assembly_s);
        write_json(p, &envelope)?;
    }
    let worst = out.dataset.relres.iter().cloned().fold(0.0, f64::max);
    if !args.quiet {
        crate::outln!(
            "Generated {} {} samples on a {} grid (n = {}) → {}",
            args.count,
            args.family.as_str(),
            grid_name(grid, args.family.dim()),
            out.dataset.points(),
            args.out.display(),
        );
        let device = device_name(report);
        crate::outln!(
            "Plan ({}): {}",
            if device == "gpu" {
                "gpu"
            } else {
                args.seq.strategy.as_str()
            },
            report.plan.reason
        );
        crate::outln!(
            "Solve: {} iterations, {:.3} s ({:.2} ms per sample; ordering {:.3} s, assembly {:.3} s){}{}; largest relative residual {worst:.2e} (tol {:.0e})",
            report.total_iterations,
            report.solve_s,
            1e3 * report.solve_s / args.count as f64,
            report.ordering_s,
            report.assembly_s,
            report.chains_note(),
            report.fallback_note(),
            args.seq.tol
        );
        if let Some(b) = &out.baseline {
            crate::outln!("{}", baseline_line(b, report));
        }
    }
    if report.failed.is_empty() {
        Ok(0)
    } else {
        crate::errln!(
            "error: {} of {} systems did not reach tol {:.0e} (samples {:?}); their relres is in the data set",
            report.failed.len(),
            args.count,
            args.seq.tol,
            &report.failed[..report.failed.len().min(10)]
        );
        Ok(2)
    }
}

/// The summary line of the baseline and the speed-up over it.
fn baseline_line(b: &SequenceReport, report: &SequenceReport) -> String {
    let method = match b.plan.method {
        SeqMethod::Krylov {
            method: Method::Gmres,
        } => format!("GMRES({})", b.plan.restart),
        SeqMethod::Krylov { method } => method.as_str().to_uppercase(),
        other => format!("{other:?}"),
    };
    let its = if report.total_iterations == 0 {
        "the direct solve needs no iterations".to_string()
    } else {
        format!(
            "{:.1}x fewer iterations",
            b.total_iterations as f64 / report.total_iterations as f64
        )
    };
    format!(
        "Baseline ({method} from zero per system, preconditioner {}): {} iterations, {:.3} s{} → {:.2}x faster; {its}",
        b.plan.precond.as_str(),
        b.total_iterations,
        b.solve_s,
        b.chains_note(),
        b.solve_s / report.solve_s.max(1e-12),
    )
}
