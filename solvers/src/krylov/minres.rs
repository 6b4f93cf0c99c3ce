//! Preconditioned MINRES for symmetric (possibly indefinite) systems.

use super::{apply_precond, check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, SolverError, Step};
use solvent_linalg::vector::{axpy, dot, sub_from};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// MINRES (Paige & Saunders 1975): minimises the residual over the Krylov
/// space with a three-term Lanczos recurrence, so its cost per iteration is
/// CG's although it handles indefinite matrices. The preconditioner must be
/// symmetric positive definite (e.g. Jacobi on `|diag A|`).
#[derive(Clone, Default)]
pub struct Minres {
    precond: SharedPrecond,
}

/// MINRES iterate, Lanczos vectors and rotation state.
#[derive(Clone, Debug)]
pub struct MinresState {
    /// The iterate.
    pub x: Vec<f64>,
    r1: Vec<f64>,
    r2: Vec<f64>,
    y: Vec<f64>,
    v: Vec<f64>,
    w: Vec<f64>,
    w1: Vec<f64>,
    w2: Vec<f64>,
    beta: f64,
    oldb: f64,
    dbar: f64,
    epsln: f64,
    phibar: f64,
    cs: f64,
    sn: f64,
    itn: usize,
    /// ‖r₀‖ in the M⁻¹ norm, to turn `phibar` into a relative estimate.
    beta1: f64,
    bnorm: f64,
    r0norm: f64,
}

impl Minres {
    /// Unpreconditioned MINRES.
    pub fn new() -> Self {
        Self::default()
    }
    /// With a symmetric positive definite preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for Minres {
    type State = MinresState;
    fn name(&self) -> String {
        "minres".into()
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"preconditioner": super::precond_name(&self.precond)})
    }
    fn init(&mut self, problem: &P) -> Result<MinresState> {
        let n = check_system(problem, &self.precond)?;
        if let Some(m) = &self.precond {
            if !m.is_symmetric() {
                return Err(SolverError::NotApplicable(format!(
                    "MINRES needs a symmetric positive definite preconditioner; '{}' is not",
                    m.name()
                )));
            }
        }
        let x = initial_x(problem);
        let mut r1 = vec![0.0; n];
        problem.operator().apply(&x, &mut r1);
        sub_from(problem.rhs(), &mut r1);
        let mut y = vec![0.0; n];
        apply_precond(&self.precond, &r1, &mut y);
        let b1 = dot(&r1, &y);
        if b1 < 0.0 {
            return Err(SolverError::NotApplicable(
                "MINRES: the preconditioner is not positive definite".into(),
            ));
        }
        let beta1 = b1.sqrt();
        let r0norm = dot(&r1, &r1).sqrt();
        Ok(MinresState {
            x,
            r2: r1.clone(),
            r1,
            y,
            v: vec![0.0; n],
            w: vec![0.0; n],
            w1: vec![0.0; n],
            w2: vec![0.0; n],
            beta: beta1,
            oldb: 0.0,
            dbar: 0.0,
            epsln: 0.0,
            phibar: beta1,
            cs: -1.0,
            sn: 0.0,
            itn: 0,
            beta1,
            bnorm: rhs_scale(problem.rhs()),
            r0norm,
        })
    }
    fn step(&mut self, problem: &P, s: &mut MinresState) -> Result<Step> {
        if s.beta == 0.0 {
            return Ok(Step::Continue { estimate: Some(0.0) });
        }
        s.itn += 1;
        // Lanczos: v = y/β, y = A v − (β/β_old) r1 − (α/β) r2
        let inv = 1.0 / s.beta;
        for (vi, &yi) in s.v.iter_mut().zip(&s.y) {
            *vi = inv * yi;
        }
        problem.operator().apply(&s.v, &mut s.y);
        if s.itn >= 2 {
            axpy(-s.beta / s.oldb, &s.r1, &mut s.y);
        }
        let alfa = dot(&s.v, &s.y);
        axpy(-alfa / s.beta, &s.r2, &mut s.y);
        std::mem::swap(&mut s.r1, &mut s.r2); // r1 ← r2
        std::mem::swap(&mut s.r2, &mut s.y); // r2 ← y
        apply_precond(&self.precond, &s.r2, &mut s.y);
        s.oldb = s.beta;
        let bb = dot(&s.r2, &s.y);
        if bb < 0.0 || !bb.is_finite() {
            return Ok(Step::Breakdown(format!(
                "Lanczos βᵏ² = {bb:.3e} < 0: the matrix is not symmetric or the preconditioner not positive definite"
            )));
        }
        s.beta = bb.sqrt();
        // QR of the tridiagonal by plane rotations
        let oldeps = s.epsln;
        let delta = s.cs * s.dbar + s.sn * alfa;
        let gbar = s.sn * s.dbar - s.cs * alfa;
        s.epsln = s.sn * s.beta;
        s.dbar = -s.cs * s.beta;
        let gamma = gbar.hypot(s.beta).max(f64::EPSILON);
        s.cs = gbar / gamma;
        s.sn = s.beta / gamma;
        let phi = s.cs * s.phibar;
        s.phibar *= s.sn;
        // w = (v − ε w1 − δ w2)/γ with (w1, w2, w) ← (w2, w, new)
        std::mem::swap(&mut s.w1, &mut s.w2); // w1 ← w2
        std::mem::swap(&mut s.w2, &mut s.w); // w2 ← w ; w holds old w1 (overwritten)
        let ig = 1.0 / gamma;
        for (((wi, &vi), &w1i), &w2i) in s.w.iter_mut().zip(&s.v).zip(&s.w1).zip(&s.w2) {
            *wi = (vi - oldeps * w1i - delta * w2i) * ig;
        }
        axpy(phi, &s.w, &mut s.x);
        // phibar is ‖r‖ in the M⁻¹ norm; scale by ‖r₀‖₂/‖r₀‖_{M⁻¹} for a 2-norm estimate
        let est = if s.beta1 > 0.0 {
            s.phibar * s.r0norm / s.beta1
        } else {
            0.0
        };
        Ok(Step::Continue {
            estimate: Some(est / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &MinresState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
}

super::has_solution!(MinresState);
