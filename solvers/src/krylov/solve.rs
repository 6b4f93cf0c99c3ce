//! Solving one system: plan (through [`crate::policy`]), build the preconditioner, run
//! the method through the shared loop.

use super::{Bicgstab, Cg, Direct, GcroDr, Gmres, HasSolution, Minres, SharedPrecond};
use crate::observer::Observer;
use crate::policy::{self, analyse, build_precond, Device, BREAKDOWN_RETRY};
use crate::{run_observed, Options, Report, Result, Solver, SolverError, Status};
use serde::Serialize;
use solvent_linalg::precond::PrecondKind;
use solvent_problems::LinearSystemProblem;
use std::time::Instant;

/// A solution method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Chosen from the matrix by [`policy::plan`].
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

solvent_linalg::named_enum!(Method, "method" {
    Auto => "auto",
    Cg => "cg",
    Gmres => "gmres",
    Gcrodr => "gcrodr",
    Bicgstab => "bicgstab",
    Minres => "minres",
    Direct => "direct",
});

/// What the user asked for: a method (or `auto`), a preconditioner (or the method's
/// default), the GMRES basis size and the device. Built with [`SolveConfig::new`] and
/// its setters, checked by [`SolveConfig::validate`] (which [`solve_system`] calls).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SolveConfig {
    /// Method, or `Auto`.
    pub method: Method,
    /// Preconditioner, or `None` to choose one for the method.
    pub precond: Option<PrecondKind>,
    /// GMRES restart length (GCRO-DR: its basis size m, recycling m/2).
    pub restart: usize,
    /// Where to solve ([`Device::Cpu`] by default; see [`crate::policy::choose_device`]).
    pub device: Device,
}

impl Default for SolveConfig {
    fn default() -> Self {
        Self {
            method: Method::Auto,
            precond: None,
            restart: 40,
            device: Device::Cpu,
        }
    }
}

impl SolveConfig {
    /// `auto` method and preconditioner, GMRES(40), on the CPU.
    pub fn new() -> Self {
        Self::default()
    }
    /// The method.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }
    /// The preconditioner (`None`: the method's default).
    pub fn precond(mut self, precond: Option<PrecondKind>) -> Self {
        self.precond = precond;
        self
    }
    /// The GMRES restart length.
    pub fn restart(mut self, restart: usize) -> Self {
        self.restart = restart;
        self
    }
    /// Where to solve.
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.restart == 0 {
            return Err(SolverError::setting(
                "restart",
                0,
                "GMRES needs a basis of at least 1 vector",
            ));
        }
        Ok(())
    }
}

/// The concrete method and preconditioner to run, and why.
#[derive(Clone, Debug, Serialize)]
pub struct SolvePlan {
    /// The method (never `Auto`).
    pub method: Method,
    /// The preconditioner.
    pub precond: PrecondKind,
    /// Why this choice.
    pub reason: String,
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

/// Analyses the matrix, plans ([`policy::plan`]), builds the preconditioner and
/// solves, through the shared run loop. Under `auto`, a CG breakdown (the matrix was
/// not positive definite after all) is retried once with [`BREAKDOWN_RETRY`].
///
/// With `config.device` other than [`Device::Cpu`] (and the `gpu` feature), the policy
/// may send the solve to a GPU ([`policy::choose_device`]): the report then has the
/// same shape, with one trace sample per refinement round.
pub fn solve_system(
    problem: &LinearSystemProblem,
    config: &SolveConfig,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<SystemSolution> {
    config.validate()?;
    let t = Instant::now();
    let a = problem.a();
    let an = match config.method {
        Method::Auto => analyse(a).with_fill(a),
        _ => analyse(a),
    };
    if matches!(config.method, Method::Cg | Method::Minres) && !an.symmetric {
        return Err(SolverError::setting(
            "method",
            config.method,
            "needs a symmetric matrix and this one is not (checked to 1e-12 relative): use gmres, bicgstab or auto",
        ));
    }
    let device_note = match policy::choose_device(
        config.device,
        an.n,
        policy::gpu_capable(config.method, config.precond),
    )? {
        policy::DeviceChoice::Cpu { note } => note,
        #[cfg(feature = "gpu")]
        policy::DeviceChoice::Gpu(ctx) => {
            return crate::device::solve_system(&ctx, problem, config, &an, options, observers);
        }
    };
    let mut plan = policy::plan(&an, config);
    if let Some(note) = device_note {
        plan.reason.push_str(&format!("; {note}"));
    }
    let m = build_precond(&mut plan, a, config.precond.is_some())?;
    let mut setup_s = t.elapsed().as_secs_f64();
    let (mut x, mut report) = run_method(problem, &plan, m, config.restart, options, observers)?;
    if config.method == Method::Auto
        && plan.method == Method::Cg
        && matches!(report.status, Status::Breakdown { .. })
    {
        let t = Instant::now();
        (plan.method, plan.precond) = BREAKDOWN_RETRY;
        plan.reason
            .push_str("; CG broke down (not positive definite), retried with MINRES");
        let m = build_precond(&mut plan, a, false)?;
        setup_s += t.elapsed().as_secs_f64();
        (x, report) = run_method(problem, &plan, m, config.restart, options, observers)?;
    }
    attach_plan(&mut report, &plan, &an, setup_s);
    Ok(SystemSolution {
        x,
        report,
        plan,
        setup_s,
    })
}

/// Records the plan, the analysis and the setup time in the report's settings.
pub(crate) fn attach_plan(report: &mut Report, plan: &SolvePlan, an: &policy::MatrixAnalysis, setup_s: f64) {
    let extra = [
        ("plan", serde_json::to_value(plan).unwrap_or_default()),
        ("analysis", serde_json::to_value(an).unwrap_or_default()),
        ("setup_s", setup_s.into()),
    ];
    if !report.settings.is_object() {
        report.settings = serde_json::json!({});
    }
    if let Some(obj) = report.settings.as_object_mut() {
        for (k, v) in extra {
            obj.insert(k.into(), v);
        }
    }
}
