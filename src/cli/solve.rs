//! `solvent solve`: one sparse linear system, from a file or generated.

use super::device::{self, Device, GpuJob};
use super::{check_output_path, write_json, CliError};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use solvent_linalg::io::matrix_market;
use solvent_linalg::precond::PrecondKind;
use solvent_linalg::vector::relative_residual;
use solvent_linalg::CsrMatrix;
use solvent_problems::generators;
use solvent_problems::LinearSystemProblem;
use solvent_solvers::krylov::{solve_system, Method, SolveConfig};
use solvent_solvers::{JsonLinesObserver, Observer, Options, ProgressObserver};
use std::path::PathBuf;
use std::process::ExitCode;

/// Built-in matrices for `--generate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// 5-point Poisson (SPD).
    Poisson2d,
    /// Variable-coefficient diffusion, harmonic-mean faces (SPD).
    Diffusion2d,
    /// Upwind convection–diffusion (nonsymmetric).
    Convdiff2d,
    /// Darcy flow with a log-normal permeability exp(GRF), GRF α = 2, τ = 3, seeded by --seed (SPD).
    Darcy2d,
    /// Shifted Laplacian −Δ − σ with σ = 20π², ten times the smallest eigenvalue of −Δ (symmetric indefinite).
    Shifted2d,
}

fn method_parser() -> impl clap::builder::TypedValueParser<Value = Method> {
    PossibleValuesParser::new(["auto", "cg", "gmres", "gcrodr", "bicgstab", "minres", "direct"])
        .map(|s| Method::parse(&s).expect("listed values parse"))
}

/// A preconditioner choice; `None` lets the method choose (`auto`).
#[derive(Clone, Copy, Debug)]
pub struct PrecondChoice(pub Option<PrecondKind>);

pub(crate) fn precond_parser() -> impl clap::builder::TypedValueParser<Value = PrecondChoice> {
    PossibleValuesParser::new(["auto", "none", "jacobi", "ssor", "ilu0", "ic0"])
        .map(|s| PrecondChoice(PrecondKind::parse(&s)))
}

/// Arguments of `solvent solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Matrix Market file with A; without it, a generated matrix is solved.
    pub matrix: Option<PathBuf>,
    /// Matrix to generate when no file is given (grid × grid unknowns).
    #[arg(long, value_enum, default_value = "poisson2d")]
    pub generate: Generated,
    /// Grid size for --generate.
    #[arg(long, default_value_t = 512)]
    pub grid: usize,
    /// Seed of the random coefficient field for --generate darcy2d.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Right-hand side as a Matrix Market vector (array n×1 or coordinate).
    #[arg(long, conflicts_with = "rhs_ones")]
    pub rhs: Option<PathBuf>,
    /// Use b = (1, …, 1) (the default when --rhs is absent).
    #[arg(long)]
    pub rhs_ones: bool,
    /// Solution method: auto (chosen from the matrix), cg (SPD), gmres (right-preconditioned,
    /// restarted), gcrodr (GCRO-DR(m, m/2): GMRES with deflated restarting), bicgstab, minres
    /// (symmetric, also indefinite), direct (faer Cholesky or LU).
    #[arg(long, value_parser = method_parser(), default_value = "auto")]
    pub method: Method,
    /// Preconditioner: auto (chosen for the method), none, jacobi, ssor (symmetric Gauss–Seidel),
    /// ilu0, ic0 (SPD only).
    #[arg(long, value_parser = precond_parser(), default_value = "auto")]
    pub precond: PrecondChoice,
    /// Tolerance on the relative residual ‖b − Ax‖/‖b‖.
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// Iteration limit.
    #[arg(long, default_value_t = 10_000)]
    pub max_iters: usize,
    /// Stop after this many seconds of solver time (status: time limit).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// GMRES restart length.
    #[arg(long, default_value_t = 40)]
    pub restart: usize,
    /// Write the solution here (Matrix Market array), only when converged.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the machine-readable report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the trace as JSON lines here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Where to solve: cpu, gpu (wgpu; CG or GMRES with Jacobi, refined in f64), auto (a
    /// hardware GPU for n ≥ 10⁶ when the method and preconditioner run there).
    #[arg(long, value_enum, default_value = "auto")]
    pub device: Device,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

fn load_matrix(args: &SolveArgs) -> Result<(CsrMatrix, String), CliError> {
    if let Some(p) = &args.matrix {
        let a = matrix_market::read_matrix(p)?;
        return Ok((a, p.display().to_string()));
    }
    let m = args.grid;
    let a = match args.generate {
        Generated::Poisson2d => generators::poisson2d(m)?,
        Generated::Diffusion2d => generators::diffusion2d(m, generators::smooth_coefficient)?,
        Generated::Convdiff2d => generators::convection_diffusion2d(m, 0.01, 1.0, 0.5)?,
        Generated::Darcy2d => {
            let grf = generators::GaussianRandomField::new(m, generators::GrfParams::default(), args.seed)?;
            generators::darcy2d(m, &grf.sample(0), generators::DarcyCoefficient::LogNormal)?
        }
        Generated::Shifted2d => {
            generators::shifted_laplacian2d(m, 10.0 * 2.0 * std::f64::consts::PI.powi(2))?
        }
    };
    Ok((
        a,
        format!("generated {:?} on a {m}×{m} grid", args.generate).to_lowercase(),
    ))
}

/// Runs `solvent solve`.
pub fn run(args: &SolveArgs) -> Result<ExitCode, CliError> {
    for (p, what) in [
        (&args.out, "the solution"),
        (&args.json, "the report"),
        (&args.trace, "the trace"),
    ] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    let (a, source) = load_matrix(args)?;
    if a.nrows() != a.ncols() {
        return Err(CliError::Usage(format!(
            "{source}: the matrix is {}×{}, not square",
            a.nrows(),
            a.ncols()
        )));
    }
    let b = match &args.rhs {
        Some(p) => {
            let b = matrix_market::read_vector(p)?;
            if b.len() != a.nrows() {
                return Err(CliError::Usage(format!(
                    "{}: right-hand side has {} entries but the matrix has {} rows",
                    p.display(),
                    b.len(),
                    a.nrows()
                )));
            }
            b
        }
        None => vec![1.0; a.nrows()],
    };
    let (n, nnz) = (a.nrows(), a.nnz());
    let capable = device::gpu_method(Some(args.method), args.precond.0).and_then(|m| {
        if args.trace.is_some() || args.time_limit.is_some() {
            Err("--trace and --time-limit run on the CPU only".to_string())
        } else {
            Ok(m)
        }
    });
    let method = capable.clone().ok().flatten();
    if let Some(ctx) = device::open(args.device, n, capable.map(|_| ()), args.quiet)? {
        return solve_on_gpu(args, &ctx, method, &a, &b, &source);
    }
    let problem = LinearSystemProblem::new(a, b)?;
    let config = SolveConfig {
        method: args.method,
        precond: args.precond.0,
        restart: args.restart,
    };
    let mut options = Options::default().tol(args.tol).max_iters(args.max_iters);
    if let Some(t) = args.time_limit {
        if !(t.is_finite() && t > 0.0) {
            return Err(CliError::Usage(format!(
                "--time-limit must be a positive number of seconds, got {t}"
            )));
        }
        options = options.time_limit(std::time::Duration::from_secs_f64(t));
    }
    let mut progress = ProgressObserver::new();
    let mut trace = match &args.trace {
        Some(p) => Some((
            p.clone(),
            JsonLinesObserver::new(std::io::BufWriter::new(std::fs::File::create(p).map_err(
                |source| solvent_linalg::LinalgError::Io {
                    path: p.clone(),
                    source,
                },
            )?)),
        )),
        None => None,
    };
    let result = {
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        if !args.quiet {
            observers.push(&mut progress);
        }
        if let Some((_, t)) = trace.as_mut() {
            observers.push(t);
        }
        solve_system(&problem, &config, &options, &mut observers)
    };
    if let Some((p, t)) = trace {
        let finished = t.finish();
        if result.is_err() || finished.is_err() {
            let _ = std::fs::remove_file(&p);
        }
        finished?;
    }
    let sol = result?;
    let relres = relative_residual(problem.a(), &sol.x, problem.b());
    let converged = sol.report.status.is_converged();
    if let Some(p) = &args.json {
        let v = serde_json::json!({
            "command": "solve",
            "matrix": {"source": source, "n": n, "nnz": nnz},
            "tol": args.tol,
            "converged": converged,
            "relative_residual": relres,
            "report": sol.report,
        });
        write_json(p, &v)?;
    }
    if converged {
        if let Some(p) = &args.out {
            matrix_market::write_vector(p, &sol.x)?;
        }
    }
    let precond = serde_json::to_value(sol.plan.precond).unwrap_or_default();
    let summary = format!(
        "Solved {source} (n = {n}, nnz = {nnz}) with {} and preconditioner {} ({}). {}; true relative residual {relres:.3e}; setup {:.3} s.{}",
        sol.report.solver,
        precond.as_str().unwrap_or("?"),
        sol.plan.reason,
        sol.report.summary(),
        sol.setup_s,
        match (&args.out, converged) {
            (Some(p), true) => format!(" Solution written to {}.", p.display()),
            (Some(_), false) => " No solution written (not converged).".to_string(),
            _ => String::new(),
        }
    );
    if converged {
        if !args.quiet {
            println!("{summary}");
        }
        Ok(ExitCode::SUCCESS)
    } else {
        if !args.quiet {
            println!("{summary}");
        }
        eprintln!(
            "error: {} ({}): {}",
            sol.report.solver,
            source,
            sol.report.status.describe(relres)
        );
        Ok(ExitCode::from(2))
    }
}

/// `solve --device gpu`: device CG/GMRES with f64 refinement.
fn solve_on_gpu(
    args: &SolveArgs,
    ctx: &std::sync::Arc<solvent_gpu::GpuContext>,
    method: Option<solvent_gpu::GpuMethod>,
    a: &CsrMatrix,
    b: &[f64],
    source: &str,
) -> Result<ExitCode, CliError> {
    let job = GpuJob {
        method,
        jacobi: args.precond.0 != Some(PrecondKind::None),
        tol: args.tol,
        max_iters: args.max_iters,
        restart: args.restart,
        recycle: args.restart / 2,
    };
    let t = std::time::Instant::now();
    let (out, m) = device::solve_one(ctx, &job, a, b)?;
    let secs = t.elapsed().as_secs_f64();
    let (n, nnz) = (a.nrows(), a.nnz());
    let name = format!(
        "{} on {} ({} device precision, Jacobi {})",
        match m {
            solvent_gpu::GpuMethod::Cg => "CG".to_string(),
            solvent_gpu::GpuMethod::Gmres => format!("GMRES({})", args.restart),
            solvent_gpu::GpuMethod::Gcrodr => format!("GCRO-DR({}, {})", args.restart, args.restart / 2),
        },
        ctx.describe(),
        ctx.default_precision().as_str(),
        if job.jacobi { "on" } else { "off" }
    );
    if let Some(p) = &args.json {
        let v = serde_json::json!({
            "command": "solve",
            "device": "gpu",
            "adapter": ctx.describe(),
            "precision": ctx.default_precision().as_str(),
            "matrix": {"source": source, "n": n, "nnz": nnz},
            "method": name,
            "tol": args.tol,
            "converged": out.converged,
            "relative_residual": out.relres,
            "iterations": out.iterations,
            "refinement_rounds": out.rounds,
            "solve_s": secs,
            "note": out.note,
        });
        write_json(p, &v)?;
    }
    if out.converged {
        if let Some(p) = &args.out {
            matrix_market::write_vector(p, &out.x)?;
        }
    }
    if !args.quiet {
        println!(
            "Solved {source} (n = {n}, nnz = {nnz}) with {name}: {} iterations in {} refinement round(s), {secs:.3} s; true relative residual {:.3e}.{}",
            out.iterations,
            out.rounds,
            out.relres,
            match (&args.out, out.converged) {
                (Some(p), true) => format!(" Solution written to {}.", p.display()),
                (Some(_), false) => " No solution written (not converged).".to_string(),
                _ => String::new(),
            }
        );
    }
    if out.converged {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {name} ({source}): did not reach tol {:.0e}: true relative residual {:.3e} after {} iterations{}",
            args.tol,
            out.relres,
            out.iterations,
            out.note.map(|n| format!(" ({n})")).unwrap_or_default()
        );
        Ok(ExitCode::from(2))
    }
}
