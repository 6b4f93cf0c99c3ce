//! Choosing a method and preconditioner for a system, and solving it.

use super::{Bicgstab, Cg, Direct, GcroDr, Gmres, HasSolution, Minres, SharedPrecond};
use crate::observer::Observer;
use crate::{run_observed, Options, Report, Result, Solver, SolverError, Status};
use serde::Serialize;
use solvent_linalg::precond::{self, Jacobi, PrecondKind};
use solvent_linalg::{CsrMatrix, Preconditioner};
use solvent_problems::LinearSystemProblem;
use std::sync::Arc;
use std::time::Instant;

/// Systems up to this size go to the sparse direct solver under `auto` when the fill
/// of their factor could not be predicted, and when they are neither SPD-like
/// (symmetric, positive diagonal) nor diagonally dominant with a positive diagonal: a
/// direct solve is the robust choice where Krylov methods may stall (a nonsymmetric
/// operator that is not dominant, such as central-difference convection at high cell
/// Péclet numbers, or a symmetric one with non-positive diagonal entries). Otherwise the
/// predicted fill decides ([`direct_pays`]).
pub const AUTO_DIRECT_MAX_N: usize = 100_000;

/// Predicted Cholesky fill per unknown up to which `auto` solves directly. 2-D grids sit
/// at 42–55 entries per unknown (n = 9·10⁴ … 10⁶), where a factorisation and solve beat
/// CG + IC(0) by 3.2x–10x, growing with n; 3-D 7-point grids at 280–660
/// (n = 2.7·10⁴ … 1.25·10⁵), where CG + IC(0) was 16x–27x faster
/// (`cargo bench --bench direct_crossover`).
pub const AUTO_DIRECT_MAX_FILL_PER_UNKNOWN: f64 = 120.0;

/// Largest predicted Cholesky factor (stored entries) `auto` factorises: 2.5·10⁸, 2 GB
/// of values (about a 2-D grid of 4·10⁶ unknowns, extrapolating the 55 entries per
/// unknown measured at 10⁶; not measured at that size).
pub const AUTO_DIRECT_MAX_FILL: usize = 250_000_000;

/// A solution method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Chosen from the matrix by [`plan`].
    Auto,
    /// Conjugate gradients.
    Cg,
    /// Restarted GMRES.
    Gmres,
    /// GCRO-DR(m, m/2): GMRES with deflated restarting (recycles along sequences).
    Gcrodr,
    /// BiCGStab.
    Bicgstab,
    /// MINRES.
    Minres,
    /// Sparse direct (faer Cholesky or LU).
    Direct,
}

impl Method {
    /// Parses the CLI spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "cg" => Self::Cg,
            "gmres" => Self::Gmres,
            "gcrodr" => Self::Gcrodr,
            "bicgstab" => Self::Bicgstab,
            "minres" => Self::Minres,
            "direct" => Self::Direct,
            _ => return None,
        })
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug)]
pub struct SolveConfig {
    /// Method, or `Auto`.
    pub method: Method,
    /// Preconditioner, or `None` to choose one for the method.
    pub precond: Option<PrecondKind>,
    /// GMRES restart length.
    pub restart: usize,
}

impl Default for SolveConfig {
    fn default() -> Self {
        Self {
            method: Method::Auto,
            precond: None,
            restart: 40,
        }
    }
}

/// Cheap structural facts about a matrix (one transpose, one pass).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MatrixAnalysis {
    /// Unknowns.
    pub n: usize,
    /// Stored entries.
    pub nnz: usize,
    /// Symmetric to 1e-12 relative.
    pub symmetric: bool,
    /// Every diagonal entry positive (necessary for SPD).
    pub positive_diagonal: bool,
    /// Some diagonal entry zero or missing.
    pub zero_diagonal: bool,
    /// Every row weakly diagonally dominant, `|a_ii| ≥ Σ_{j≠i} |a_ij|` (to 1e-12
    /// relative), and at least one row strictly. With a positive diagonal, Gershgorin
    /// puts every eigenvalue in the closed right half-plane, and for an irreducible
    /// matrix (not checked) the strict row rules out a singular one (M-matrix-like:
    /// upwind convection–diffusion or P1 diffusion with Dirichlet rows). GMRES + ILU(0)
    /// is at home there; a shifted (Helmholtz) operator, or a pure Neumann/periodic one
    /// whose rows all sum to zero, is not dominant in this sense.
    pub diagonally_dominant: bool,
    /// Entries the sparse Cholesky factor would store (faer's ordering and symbolic
    /// analysis of the lower triangle; see [`solvent_linalg::direct::cholesky_fill`]):
    /// `None` from [`analyse`], set by [`MatrixAnalysis::with_fill`] (or `None` when
    /// that analysis failed).
    pub cholesky_fill: Option<usize>,
}

impl MatrixAnalysis {
    /// The same facts with [`MatrixAnalysis::cholesky_fill`] predicted for `a`: the
    /// one `auto` decides by ([`direct_pays`]), and not cheap (faer's ordering and
    /// symbolic factorisation, 0.6 s at n = 10⁶), so only `auto` asks for it.
    pub fn with_fill(mut self, a: &CsrMatrix) -> Self {
        self.cholesky_fill = solvent_linalg::direct::cholesky_fill(a).ok();
        self
    }
}

/// Why `auto` should solve `an` directly, or `None` when an iterative method should:
/// a predicted factor of at most [`AUTO_DIRECT_MAX_FILL_PER_UNKNOWN`] entries per unknown
/// and [`AUTO_DIRECT_MAX_FILL`] in all (2-D-like fill); or, without a prediction, or for a
/// matrix that is neither SPD-like nor diagonally dominant with a positive diagonal, at
/// most [`AUTO_DIRECT_MAX_N`] unknowns (and a factor within [`AUTO_DIRECT_MAX_FILL`]). A
/// dominant nonsymmetric matrix with 3-D-like fill goes to GMRES/GCRO-DR + ILU(0): on a
/// 3-D upwind convection–diffusion (n = 8·10³ … 6.4·10⁴) sparse LU was 30x–63x slower
/// than GMRES(40) + ILU(0) (`cargo bench --bench direct_crossover -- 3dconv 20 30 40`).
/// A 3-D Helmholtz operator with a positive diagonal is symmetric, so `auto` runs CG on
/// it, finds it indefinite and retries with MINRES + |Jacobi|: 0.10 s at n = 2.7·10⁴,
/// against 2.2 s for LU and 4.8 s for GMRES(40) + ILU(0) (`-- 3dhelm 30`). What stays
/// direct here (nonsymmetric and not dominant, or symmetric with a non-positive
/// diagonal) was not measured in 3-D.
pub fn direct_pays(an: &MatrixAnalysis) -> Option<String> {
    let small = an.n <= AUTO_DIRECT_MAX_N;
    let Some(fill) = an.cholesky_fill else {
        return small.then(|| format!("n = {} ≤ {AUTO_DIRECT_MAX_N}", an.n));
    };
    let per = fill as f64 / an.n.max(1) as f64;
    if per <= AUTO_DIRECT_MAX_FILL_PER_UNKNOWN && fill <= AUTO_DIRECT_MAX_FILL {
        return Some(format!(
            "predicted factor {fill} entries, {per:.0} per unknown (≤ {AUTO_DIRECT_MAX_FILL_PER_UNKNOWN}: 2-D-like fill)"
        ));
    }
    let spd_like = an.symmetric && an.positive_diagonal;
    let dominant = an.positive_diagonal && an.diagonally_dominant;
    (small && !spd_like && !dominant && fill <= AUTO_DIRECT_MAX_FILL).then(|| {
        format!(
            "n = {} ≤ {AUTO_DIRECT_MAX_N}, neither SPD nor diagonally dominant: a direct solve is the robust choice (predicted fill {per:.0} per unknown)",
            an.n
        )
    })
}

/// Why [`direct_pays`] said no, for plan reasons: the predicted fill, or the size when
/// no fill was predicted, and the diagonal dominance that made a small non-SPD matrix
/// safe for a Krylov method.
pub fn iterative_pays(an: &MatrixAnalysis) -> String {
    let size = match an.cholesky_fill {
        Some(fill) if fill > AUTO_DIRECT_MAX_FILL => {
            format!("predicted factor {fill} entries (> {AUTO_DIRECT_MAX_FILL})")
        }
        Some(fill) => format!(
            "predicted factor {:.0} entries per unknown (> {AUTO_DIRECT_MAX_FILL_PER_UNKNOWN}: 3-D-like fill)",
            fill as f64 / an.n.max(1) as f64
        ),
        None => format!("n = {} > {AUTO_DIRECT_MAX_N}", an.n),
    };
    let spd_like = an.symmetric && an.positive_diagonal;
    let dominant = an.positive_diagonal && an.diagonally_dominant;
    if an.n <= AUTO_DIRECT_MAX_N && !spd_like && dominant {
        format!("{size}, diagonally dominant with a positive diagonal")
    } else {
        size
    }
}

/// Whether every row of `a` is weakly diagonally dominant (to 1e-12 relative) and at
/// least one strictly ([`MatrixAnalysis::diagonally_dominant`]).
fn diagonally_dominant(a: &CsrMatrix) -> bool {
    let mut strict = false;
    let weak = (0..a.nrows()).all(|i| {
        let (cols, vals) = a.row(i);
        let (mut diag, mut off) = (0.0f64, 0.0f64);
        for (&j, &v) in cols.iter().zip(vals) {
            if j as usize == i {
                diag += v;
            } else {
                off += v.abs();
            }
        }
        strict |= diag.abs() > off * (1.0 + 1e-12);
        diag.abs() >= off * (1.0 - 1e-12)
    });
    weak && strict
}

/// Analyses `a`.
pub fn analyse(a: &CsrMatrix) -> MatrixAnalysis {
    let d = a.diagonal();
    MatrixAnalysis {
        n: a.nrows(),
        nnz: a.nnz(),
        symmetric: a.is_symmetric(1e-12),
        positive_diagonal: d.iter().all(|&v| v > 0.0),
        zero_diagonal: d.contains(&0.0),
        diagonally_dominant: diagonally_dominant(a),
        cholesky_fill: None,
    }
}

/// The concrete method and preconditioner to run, and why.
#[derive(Clone, Debug, Serialize)]
pub struct SolvePlan {
    /// The method (never `Auto`).
    pub method: Method,
    /// The preconditioner.
    pub precond: PrecondName,
    /// Why this choice.
    pub reason: String,
}

/// A preconditioner choice, serialisable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecondName {
    /// None.
    None,
    /// Jacobi (on `|diag|` for MINRES).
    Jacobi,
    /// SSOR(1).
    Ssor,
    /// ILU(0).
    Ilu0,
    /// IC(0).
    Ic0,
}

impl From<PrecondKind> for PrecondName {
    fn from(k: PrecondKind) -> Self {
        match k {
            PrecondKind::None => Self::None,
            PrecondKind::Jacobi => Self::Jacobi,
            PrecondKind::Ssor => Self::Ssor,
            PrecondKind::Ilu0 => Self::Ilu0,
            PrecondKind::Ic0 => Self::Ic0,
        }
    }
}

impl From<PrecondName> for PrecondKind {
    fn from(k: PrecondName) -> Self {
        match k {
            PrecondName::None => Self::None,
            PrecondName::Jacobi => Self::Jacobi,
            PrecondName::Ssor => Self::Ssor,
            PrecondName::Ilu0 => Self::Ilu0,
            PrecondName::Ic0 => Self::Ic0,
        }
    }
}

pub(crate) fn default_precond(method: Method, an: &MatrixAnalysis) -> PrecondKind {
    match method {
        Method::Cg => PrecondKind::Ic0,
        Method::Minres if an.zero_diagonal => PrecondKind::None,
        Method::Minres => PrecondKind::Jacobi,
        Method::Gmres | Method::Gcrodr | Method::Bicgstab => PrecondKind::Ilu0,
        Method::Direct | Method::Auto => PrecondKind::None,
    }
}

/// Chooses method and preconditioner. Under `auto`: a direct solve when
/// [`direct_pays`]; otherwise CG + IC(0) for symmetric matrices with a positive
/// diagonal, MINRES + |Jacobi| for other symmetric ones, GMRES(m) + ILU(0) for
/// nonsymmetric ones.
pub fn plan(an: &MatrixAnalysis, config: &SolveConfig) -> SolvePlan {
    let direct = (config.method == Method::Auto).then(|| direct_pays(an)).flatten();
    let (method, reason) = match config.method {
        Method::Auto if direct.is_some() => (
            Method::Direct,
            format!("{}: sparse direct solve", direct.unwrap_or_default()),
        ),
        Method::Auto if an.symmetric && an.positive_diagonal => (
            Method::Cg,
            format!(
                "{}; symmetric with positive diagonal: CG (falls back to MINRES if not definite)",
                iterative_pays(an)
            ),
        ),
        Method::Auto if an.symmetric => (
            Method::Minres,
            format!(
                "{}; symmetric with non-positive diagonal entries: MINRES",
                iterative_pays(an)
            ),
        ),
        Method::Auto => (
            Method::Gmres,
            format!("{}; nonsymmetric: GMRES", iterative_pays(an)),
        ),
        m => (m, "chosen by the user".into()),
    };
    let precond = config.precond.unwrap_or_else(|| default_precond(method, an));
    SolvePlan {
        method,
        precond: precond.into(),
        reason,
    }
}

/// The result of [`solve_system`].
#[derive(Debug)]
pub struct SystemSolution {
    /// The final iterate (the solution when the report says converged).
    pub x: Vec<f64>,
    /// The run report; its `settings` include the plan and setup time.
    pub report: Report,
    /// What was run.
    pub plan: SolvePlan,
    /// Seconds spent analysing and building the preconditioner.
    pub setup_s: f64,
}

/// Builds the preconditioner of a plan. With an automatic choice, a failed
/// build falls back to Jacobi, then to none (noted in the plan's reason);
/// with an explicit choice the failure is returned.
pub(crate) fn build_precond(plan: &mut SolvePlan, a: &CsrMatrix, explicit: bool) -> Result<SharedPrecond> {
    let kind: PrecondKind = plan.precond.into();
    let build = |k: PrecondKind| -> solvent_linalg::Result<SharedPrecond> {
        Ok(match k {
            PrecondKind::None => None,
            // MINRES needs a positive definite M: Jacobi on |diag|
            PrecondKind::Jacobi if plan.method == Method::Minres => {
                Some(Arc::new(Jacobi::new_abs(a)?) as Arc<dyn Preconditioner>)
            }
            k => Some(Arc::from(precond::build(k, a)?)),
        })
    };
    match build(kind) {
        Ok(p) => Ok(p),
        Err(e) if explicit => Err(e.into()),
        Err(e) => {
            for fallback in [PrecondKind::Jacobi, PrecondKind::None] {
                if fallback == kind {
                    continue;
                }
                if let Ok(p) = build(fallback) {
                    plan.reason.push_str(&format!(
                        "; {} failed ({e}), using {}",
                        kind.as_str(),
                        fallback.as_str()
                    ));
                    plan.precond = fallback.into();
                    return Ok(p);
                }
            }
            Err(e.into())
        }
    }
}

pub(crate) fn run_method(
    problem: &LinearSystemProblem,
    plan: &SolvePlan,
    m: SharedPrecond,
    restart: usize,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<(Vec<f64>, Report)> {
    fn go<S: Solver<LinearSystemProblem>>(
        p: &LinearSystemProblem,
        mut s: S,
        o: &Options,
        obs: &mut [&mut dyn Observer],
    ) -> Result<(Vec<f64>, Report)>
    where
        S::State: HasSolution,
    {
        let out = run_observed(p, &mut s, o, obs)?;
        Ok((out.state.into_solution(), out.report))
    }
    match plan.method {
        Method::Cg => {
            let mut s = Cg::new();
            if let Some(m) = m {
                s = s.preconditioner(m);
            }
            go(problem, s, options, observers)
        }
        Method::Gmres => {
            let mut s = Gmres::new().restart(restart);
            if let Some(m) = m {
                s = s.preconditioner(m);
            }
            go(problem, s, options, observers)
        }
        Method::Gcrodr => {
            let mut s = GcroDr::new()
                .restart(restart)
                .recycle_dim((restart / 2).clamp(1, 20));
            if let Some(m) = m {
                s = s.preconditioner(m);
            }
            go(problem, s, options, observers)
        }
        Method::Bicgstab => {
            let mut s = Bicgstab::new();
            if let Some(m) = m {
                s = s.preconditioner(m);
            }
            go(problem, s, options, observers)
        }
        Method::Minres => {
            let mut s = Minres::new();
            if let Some(m) = m {
                s = s.preconditioner(m);
            }
            go(problem, s, options, observers)
        }
        Method::Direct => go(problem, Direct::new(), options, observers),
        Method::Auto => Err(SolverError::NotApplicable("plan() never returns Auto".into())),
    }
}

/// Analyses the matrix, plans, builds the preconditioner and solves, through
/// the shared run loop. Under `auto`, a CG breakdown (the matrix was not
/// positive definite after all) is retried once with MINRES.
pub fn solve_system(
    problem: &LinearSystemProblem,
    config: &SolveConfig,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<SystemSolution> {
    if config.restart == 0 {
        return Err(SolverError::setting(
            "restart",
            0,
            "GMRES needs a basis of at least 1 vector",
        ));
    }
    let t = Instant::now();
    let a = problem.a();
    let an = match config.method {
        Method::Auto => analyse(a).with_fill(a),
        _ => analyse(a),
    };
    let mut plan = plan(&an, config);
    if plan.method == Method::Cg && config.precond.is_none() && !an.positive_diagonal {
        // neither IC(0) nor Jacobi can be positive definite with a non-positive diagonal
        plan.precond = PrecondName::None;
        plan.reason
            .push_str("; non-positive diagonal: CG unpreconditioned");
    }
    let m = build_precond(&mut plan, a, config.precond.is_some())?;
    let mut setup_s = t.elapsed().as_secs_f64();
    let (mut x, mut report) = run_method(problem, &plan, m, config.restart, options, observers)?;
    if config.method == Method::Auto
        && plan.method == Method::Cg
        && matches!(report.status, Status::Breakdown { .. })
    {
        let t = Instant::now();
        plan.method = Method::Minres;
        plan.precond = default_precond(Method::Minres, &an).into();
        plan.reason
            .push_str("; CG broke down (not positive definite), retried with MINRES");
        let m = build_precond(&mut plan, a, false)?;
        setup_s += t.elapsed().as_secs_f64();
        (x, report) = run_method(problem, &plan, m, config.restart, options, observers)?;
    }
    if let Some(obj) = report.settings.as_object_mut() {
        obj.insert("plan".into(), serde_json::to_value(&plan).unwrap_or_default());
        obj.insert("analysis".into(), serde_json::to_value(an).unwrap_or_default());
        obj.insert("setup_s".into(), setup_s.into());
    } else {
        report.settings = serde_json::json!({"plan": plan, "analysis": an, "setup_s": setup_s});
    }
    Ok(SystemSolution {
        x,
        report,
        plan,
        setup_s,
    })
}
