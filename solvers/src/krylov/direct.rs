//! The sparse direct path as a solver: factorise once, solve, done.

use super::residual_metrics;
use crate::{Metrics, Result, Solver, SolverError, Step};
use solvent_linalg::direct::{DirectKind, DirectSolver};
use solvent_linalg::LinalgError;
use solvent_problems::LinearSystem;

/// Sparse direct solve through faer: Cholesky when asked (or, with `kind =
/// None`, when the matrix is symmetric with a positive diagonal, falling back
/// to LU if Cholesky meets a non-positive pivot), LU otherwise. Takes one
/// step.
#[derive(Clone, Debug, Default)]
pub struct Direct {
    kind: Option<DirectKind>,
    used: Option<DirectKind>,
}

/// The solution (and the factorization, for further right-hand sides).
pub struct DirectState {
    /// The solution (zero until the step ran).
    pub x: Vec<f64>,
    /// The factorization, after the step.
    pub factor: Option<DirectSolver>,
}

impl std::fmt::Debug for DirectState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectState")
            .field("n", &self.x.len())
            .field("factor", &self.factor)
            .finish()
    }
}

impl Direct {
    /// Chooses the factorization from the matrix.
    pub fn new() -> Self {
        Self::default()
    }
    /// Forces a factorization.
    pub fn kind(mut self, kind: DirectKind) -> Self {
        self.kind = Some(kind);
        self
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for Direct {
    type State = DirectState;
    fn name(&self) -> String {
        match self.used.or(self.kind) {
            Some(DirectKind::Cholesky) => "direct-cholesky".into(),
            Some(DirectKind::Lu) => "direct-lu".into(),
            None => "direct".into(),
        }
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({"factorization": format!("{:?}", self.used.or(self.kind))})
    }
    fn init(&mut self, problem: &P) -> Result<DirectState> {
        let a = problem
            .matrix()
            .ok_or_else(|| SolverError::NotApplicable("a direct solve needs an assembled matrix".into()))?;
        if problem.rhs().len() != a.nrows() {
            return Err(LinalgError::dims("right-hand side length", a.nrows(), problem.rhs().len()).into());
        }
        Ok(DirectState {
            x: vec![0.0; a.ncols()],
            factor: None,
        })
    }
    fn step(&mut self, problem: &P, s: &mut DirectState) -> Result<Step> {
        let a = problem
            .matrix()
            .ok_or_else(|| SolverError::NotApplicable("no assembled matrix".into()))?;
        let factor = match self.kind {
            Some(k) => DirectSolver::new(a, k)?,
            None => {
                let spd_candidate = a.diagonal().iter().all(|&d| d > 0.0) && a.is_symmetric(1e-12);
                if spd_candidate {
                    match DirectSolver::new(a, DirectKind::Cholesky) {
                        Ok(f) => f,
                        Err(LinalgError::NotPositiveDefinite { .. }) => DirectSolver::new(a, DirectKind::Lu)?,
                        Err(e) => return Err(e.into()),
                    }
                } else {
                    DirectSolver::new(a, DirectKind::Lu)?
                }
            }
        };
        self.used = Some(factor.kind());
        factor.solve(problem.rhs(), &mut s.x)?;
        s.factor = Some(factor);
        Ok(Step::Finished)
    }
    fn metrics(&self, problem: &P, s: &DirectState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
}

super::has_solution!(DirectState);
