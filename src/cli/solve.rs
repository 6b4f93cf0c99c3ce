//! `solvent solve`: one sparse linear system, from a file or generated
//! ([`solvent_solvers::krylov::solve_system`], on the CPU or a GPU).

pub(crate) use super::sequence_args::{precond_parser, PrecondChoice};
use super::{check_output_path, named, write_json, CliError};
use clap::Args;
use serde::Serialize;
use solvent_linalg::io::matrix_market;
use solvent_linalg::vector::relative_residual;
use solvent_linalg::CsrMatrix;
use solvent_problems::generators::BuiltinMatrix;
use solvent_problems::LinearSystemProblem;
use solvent_solvers::krylov::{solve_system, Method, SolveConfig};
use solvent_solvers::policy::Device;
use solvent_solvers::{Envelope, JsonLinesObserver, Observer, Options, Outcome, ProgressObserver, Report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `solvent solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Matrix Market file with A; without it, a generated matrix is solved.
    pub matrix: Option<PathBuf>,
    /// Matrix to generate when no file is given (grid × grid unknowns): poisson2d (SPD),
    /// diffusion2d (variable coefficient, SPD), convdiff2d (upwind, nonsymmetric),
    /// darcy2d (exp(GRF) permeability seeded by --seed, SPD), shifted2d (−Δ − 20π²,
    /// symmetric indefinite).
    #[arg(long, value_parser = named::<BuiltinMatrix>(), default_value = "poisson2d")]
    pub generate: BuiltinMatrix,
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
    #[arg(long, value_parser = named::<Method>(), default_value = "auto")]
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
    #[arg(long, value_parser = named::<Device>(), default_value = "auto")]
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
    let a = args.generate.build(m, args.seed)?;
    Ok((a, format!("generated {} on a {m}×{m} grid", args.generate)))
}

#[derive(Serialize)]
struct MatrixInfo {
    source: String,
    n: usize,
    nnz: usize,
}

#[derive(Serialize)]
struct Body<'a> {
    matrix: &'a MatrixInfo,
    device: &'static str,
    tol: f64,
    converged: bool,
    relative_residual: f64,
    report: &'a Report,
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
    super::check_files(
        &[
            (args.matrix.as_deref(), "the matrix"),
            (args.rhs.as_deref(), "the right-hand side"),
        ],
        &[
            (args.out.as_deref(), "the solution"),
            (args.json.as_deref(), "the report"),
            (args.trace.as_deref(), "the trace"),
        ],
    )?;
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
    let info = MatrixInfo {
        source,
        n: a.nrows(),
        nnz: a.nnz(),
    };
    let problem = LinearSystemProblem::new(a, b)?;
    let config = SolveConfig::new()
        .method(args.method)
        .precond(args.precond.0)
        .restart(args.restart)
        .device(args.device);
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
    let device = if sol.report.settings.get("device").and_then(|d| d.as_str()) == Some("gpu") {
        "gpu"
    } else {
        "cpu"
    };
    if let Some(p) = &args.json {
        let envelope = Envelope::new(
            "solve",
            &info,
            Outcome::of(&sol.report.status, relres),
            Body {
                matrix: &info,
                device,
                tol: args.tol,
                converged,
                relative_residual: relres,
                report: &sol.report,
            },
        )
        .timing("wall_s", sol.report.wall_s)
        .timing("solve_s", sol.report.elapsed_s)
        .timing("setup_s", sol.setup_s);
        write_json(p, &envelope)?;
    }
    if converged {
        if let Some(p) = &args.out {
            matrix_market::write_vector(p, &sol.x)?;
        }
    }
    let summary = format!(
        "Solved {} (n = {}, nnz = {}) with {} and preconditioner {} ({}). {}; true relative residual {relres:.3e}; setup {:.3} s.{}",
        info.source,
        info.n,
        info.nnz,
        sol.report.solver,
        sol.plan.precond.as_str(),
        sol.plan.reason,
        sol.report.summary(),
        sol.setup_s,
        match (&args.out, converged) {
            (Some(p), true) => format!(" Solution written to {}.", p.display()),
            (Some(_), false) => " No solution written (not converged).".to_string(),
            _ => String::new(),
        }
    );
    if !args.quiet {
        crate::outln!("{summary}");
    }
    if converged {
        Ok(ExitCode::SUCCESS)
    } else {
        // GMRES minimises the residual: one that stays near ‖b‖ means b is (almost) outside
        // the range of A
        let hint = if relres >= 0.5 && sol.plan.method != Method::Direct {
            "; the residual barely moved from ‖b‖: the system may be inconsistent or the matrix singular"
        } else {
            ""
        };
        crate::errln!(
            "error: {} ({}): {}{hint}",
            sol.report.solver,
            info.source,
            sol.report.status.describe(relres)
        );
        Ok(ExitCode::from(2))
    }
}
