//! Restarted GMRES(m) with right preconditioning and CGS2 orthogonalisation.

use super::arnoldi::{append_basis_vector, arnoldi_step, ArnoldiWork};
use super::{check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, SolverError, Step};
use solvent_linalg::gram_schmidt::{combine, Basis};
use solvent_linalg::vector::{axpy, norm2, scale, sub_from};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// GMRES(m): minimises `‖b − A x‖` over `x₀ + M⁻¹ K_j(A M⁻¹, r₀)`, restarting
/// every `m` iterations from the true residual. One iteration: one SpMV, one
/// preconditioner application and one CGS2 pass over the current basis; the
/// least-squares problem is kept triangular by Givens rotations, so the
/// residual norm is known every iteration without forming `x`.
#[derive(Clone)]
pub struct Gmres {
    restart: usize,
    precond: SharedPrecond,
}

/// GMRES basis, Hessenberg factor and iterate.
#[derive(Clone, Debug)]
pub struct GmresState {
    /// The iterate at the last restart (up to date after the run ends).
    pub x: Vec<f64>,
    v: Basis,
    /// Column-major (m+1)×m, rotated to upper triangular as it is built.
    h: Vec<f64>,
    cs: Vec<f64>,
    sn: Vec<f64>,
    g: Vec<f64>,
    j: usize,
    cycle_done: bool,
    w: Vec<f64>,
    z: Vec<f64>,
    hcol: Vec<f64>,
    scratch: Vec<f64>,
    bnorm: f64,
    /// Number of restarts performed.
    pub restarts: usize,
}

impl Default for Gmres {
    fn default() -> Self {
        Self {
            restart: 40,
            precond: None,
        }
    }
}

impl Gmres {
    /// GMRES(40), unpreconditioned.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the restart length `m` (basis size), at least 1.
    pub fn restart(mut self, m: usize) -> Self {
        self.restart = m;
        self
    }
    /// With a right preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }

    fn m(&self) -> usize {
        self.restart
    }

    /// `y` solving the j×j triangular system `R y = g[..j]`.
    fn solve_small(&self, s: &GmresState) -> Vec<f64> {
        solvent_linalg::small::solve_triangular(&s.h, self.m() + 1, &s.g, s.j)
    }

    /// The correction `M⁻¹ V y` of the current cycle.
    fn correction(&self, s: &GmresState) -> Vec<f64> {
        let n = s.x.len();
        let y = self.solve_small(s);
        let mut u = vec![0.0; n];
        combine(s.v.first(y.len()), n, &y, &mut u);
        match &self.precond {
            Some(m) => {
                let mut z = vec![0.0; n];
                m.apply(&u, &mut z);
                z
            }
            None => u,
        }
    }

    /// Folds the cycle into `x` and restarts from the true residual.
    fn restart_cycle<P: LinearSystem + ?Sized>(&self, problem: &P, s: &mut GmresState) {
        if s.j > 0 {
            let c = self.correction(s);
            axpy(1.0, &c, &mut s.x);
            s.restarts += 1;
        }
        let r0 = s.v.col_mut(0);
        problem.operator().apply(&s.x, r0);
        sub_from(problem.rhs(), r0);
        let beta = norm2(r0);
        if beta > 0.0 {
            scale(1.0 / beta, r0);
        }
        s.g.fill(0.0);
        s.g[0] = beta;
        s.j = 0;
        s.cycle_done = beta == 0.0;
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for Gmres {
    type State = GmresState;
    fn name(&self) -> String {
        format!("gmres({})", self.restart)
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "restart": self.restart,
            "preconditioner": super::precond_name(&self.precond),
            "side": "right",
            "orthogonalisation": "cgs2",
        })
    }
    fn init(&mut self, problem: &P) -> Result<GmresState> {
        if self.restart == 0 {
            return Err(SolverError::setting(
                "restart",
                0,
                "GMRES needs a basis of at least 1 vector",
            ));
        }
        let n = check_system(problem, &self.precond)?;
        let m = self.m();
        let mut s = GmresState {
            x: initial_x(problem),
            v: Basis::zeros(n, m + 1),
            h: vec![0.0; (m + 1) * m],
            cs: vec![0.0; m],
            sn: vec![0.0; m],
            g: vec![0.0; m + 1],
            j: 0,
            cycle_done: false,
            w: vec![0.0; n],
            z: vec![0.0; n],
            hcol: vec![0.0; m + 1],
            scratch: vec![0.0; m + 1],
            bnorm: rhs_scale(problem.rhs()),
            restarts: 0,
        };
        self.restart_cycle(problem, &mut s);
        s.restarts = 0;
        Ok(s)
    }
    fn step(&mut self, problem: &P, s: &mut GmresState) -> Result<Step> {
        let m = self.m();
        if s.cycle_done || s.j == m {
            self.restart_cycle(problem, s);
            if s.cycle_done {
                // the residual is exactly zero
                return Ok(Step::Continue { estimate: Some(0.0) });
            }
        }
        let j = s.j;
        let ld = m + 1;
        let hn = arnoldi_step(
            problem.operator(),
            &self.precond,
            &mut s.v,
            j,
            ArnoldiWork {
                w: &mut s.w,
                z: &mut s.z,
                hcol: &mut s.hcol,
                scratch: &mut s.scratch,
            },
        );
        if !hn.is_finite() {
            return Ok(Step::Breakdown(format!(
                "non-finite Arnoldi vector at iteration {}",
                j + 1
            )));
        }
        // apply previous rotations to the new column, then a new one
        let col = &mut s.h[j * ld..(j + 1) * ld];
        col[..=j].copy_from_slice(&s.hcol[..=j]);
        col[j + 1] = hn;
        let Some(r) = solvent_linalg::small::rotate_column(col, j, &mut s.cs, &mut s.sn, &mut s.g) else {
            return Ok(Step::Breakdown(
                "zero column in the Hessenberg matrix (singular operator?)".into(),
            ));
        };
        if !append_basis_vector(&mut s.v, j, &s.w, hn, r) {
            // happy breakdown: the Krylov space is invariant, the solution is in it
            s.cycle_done = true;
        }
        s.j = j + 1;
        if s.j == m {
            s.cycle_done = true;
        }
        Ok(Step::Continue {
            estimate: Some(s.g[s.j].abs() / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &GmresState) -> Metrics {
        if s.j == 0 {
            return residual_metrics(problem, &s.x);
        }
        let mut x = s.x.clone();
        axpy(1.0, &self.correction(s), &mut x);
        residual_metrics(problem, &x)
    }
    fn finalize(&mut self, _problem: &P, s: &mut GmresState) -> Result<()> {
        if s.j > 0 {
            let c = self.correction(s);
            axpy(1.0, &c, &mut s.x);
            s.j = 0;
            s.g.fill(0.0);
        }
        Ok(())
    }
}

super::has_solution!(GmresState);
