//! One system on the GPU through the shared run loop: one step per refinement round.

use super::job::{method_name, GpuJob};
use crate::krylov::{attach_plan, HasSolution, Method, SolveConfig, SolvePlan, SystemSolution};
use crate::metrics::{Criterion, Metrics};
use crate::observer::Observer;
use crate::policy::{self, MatrixAnalysis};
use crate::{run_observed, Options, Result, Solver, Status, Step};
use solvent_gpu::{GpuContext, GpuMethod, SingleSolve};
use solvent_linalg::precond::PrecondKind;
use solvent_problems::LinearSystemProblem;
use std::sync::Arc;
use std::time::Instant;

/// A device solve of one system as a [`Solver`]: each step is one refinement round
/// (a device solve of the correction equation, counted with its device iterations);
/// the metric is the true relative residual, computed in f64 on the CPU by the round.
struct DeviceRefinement {
    ctx: Arc<GpuContext>,
    job: GpuJob,
    method: GpuMethod,
    time_limit: Option<std::time::Duration>,
}

/// The device solve in progress.
struct DeviceState {
    solve: SingleSolve,
    x: Vec<f64>,
}

impl HasSolution for DeviceState {
    fn solution(&self) -> &[f64] {
        &self.x
    }
    fn into_solution(self) -> Vec<f64> {
        self.x
    }
}

impl Solver<LinearSystemProblem> for DeviceRefinement {
    type State = DeviceState;
    fn name(&self) -> String {
        format!(
            "{} on {} ({} device precision, Jacobi {})",
            method_name(self.method, &self.job),
            self.ctx.describe(),
            self.ctx.default_precision().as_str(),
            if self.job.jacobi { "on" } else { "off" }
        )
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "device": "gpu",
            "adapter": self.ctx.describe(),
            "precision": self.ctx.default_precision().as_str(),
            "method": method_name(self.method, &self.job),
            "jacobi": self.job.jacobi,
            "refinement": "f64 on the CPU",
        })
    }
    fn init(&mut self, p: &LinearSystemProblem) -> Result<DeviceState> {
        let mut s = self.job.settings(&self.ctx, self.method);
        s.deadline = self.time_limit.map(|t| Instant::now() + t);
        let solve = SingleSolve::new(&self.ctx, p.a(), p.b(), &s)?;
        Ok(DeviceState {
            solve,
            x: vec![0.0; p.b().len()],
        })
    }
    fn step(&mut self, p: &LinearSystemProblem, s: &mut DeviceState) -> Result<Step> {
        let before = s.solve.state().outcome().iterations;
        s.solve.round(p.a(), p.b())?;
        let st = s.solve.state();
        s.x.copy_from_slice(st.x());
        let o = st.outcome();
        if !o.converged {
            if let Some(note) = &o.note {
                return Ok(Step::Breakdown(note.clone()));
            }
        }
        Ok(Step::Advanced {
            iterations: o.iterations - before,
            estimate: Some(o.relres),
        })
    }
    fn metrics(&self, _p: &LinearSystemProblem, s: &DeviceState) -> Metrics {
        let o = s.solve.state().outcome();
        Metrics::new(Criterion::RelativeResidual, o.relres).with_extra("rounds", o.rounds as f64)
    }
}

/// Solves one system on `ctx` through the run loop, with the automatic method choice
/// ([`policy::gpu_method_for`]) and its rescue: under `auto`, a system on which device
/// CG breaks down is solved again with [`policy::GPU_BREAKDOWN_RETRY`].
pub(crate) fn solve_system(
    ctx: &Arc<GpuContext>,
    problem: &LinearSystemProblem,
    config: &SolveConfig,
    an: &MatrixAnalysis,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<SystemSolution> {
    let t = Instant::now();
    let job = GpuJob::new(
        config.method,
        config.precond,
        options,
        config.restart,
        config.restart / 2,
    );
    let method = policy::gpu_method_for(config.method, an);
    let mut plan = SolvePlan {
        method: gpu_to_method(method),
        precond: if job.jacobi {
            PrecondKind::Jacobi
        } else {
            PrecondKind::None
        },
        reason: format!(
            "on {} ({} device precision, f64 refinement on the CPU): {}",
            ctx.describe(),
            ctx.default_precision().as_str(),
            match config.method {
                Method::Auto if method == GpuMethod::Cg =>
                    "symmetric with positive diagonal: device CG".to_string(),
                Method::Auto => "not SPD-like: device GMRES".to_string(),
                _ => "chosen by the user".to_string(),
            }
        ),
    };
    let mut solver = DeviceRefinement {
        ctx: ctx.clone(),
        job,
        method,
        time_limit: options.time_limit,
    };
    let setup_s = t.elapsed().as_secs_f64();
    let out = run_observed(problem, &mut solver, options, observers)?;
    let (mut x, mut report) = (out.state.into_solution(), out.report);
    if job.rescues(method)
        && matches!(&report.status, Status::Breakdown { reason } if reason.starts_with("CG broke down"))
    {
        solver.method = policy::GPU_BREAKDOWN_RETRY;
        plan.method = gpu_to_method(solver.method);
        plan.reason.push_str(&format!(
            "; CG found the matrix indefinite: solved again with device {}",
            method_name(solver.method, &job)
        ));
        let first = report.iterations;
        let again = run_observed(problem, &mut solver, options, observers)?;
        (x, report) = (again.state.into_solution(), again.report);
        report.iterations += first;
    }
    attach_plan(&mut report, &plan, an, setup_s);
    Ok(SystemSolution {
        x,
        report,
        plan,
        setup_s,
    })
}

/// The [`Method`] a device method is reported as.
fn gpu_to_method(m: GpuMethod) -> Method {
    match m {
        GpuMethod::Cg => Method::Cg,
        GpuMethod::Gmres => Method::Gmres,
        GpuMethod::Gcrodr => Method::Gcrodr,
    }
}
