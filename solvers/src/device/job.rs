//! The settings of a device job and the rescue of CG breakdowns.

use crate::krylov::Method;
use crate::Options;
use solvent_gpu::refine::solve;
use solvent_gpu::{GpuContext, GpuMethod, RefineSettings, SystemOutcome};
use solvent_linalg::precond::PrecondKind;
use solvent_linalg::CsrMatrix;
use std::sync::Arc;

/// What every device solve of a job shares.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GpuJob {
    /// The method asked for (`Auto`: [`crate::policy::gpu_method_for`] per matrix).
    pub requested: Method,
    /// Jacobi preconditioning (on unless `none` was asked for).
    pub jacobi: bool,
    /// Tolerance on the true relative residual.
    pub tol: f64,
    /// Device iterations per system.
    pub max_iters: usize,
    /// GMRES / GCRO-DR basis size.
    pub restart: usize,
    /// GCRO-DR recycled vectors.
    pub recycle: usize,
}

impl GpuJob {
    pub fn new(
        requested: Method,
        precond: Option<PrecondKind>,
        options: &Options,
        restart: usize,
        recycle: usize,
    ) -> Self {
        Self {
            requested,
            jacobi: precond != Some(PrecondKind::None),
            tol: options.get_tol(),
            max_iters: options.get_max_iters(),
            restart,
            recycle,
        }
    }

    /// The refinement settings for `method` on `ctx`.
    pub fn settings(&self, ctx: &GpuContext, method: GpuMethod) -> RefineSettings {
        let mut s = RefineSettings::new(method, self.tol, ctx.default_precision());
        s.max_iters = self.max_iters;
        s.restart = self.restart;
        s.recycle = self.recycle.min(self.restart.saturating_sub(1)).max(1);
        s.jacobi = self.jacobi;
        s
    }

    /// Whether a CG breakdown is rescued ([`crate::policy::GPU_BREAKDOWN_RETRY`]): CG
    /// was the policy's choice, not the user's.
    pub fn rescues(&self, method: GpuMethod) -> bool {
        self.requested == Method::Auto && method == GpuMethod::Cg
    }

    /// Solves again, with [`crate::policy::GPU_BREAKDOWN_RETRY`], a system CG found
    /// indefinite. The outcome counts both runs' iterations and says so in its note.
    pub fn rescue(
        &self,
        ctx: &Arc<GpuContext>,
        a: &CsrMatrix,
        b: &[f64],
        first: SystemOutcome,
    ) -> crate::Result<SystemOutcome> {
        let method = crate::policy::GPU_BREAKDOWN_RETRY;
        let mut o = solve(ctx, a, b, &self.settings(ctx, method))?;
        o.iterations += first.iterations;
        o.rounds += first.rounds;
        let retry = format!(
            "CG found the matrix indefinite: solved again with device {}",
            method_name(method, self)
        );
        o.note = Some(match o.note {
            Some(why) => format!("{retry}, which stopped short: {why}"),
            None => retry,
        });
        Ok(o)
    }
}

/// How a device method is named in plans and reports (`CG`, `GMRES(40)`,
/// `GCRO-DR(40, 20)`).
pub(crate) fn method_name(method: GpuMethod, job: &GpuJob) -> String {
    match method {
        GpuMethod::Cg => "CG".into(),
        GpuMethod::Gmres => format!("GMRES({})", job.restart),
        GpuMethod::Gcrodr => format!(
            "GCRO-DR({}, {})",
            job.restart,
            job.recycle.min(job.restart.saturating_sub(1)).max(1)
        ),
    }
}
