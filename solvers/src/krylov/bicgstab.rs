//! BiCGStab with right preconditioning.

use super::{apply_precond, check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, Step};
use solvent_linalg::vector::{axpy, dot, norm2, sub_from};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// BiCGStab (van der Vorst 1992) for general square systems, right
/// preconditioned so that its recurrence residual is the true one. One
/// iteration: two SpMVs, two preconditioner applications.
#[derive(Clone, Default)]
pub struct Bicgstab {
    precond: SharedPrecond,
}

/// BiCGStab iterate and recurrences.
#[derive(Clone, Debug)]
pub struct BicgstabState {
    /// The iterate.
    pub x: Vec<f64>,
    r: Vec<f64>,
    r_hat: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    p_hat: Vec<f64>,
    s_hat: Vec<f64>,
    t: Vec<f64>,
    rho: f64,
    alpha: f64,
    omega: f64,
    bnorm: f64,
}

impl Bicgstab {
    /// Unpreconditioned BiCGStab.
    pub fn new() -> Self {
        Self::default()
    }
    /// With a right preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for Bicgstab {
    type State = BicgstabState;
    fn name(&self) -> String {
        "bicgstab".into()
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"preconditioner": super::precond_name(&self.precond)})
    }
    fn init(&mut self, problem: &P) -> Result<BicgstabState> {
        let n = check_system(problem, &self.precond)?;
        let x = initial_x(problem);
        let mut r = vec![0.0; n];
        problem.operator().apply(&x, &mut r);
        sub_from(problem.rhs(), &mut r);
        Ok(BicgstabState {
            x,
            r_hat: r.clone(),
            r,
            p: vec![0.0; n],
            v: vec![0.0; n],
            p_hat: vec![0.0; n],
            s_hat: vec![0.0; n],
            t: vec![0.0; n],
            rho: 1.0,
            alpha: 1.0,
            omega: 1.0,
            bnorm: rhs_scale(problem.rhs()),
        })
    }
    fn step(&mut self, problem: &P, s: &mut BicgstabState) -> Result<Step> {
        let a = problem.operator();
        let rho = dot(&s.r_hat, &s.r);
        if rho == 0.0 || !rho.is_finite() {
            return Ok(Step::Breakdown(format!(
                "ρ = r̂ᵀr = {rho:.3e}: the shadow residual became orthogonal"
            )));
        }
        let beta = (rho / s.rho) * (s.alpha / s.omega);
        // p = r + β (p − ω v)
        for ((pi, &ri), &vi) in s.p.iter_mut().zip(&s.r).zip(&s.v) {
            *pi = ri + beta * (*pi - s.omega * vi);
        }
        apply_precond(&self.precond, &s.p, &mut s.p_hat);
        a.apply(&s.p_hat, &mut s.v);
        let rv = dot(&s.r_hat, &s.v);
        if rv == 0.0 || !rv.is_finite() {
            return Ok(Step::Breakdown(format!("r̂ᵀv = {rv:.3e}")));
        }
        s.alpha = rho / rv;
        s.rho = rho;
        // s = r − α v (kept in r)
        axpy(-s.alpha, &s.v, &mut s.r);
        axpy(s.alpha, &s.p_hat, &mut s.x);
        let snorm = norm2(&s.r);
        if snorm / s.bnorm < 1e-300 {
            return Ok(Step::Continue { estimate: Some(0.0) });
        }
        apply_precond(&self.precond, &s.r, &mut s.s_hat);
        a.apply(&s.s_hat, &mut s.t);
        let tt = dot(&s.t, &s.t);
        if tt == 0.0 {
            return Ok(Step::Breakdown("tᵀt = 0".into()));
        }
        s.omega = dot(&s.t, &s.r) / tt;
        if s.omega == 0.0 || !s.omega.is_finite() {
            return Ok(Step::Breakdown(format!(
                "ω = {:.3e}: stabilisation step failed",
                s.omega
            )));
        }
        axpy(s.omega, &s.s_hat, &mut s.x);
        axpy(-s.omega, &s.t, &mut s.r);
        Ok(Step::Continue {
            estimate: Some(norm2(&s.r) / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &BicgstabState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
}

super::has_solution!(BicgstabState);
