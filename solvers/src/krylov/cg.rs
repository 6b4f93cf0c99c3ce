//! Preconditioned conjugate gradients.

use super::{check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, Step};
use solvent_linalg::cg::{cg_iteration, cg_start, CgIteration, CgVectors, PrecondFn};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// Preconditioned CG for symmetric positive definite systems: one step of the run loop
/// is one [`solvent_linalg::cg::cg_iteration`] (Hestenes–Stiefel with `M⁻¹` applied to
/// the residual: one SpMV, one preconditioner application, two dot products, three
/// vector updates).
#[derive(Clone, Default)]
pub struct Cg {
    precond: SharedPrecond,
}

/// CG iterate and recurrences.
#[derive(Clone, Debug)]
pub struct CgState {
    /// The iterate.
    pub x: Vec<f64>,
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
    rz: f64,
    bnorm: f64,
}

impl CgState {
    /// The recurrence's vectors and `rᵀz`, for [`cg_start`] and [`cg_iteration`].
    fn parts(&mut self) -> (CgVectors<'_>, &mut f64) {
        let v = CgVectors {
            x: &mut self.x,
            r: &mut self.r,
            z: &mut self.z,
            p: &mut self.p,
            q: &mut self.q,
        };
        (v, &mut self.rz)
    }
}

impl Cg {
    /// Unpreconditioned CG.
    pub fn new() -> Self {
        Self::default()
    }
    /// With a symmetric positive definite preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for Cg {
    type State = CgState;
    fn name(&self) -> String {
        "cg".into()
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"preconditioner": super::precond_name(&self.precond)})
    }
    fn init(&mut self, problem: &P) -> Result<CgState> {
        let n = check_system(problem, &self.precond)?;
        if let Some(m) = &self.precond {
            if !m.is_symmetric() {
                return Err(crate::SolverError::NotApplicable(format!(
                    "CG needs a symmetric positive definite preconditioner; '{}' is not",
                    m.name()
                )));
            }
        }
        let a = problem.operator();
        let b = problem.rhs();
        let x = initial_x(problem);
        let mut r = vec![0.0; n];
        a.apply(&x, &mut r);
        solvent_linalg::vector::sub_from(b, &mut r);
        let mut s = CgState {
            x,
            r,
            z: vec![0.0; n],
            p: vec![0.0; n],
            q: vec![0.0; n],
            rz: 0.0,
            bnorm: rhs_scale(b),
        };
        let (mut v, rz) = s.parts();
        let mut m = self
            .precond
            .as_ref()
            .map(|m| move |r: &[f64], z: &mut [f64]| m.apply(r, z));
        *rz = cg_start(
            &mut v,
            m.as_mut().map(|f| f as &mut dyn FnMut(&[f64], &mut [f64])),
        );
        Ok(s)
    }
    fn step(&mut self, problem: &P, s: &mut CgState) -> Result<Step> {
        let bnorm = s.bnorm;
        let (mut v, rz) = s.parts();
        let apply = |p: &[f64], q: &mut [f64]| -> Result<()> {
            problem.operator().apply(p, q);
            Ok(())
        };
        let mut m = self
            .precond
            .as_ref()
            .map(|m| move |r: &[f64], z: &mut [f64]| m.apply(r, z));
        let precond: PrecondFn<'_, '_> = m.as_mut().map(|f| f as &mut dyn FnMut(&[f64], &mut [f64]));
        Ok(match cg_iteration(&mut v, rz, apply, precond)? {
            CgIteration::Moved { rr } => Step::Continue {
                estimate: Some(rr.sqrt() / bnorm),
            },
            CgIteration::NonPositiveCurvature { pap } => Step::Breakdown(format!(
                "pᵀAp = {pap:.3e} ≤ 0: the matrix is not positive definite (use MINRES or GMRES)"
            )),
            CgIteration::IndefinitePreconditioner { rz } => Step::Breakdown(format!(
                "rᵀM⁻¹r = {rz:.3e} < 0: the preconditioner is not positive definite"
            )),
        })
    }
    fn metrics(&self, problem: &P, s: &CgState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
}

super::has_solution!(CgState);
