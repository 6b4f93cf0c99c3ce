//! Preconditioned conjugate gradients.

use super::{apply_precond, check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, Step};
use solvent_linalg::vector::{axpy, dot, xpby};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// Preconditioned CG for symmetric positive definite systems (Hestenes–Stiefel
/// with `M⁻¹` applied to the residual). One iteration: one SpMV, one
/// preconditioner application, two dot products, three vector updates.
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
        let mut z = vec![0.0; n];
        apply_precond(&self.precond, &r, &mut z);
        let rz = dot(&r, &z);
        Ok(CgState {
            x,
            p: z.clone(),
            r,
            z,
            q: vec![0.0; n],
            rz,
            bnorm: rhs_scale(b),
        })
    }
    fn step(&mut self, problem: &P, s: &mut CgState) -> Result<Step> {
        problem.operator().apply(&s.p, &mut s.q);
        let pq = dot(&s.p, &s.q);
        if pq.is_nan() || pq <= 0.0 {
            return Ok(Step::Breakdown(format!(
                "pᵀAp = {pq:.3e} ≤ 0: the matrix is not positive definite (use MINRES or GMRES)"
            )));
        }
        let alpha = s.rz / pq;
        axpy(alpha, &s.p, &mut s.x);
        axpy(-alpha, &s.q, &mut s.r);
        // z = M⁻¹ r (r itself without a preconditioner: no copy)
        let z: &[f64] = match &self.precond {
            Some(m) => {
                m.apply(&s.r, &mut s.z);
                &s.z
            }
            None => &s.r,
        };
        let (rz_new, rr) = if self.precond.is_some() {
            (dot(&s.r, z), dot(&s.r, &s.r))
        } else {
            let rr = dot(&s.r, &s.r);
            (rr, rr)
        };
        if rz_new < 0.0 {
            return Ok(Step::Breakdown(format!(
                "rᵀM⁻¹r = {rz_new:.3e} < 0: the preconditioner is not positive definite"
            )));
        }
        let beta = rz_new / s.rz;
        s.rz = rz_new;
        xpby(z, beta, &mut s.p);
        Ok(Step::Continue {
            estimate: Some(rr.sqrt() / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &CgState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
}

super::has_solution!(CgState);
