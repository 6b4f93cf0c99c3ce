//! The bilevel solvers on the shared contract: the penalty method (deterministic double loop,
//! stochastic minibatch, single-loop momentum) and the baselines F2SA and approximate implicit
//! differentiation (AID). All stop on the norm of the projected hypergradient estimate and
//! report the upper value, lower-level optimality and oracle calls in the trace.

// Index loops over several arrays at once read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use super::oracle::{
    inner_sgd_step, lower_gradient_mapping, norm, penalty_hypergradient, projected, solve_inner, weight,
    Calls, CurvatureMemory, Inner,
};
use crate::error::{Result, SolverError};
use crate::metrics::{Criterion, Metrics};
use crate::solver::{Solver, Step};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solvent_linalg::cg::{pcg, PcgStop};
use solvent_linalg::LinalgError;
use solvent_problems::bilevel::{validate, Batch, Bilevel};

/// Which method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Penalty method, deterministic double loop: inner problems solved to a tolerance tied to
    /// σ and the current hypergradient, then one projected step on x.
    Penalty,
    /// Penalty method with minibatch oracles: `inner_steps` stochastic steps per outer step.
    PenaltyStochastic,
    /// Single-loop penalty method: one stochastic inner step per outer step, momentum on the
    /// hypergradient.
    PenaltySingleLoop,
    /// F2SA: penalty weight λ = 1/σ increasing linearly, a fixed number of inner steps.
    F2sa,
    /// Approximate implicit differentiation: inner solve, CG on ∇²_yy g v = ∇_y f,
    /// ∇ψ ≈ ∇ₓf − ∇²_xy g v.
    Aid,
}

solvent_linalg::named_enum!(Method, "bilevel method" {
    Penalty => "penalty",
    PenaltyStochastic => "penalty-stoch",
    PenaltySingleLoop => "penalty-single-loop",
    F2sa => "f2sa",
    Aid => "aid",
});

/// How σ evolves (penalty methods; F2SA ramps λ = 1/σ instead).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Sigma {
    /// σ fixed.
    Fixed(f64),
    /// σ ← max(min, σ·factor) after every outer step.
    Geometric {
        /// Start.
        start: f64,
        /// Factor in (0, 1].
        factor: f64,
        /// Floor.
        min: f64,
    },
}

impl Sigma {
    fn start(&self) -> f64 {
        match *self {
            Self::Fixed(s) => s,
            Self::Geometric { start, .. } => start,
        }
    }
}

/// Settings (validated in `init`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BilevelSolver {
    /// The method.
    pub method: Method,
    /// The penalty parameter σ (F2SA: its start, λ₀ = 1/σ).
    pub sigma: Sigma,
    /// F2SA: λ increment per outer step; λ stops at 1/`f2sa_sigma_min`.
    pub f2sa_ramp: f64,
    /// F2SA: smallest σ (largest λ).
    pub f2sa_sigma_min: f64,
    /// Inner tolerance factor, relative to the current projected hypergradient norm ‖G‖:
    /// the penalty method solves z to factor·‖G‖ and y to factor·σ·‖G‖ (untilted: both to
    /// factor·σ·‖G‖); AID its lower problem and its CG to 0.1·factor·‖G‖.
    pub inner_tol: f64,
    /// Most inner steps per inner solve.
    pub inner_max_iters: usize,
    /// Inner steps per outer step (F2SA and the stochastic double loop).
    pub inner_steps: usize,
    /// Minibatch size (stochastic methods).
    pub batch: usize,
    /// Momentum weight β of the single-loop method: d ← (1−β)d + βĝ.
    pub momentum: f64,
    /// Fixed outer step α (default: 1/L with L the largest secant estimate of ∇ψ's Lipschitz
    /// constant seen so far).
    pub step: Option<f64>,
    /// Seed of the minibatches.
    pub seed: u64,
    /// Start point (x₀, y₀) instead of the problem's (projected onto X × Y).
    pub start: Option<(Vec<f64>, Vec<f64>)>,
    /// Penalty and AID: Nesterov momentum on x with gradient restarts (FISTA). Off by default:
    /// with inexact hypergradients momentum can make the measure oscillate; on the
    /// hyperparameter bench it lowers both methods' early validation loss.
    pub accelerate: bool,
    /// Penalty (deterministic): solve z first, to a tolerance factor·‖G‖ that is not scaled
    /// by σ, then y from z + (y − z) of the last step on the problem tilted by z's gradient
    /// mapping ([`Inner::Tilted`]), so the hypergradient's y − z is O(σ) whatever z's error.
    /// Off: both inner problems to factor·σ·‖G‖, each warm started from itself (as
    /// published).
    pub tilt: bool,
    /// Inner solves over a free Y by L-BFGS carrying its curvature pairs from one outer
    /// step to the next (penalty and AID); off, or when Y is constrained, by the
    /// accelerated projected gradient. F2SA's fixed inner steps are always the latter.
    pub lbfgs: bool,
}

impl BilevelSolver {
    /// Defaults for a method: σ fixed at 1e-4 (F2SA: λ from 10 by +1 per step up to 1e4),
    /// inner tolerance factor 0.1, batch 64, 10 inner steps, β = 0.1.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            sigma: Sigma::Fixed(if method == Method::F2sa { 0.1 } else { 1e-4 }),
            f2sa_ramp: 1.0,
            f2sa_sigma_min: 1e-4,
            inner_tol: 0.1,
            inner_max_iters: 1_000,
            inner_steps: 10,
            batch: 64,
            momentum: 0.1,
            step: None,
            seed: 0,
            start: None,
            accelerate: false,
            tilt: true,
            lbfgs: true,
        }
    }

    /// The same with σ fixed.
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.sigma = Sigma::Fixed(sigma);
        self
    }

    fn check(&self) -> Result<()> {
        let pos = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(SolverError::setting(name, v, "must be a positive finite number"))
            }
        };
        match self.sigma {
            Sigma::Fixed(s) => pos("sigma", s)?,
            Sigma::Geometric { start, factor, min } => {
                pos("sigma", start)?;
                pos("sigma min", min)?;
                if !(factor > 0.0 && factor <= 1.0) {
                    return Err(SolverError::setting("sigma factor", factor, "must be in (0, 1]"));
                }
            }
        }
        pos("f2sa ramp", self.f2sa_ramp)?;
        pos("f2sa sigma min", self.f2sa_sigma_min)?;
        pos("inner tolerance", self.inner_tol)?;
        if let Some(a) = self.step {
            pos("step", a)?;
        }
        if !(self.momentum > 0.0 && self.momentum <= 1.0) {
            return Err(SolverError::setting(
                "momentum",
                self.momentum,
                "must be in (0, 1]",
            ));
        }
        if self.batch == 0 || self.inner_steps == 0 || self.inner_max_iters == 0 {
            return Err(SolverError::setting("batch/inner steps", 0, "must be ≥ 1"));
        }
        Ok(())
    }

    fn stochastic(&self) -> bool {
        matches!(self.method, Method::PenaltyStochastic | Method::PenaltySingleLoop)
    }
}

/// The iterate and the method's internals.
#[derive(Clone, Debug)]
pub struct BilevelState {
    /// Upper variable.
    pub x: Vec<f64>,
    /// Penalised lower solution y_σ (AID: the lower solution).
    pub y: Vec<f64>,
    /// Lower solution z ≈ argmin g(x, ·).
    pub z: Vec<f64>,
    /// Current σ.
    pub sigma: f64,
    /// Oracle calls so far.
    pub calls: Calls,
    /// The hypergradient estimate at x.
    pub grad: Vec<f64>,
    /// Norm of its projected version (the convergence measure).
    pub pg_norm: f64,
    /// Outer iterations done.
    pub outer: usize,
    /// Lower-level optimality: gradient-mapping norm of g at z after the last inner solve.
    pub lower_residual: f64,
    v: Vec<f64>,
    momentum: Vec<f64>,
    secants: Vec<f64>,
    x_seq: Vec<f64>,
    t_acc: f64,
    l_est: f64,
    step_y: f64,
    step_z: f64,
    /// The smallest projected hypergradient seen (divergence detection).
    best_pg: f64,
    /// Single loop: μ/L of the lower problem, the contraction per inner step that the
    /// outer step is scaled by.
    track: f64,
    /// Single loop: the previous x and raw hypergradient (secant estimates).
    last: Option<(Vec<f64>, Vec<f64>)>,
    mem_y: CurvatureMemory,
    mem_z: CurvatureMemory,
    rng: ChaCha8Rng,
}

/// Secants kept for the Lipschitz estimate of the outer step.
const SECANT_WINDOW: usize = 10;

/// Longest probe step (the one that gives the first secant), relative to 1 + ‖x₀‖.
const PROBE: f64 = 0.1;

fn check_finite(what: &str, it: usize, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(SolverError::Linalg(LinalgError::NonFinite {
            what: format!("{what} at outer iteration {it} (an oracle returned NaN or ∞)"),
            index,
            value: v[index],
        })),
    }
}

impl BilevelSolver {
    fn batches(&self, p: &dyn Bilevel, rng: &mut ChaCha8Rng) -> (Batch, Batch) {
        // The samples are cut into consecutive windows of `batch`; a uniformly drawn sample
        // picks its window, so every sample weighs 1/n in expectation (unbiased estimates).
        let pick = |n: usize, rng: &mut ChaCha8Rng| -> Batch {
            if n == 0 || self.batch >= n {
                None
            } else {
                let u = (rng.next_u64() % n as u64) as usize;
                let s = u / self.batch * self.batch;
                Some(s..(s + self.batch).min(n))
            }
        };
        (pick(p.upper_samples(), rng), pick(p.lower_samples(), rng))
    }

    /// Solves the inner problems at st.x (deterministic) and forms the hypergradient there.
    fn refresh(&self, p: &dyn Bilevel, st: &mut BilevelState, inner_iters: Option<usize>) -> Result<()> {
        let scale = st.pg_norm.clamp(1e-12, 1.0);
        let it = st.outer;
        let max = inner_iters.unwrap_or(self.inner_max_iters);
        // inner tolerances: exact when a fixed number of steps is asked for
        let tol = |t: f64| if inner_iters.is_some() { 0.0 } else { t };
        // quasi-Newton inner solves (free Y) unless a fixed number of steps is asked for; the
        // stochastic methods start from FISTA, whose backtracking sizes their inner steps
        let qn = self.lbfgs && inner_iters.is_none() && !self.stochastic();
        match self.method {
            Method::Aid => {
                let (r, _) = solve_inner(
                    p,
                    &st.x,
                    &mut st.z,
                    Inner::Lower,
                    tol(self.inner_tol * scale * 0.1),
                    max,
                    &mut st.step_z,
                    qn.then_some(&mut st.mem_z),
                    &mut st.calls,
                );
                st.lower_residual = r;
                st.y.copy_from_slice(&st.z);
                // CG on ∇²_yy g v = ∇_y f, warm started.
                let ny = st.z.len();
                let mut rhs = vec![0.0; ny];
                p.grad_f_y(&st.x, &st.z, None, &mut rhs);
                st.calls.grad_f += 1.0;
                let mut r = vec![0.0; ny];
                p.hvp_yy(&st.x, &st.z, &st.v, &mut r)?;
                st.calls.hvp += 1.0;
                r.iter_mut().zip(&rhs).for_each(|(r, b)| *r = b - *r);
                let target = (self.inner_tol * scale * 0.1).powi(2).max(1e-30)
                    * rhs.iter().map(|x| x * x).sum::<f64>().max(1e-300);
                let (x, z, calls) = (&st.x, &st.z, &mut st.calls);
                let hvp = |d: &[f64], hv: &mut [f64]| {
                    calls.hvp += 1.0;
                    p.hvp_yy(x, z, d, hv)
                };
                let mut work = vec![0.0; 3 * ny];
                let out = pcg(
                    &mut st.v,
                    &mut r,
                    &mut work,
                    target,
                    max.min(10 * ny + 10),
                    hvp,
                    None,
                )?;
                if let PcgStop::NonPositiveCurvature { pap } = out.stop {
                    return Err(SolverError::NotApplicable(format!(
                        "AID: the lower Hessian is not positive definite at outer iteration {it} (dᵀHd = {pap:e}); \
                         use a penalty method for nonconvex lower levels"
                    )));
                }
                let nx = st.x.len();
                let (mut gf, mut gxy) = (vec![0.0; nx], vec![0.0; nx]);
                p.grad_f_x(&st.x, &st.z, None, &mut gf);
                st.calls.grad_f += 1.0;
                p.hvp_xy(&st.x, &st.z, &st.v, &mut gxy)?;
                st.calls.hvp += 1.0;
                st.grad = gf.iter().zip(&gxy).map(|(a, b)| a - b).collect();
            }
            Method::Penalty if self.tilt && inner_iters.is_none() => {
                // z to factor·‖G‖; y warm started at z + (y − z)_previous on the tilted problem
                let offset: Vec<f64> = st.y.iter().zip(&st.z).map(|(y, z)| y - z).collect();
                let (r, _) = solve_inner(
                    p,
                    &st.x,
                    &mut st.z,
                    Inner::Lower,
                    self.inner_tol * scale,
                    max,
                    &mut st.step_z,
                    qn.then_some(&mut st.mem_z),
                    &mut st.calls,
                );
                st.lower_residual = r;
                let tilt = lower_gradient_mapping(p, &st.x, &st.z, st.step_z, &mut st.calls);
                for ((y, z), o) in st.y.iter_mut().zip(&st.z).zip(&offset) {
                    *y = z + o;
                }
                p.y_set().project(&mut st.y);
                solve_inner(
                    p,
                    &st.x,
                    &mut st.y,
                    Inner::Tilted(st.sigma, &tilt),
                    self.inner_tol * st.sigma * scale,
                    max,
                    &mut st.step_y,
                    qn.then_some(&mut st.mem_y),
                    &mut st.calls,
                );
                st.grad =
                    penalty_hypergradient(p, &st.x, &st.y, &st.z, st.sigma, (None, None), &mut st.calls);
            }
            _ => {
                // the two inner problems are independent: solved concurrently
                let t = tol(self.inner_tol * st.sigma * scale);
                let (x, sigma) = (&st.x, st.sigma);
                let (mut cy, mut cz) = (Calls::default(), Calls::default());
                let (y, step_y, mem_y) = (&mut st.y, &mut st.step_y, &mut st.mem_y);
                let (z, step_z, mem_z) = (&mut st.z, &mut st.step_z, &mut st.mem_z);
                let (_, (r, _)) = rayon::join(
                    || {
                        let m = qn.then_some(mem_y);
                        solve_inner(p, x, y, Inner::Penalised(sigma), t, max, step_y, m, &mut cy)
                    },
                    || {
                        let m = qn.then_some(mem_z);
                        solve_inner(p, x, z, Inner::Lower, t, max, step_z, m, &mut cz)
                    },
                );
                st.calls.add(&cy);
                st.calls.add(&cz);
                st.lower_residual = r;
                st.grad =
                    penalty_hypergradient(p, &st.x, &st.y, &st.z, st.sigma, (None, None), &mut st.calls);
            }
        }
        check_finite("the hypergradient", it, &st.grad)?;
        Ok(())
    }

    /// One step of the single-loop penalty method, written in the tilted variables that
    /// keep it stable at small σ: with `u = (y − z)/σ` (an O(1) quantity at the solution,
    /// `u ≈ −(∇²_yy g)⁻¹ ∇_y f`), one projected step on z for g, then y shifted with z
    /// (`y = z + σu`) and one step on the tilted problem `σf + g − ⟨∇_y g(z), ·⟩`, whose
    /// curvature is g's whatever σ (so one step size, 1/L of g, serves both), then the
    /// penalty hypergradient `∇ₓf(y) + (∇ₓg(y) − ∇ₓg(z))/σ` from the same minibatch —
    /// its error is O(error of u), not O(error of y)/σ as when y and z are tracked
    /// separately — averaged with momentum β, and a projected step on x of
    /// `0.5·(μ/L)/L_ψ`: `L_ψ` the largest secant estimate along the path (full batch), μ/L
    /// the lower problem's inverse condition number (estimated at the start by power
    /// iterations), which is how fast the lower variables contract per step and so how
    /// fast x may move for them to keep up; under minibatches it decays as
    /// `1/√(1 + k/10⁴)`.
    /// A run whose hypergradient grows by 10⁶ over its smallest stops with a
    /// breakdown saying so, instead of reporting a huge value.
    fn single_loop_step(
        &self,
        p: &dyn Bilevel,
        st: &mut BilevelState,
    ) -> Result<std::result::Result<f64, String>> {
        let b = self.batches(p, &mut st.rng);
        let sigma = st.sigma;
        let gamma = st.step_z;
        let minibatch = b.0.is_some() || b.1.is_some();
        let decay = if minibatch {
            1.0 / (1.0 + st.outer as f64 / 10_000.0).sqrt()
        } else {
            1.0
        };
        let u: Vec<f64> = st.y.iter().zip(&st.z).map(|(y, z)| (y - z) / sigma).collect();
        inner_sgd_step(
            p,
            &st.x,
            &mut st.z,
            Inner::Lower,
            b.clone(),
            gamma * decay,
            &mut st.calls,
        );
        for ((y, z), u) in st.y.iter_mut().zip(&st.z).zip(&u) {
            *y = z + sigma * u;
        }
        p.y_set().project(&mut st.y);
        let mut tilt = vec![0.0; st.z.len()];
        p.grad_g_y(&st.x, &st.z, b.1.clone(), &mut tilt);
        st.calls.grad_g += weight(&b.1, p.lower_samples());
        inner_sgd_step(
            p,
            &st.x,
            &mut st.y,
            Inner::Tilted(sigma, &tilt),
            b.clone(),
            gamma,
            &mut st.calls,
        );
        let g = penalty_hypergradient(p, &st.x, &st.y, &st.z, sigma, b, &mut st.calls);
        check_finite("the hypergradient estimate", st.outer, &g)?;
        // the step follows the largest curvature of ψ_σ seen along the path (secants of the
        // raw estimates: inexact ones only make it more careful)
        // (full batch only: minibatch noise would inflate every secant)
        if let Some((px, pg)) = st.last.take().filter(|_| !minibatch) {
            let s: f64 =
                st.x.iter()
                    .zip(&px)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
            let r: f64 = g
                .iter()
                .zip(&pg)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            if s > 0.0 && r.is_finite() {
                st.l_est = st.l_est.max(r / s);
            }
        }
        st.last = Some((st.x.clone(), g.clone()));
        let beta = self.momentum;
        for (m, gi) in st.momentum.iter_mut().zip(&g) {
            *m = (1.0 - beta) * *m + beta * gi;
        }
        let alpha = 0.5 * st.track * self.alpha(st) * decay;
        for (x, m) in st.x.iter_mut().zip(&st.momentum) {
            *x -= alpha * m;
        }
        p.x_set().project(&mut st.x);
        st.grad = st.momentum.clone();
        st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
        st.best_pg = st.best_pg.min(st.pg_norm);
        if st.pg_norm > 1e6 * st.best_pg.max(1e-300) {
            return Ok(Err(format!(
                "diverging at outer iteration {}: the hypergradient grew from {:.2e} to {:.2e} (try a larger --sigma, a smaller --step, or the double-loop penalty method)",
                st.outer, st.best_pg, st.pg_norm
            )));
        }
        Ok(Ok(st.pg_norm))
    }

    fn alpha(&self, st: &BilevelState) -> f64 {
        self.step.unwrap_or(1.0 / st.l_est)
    }

    /// Takes the projected step on x (F2SA: scaled by λ₀/λ, its step rule as λ grows).
    fn outer_step(&self, p: &dyn Bilevel, st: &mut BilevelState, d: &[f64]) -> Vec<f64> {
        let mut alpha = self.alpha(st);
        if self.method == Method::F2sa {
            alpha *= st.sigma / self.sigma.start();
        }
        let old = st.x.clone();
        for (x, g) in st.x.iter_mut().zip(d) {
            *x -= alpha * g;
        }
        p.x_set().project(&mut st.x);
        old
    }

    fn secant(&self, st: &mut BilevelState, old_x: &[f64], old_g: &[f64]) {
        let s: f64 =
            st.x.iter()
                .zip(old_x)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
        let r: f64 = st
            .grad
            .iter()
            .zip(old_g)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        if s > 0.0 && r.is_finite() {
            st.secants.push(r / s);
            if st.secants.len() > SECANT_WINDOW {
                st.secants.remove(0);
            }
            st.l_est = st.secants.iter().copied().fold(1e-12, f64::max);
        }
    }
}

/// The extreme curvatures `(L, μ)` of `g(x, ·)` near `z` — the largest and smallest
/// eigenvalues of `∇²_yy g`, by power iterations on gradient differences (full batch,
/// twelve each), L inflated by 10% for safety, μ at least 0.
fn lower_curvature(p: &dyn Bilevel, x: &[f64], z: &[f64], calls: &mut Calls) -> (f64, f64) {
    let n = z.len();
    let mut g0 = vec![0.0; n];
    p.grad_g_y(x, z, None, &mut g0);
    calls.grad_g += 1.0;
    let h = 1e-6 * (1.0 + norm(z));
    // the largest eigenvalue of s·I − H for s = 0 (−H's, useless) and s = L (L − μ)
    let power = |shift: f64, calls: &mut Calls| -> f64 {
        let mut v: Vec<f64> = (0..n).map(|i| 1.0 + 0.1 * ((i * 7919) % 13) as f64).collect();
        let mut g1 = vec![0.0; n];
        let mut lambda = 0.0;
        for _ in 0..12 {
            let vn = norm(&v).max(1e-300);
            v.iter_mut().for_each(|a| *a /= vn);
            let zp: Vec<f64> = z.iter().zip(&v).map(|(a, b)| a + h * b).collect();
            p.grad_g_y(x, &zp, None, &mut g1);
            calls.grad_g += 1.0;
            for ((vi, a), b) in v.iter_mut().zip(&g1).zip(&g0) {
                let hv = (a - b) / h;
                *vi = if shift > 0.0 { shift * *vi - hv } else { hv };
            }
            lambda = norm(&v);
        }
        lambda
    };
    let top = power(0.0, calls);
    if !(top.is_finite() && top > 0.0) {
        return (1.0, 1e-3);
    }
    let l = 1.1 * top;
    let mu = (l - power(l, calls)).max(0.0);
    (l, mu)
}

impl<P: Bilevel> Solver<P> for BilevelSolver {
    type State = BilevelState;

    fn name(&self) -> String {
        format!("bilevel-{}", self.method.as_str())
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn init(&mut self, p: &P) -> Result<BilevelState> {
        self.check()?;
        validate(p)?;
        // the single loop also runs on full-batch oracles (then deterministically)
        if self.method == Method::PenaltyStochastic && p.lower_samples() == 0 {
            return Err(SolverError::NotApplicable(format!(
                "{} needs minibatch oracles; this problem has none (use penalty)",
                self.method.as_str()
            )));
        }
        let (mut x, mut y) = self.start.clone().unwrap_or_else(|| p.start());
        if self.start.is_some() {
            p.x_set().project(&mut x);
            p.y_set().project(&mut y);
        }
        if x.len() != p.dim_x() || y.len() != p.dim_y() {
            return Err(SolverError::Linalg(LinalgError::dims(
                "bilevel start point",
                p.dim_x() + p.dim_y(),
                x.len() + y.len(),
            )));
        }
        check_finite("the start point", 0, &x)?;
        let sigma = self.sigma.start();
        let mut st = BilevelState {
            z: y.clone(),
            v: vec![0.0; y.len()],
            momentum: vec![0.0; x.len()],
            grad: vec![0.0; x.len()],
            x,
            y,
            sigma,
            calls: Calls::default(),
            pg_norm: 1.0,
            outer: 0,
            lower_residual: f64::INFINITY,
            secants: Vec::new(),
            x_seq: Vec::new(),
            t_acc: 1.0,
            l_est: 1e-12,
            step_y: 1.0,
            step_z: 1.0,
            best_pg: f64::INFINITY,
            track: 1.0,
            last: None,
            mem_y: CurvatureMemory::default(),
            mem_z: CurvatureMemory::default(),
            rng: ChaCha8Rng::seed_from_u64(self.seed),
        };
        self.refresh(p, &mut st, None)?;
        if self.method != Method::F2sa {
            // the inner tolerances scale with ‖G‖: solve again at the measured one, so the
            // probe below compares two hypergradients of the accuracy the steps will have
            st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
            self.refresh(p, &mut st, None)?;
        }
        // A first secant estimate of L from a small step (the step rule needs one).
        let g0 = st.grad.clone();
        let x0 = st.x.clone();
        let gn = norm(&g0).max(1e-300);
        // a unit gradient step, shortened to PROBE·(1 + ‖x₀‖): long enough that the inner
        // solves' error (a fraction inner_tol of ‖G‖) is small against the change in G
        // (the stochastic methods keep the short probe of 1e-4·(1 + ‖x₀‖) their outer steps
        // were sized with: with minibatch noise amplified by 1/σ, the noise-inflated L it
        // gives is what keeps them stable)
        let h = if self.stochastic() {
            1e-4 * (1.0 + norm(&x0)) / gn
        } else {
            (PROBE * (1.0 + norm(&x0)) / gn).min(1.0)
        };
        for (x, g) in st.x.iter_mut().zip(&g0) {
            *x -= h * g;
        }
        p.x_set().project(&mut st.x);
        self.refresh(p, &mut st, None)?;
        self.secant(&mut st, &x0, &g0);
        if st.l_est <= 1e-12 {
            st.l_est = 1.0;
        }
        st.x_seq = st.x.clone();
        st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
        st.momentum = st.grad.clone();
        if self.method == Method::PenaltySingleLoop {
            // one gradient step per outer step on g: its step is 1/L of ∇_y g; the inner
            // variables then contract by 1 − μ/L per outer step, which bounds how fast x
            // may move for them to keep up
            let (l, mu) = lower_curvature(p, &st.x, &st.z, &mut st.calls);
            st.step_z = 1.0 / l;
            st.track = (mu / l).clamp(1e-3, 1.0);
        }
        Ok(st)
    }

    fn step(&mut self, p: &P, st: &mut BilevelState) -> Result<Step> {
        st.outer += 1;
        let estimate = match self.method {
            Method::F2sa => {
                // F2SA's own rule: λ ramps, x steps shrink as λ₀/λ, a fixed number of inner steps.
                let g_old = st.grad.clone();
                let d = st.grad.clone();
                let x_old = self.outer_step(p, st, &d);
                let lambda = (1.0 / st.sigma + self.f2sa_ramp).min(1.0 / self.f2sa_sigma_min);
                st.sigma = 1.0 / lambda;
                self.refresh(p, st, Some(self.inner_steps))?;
                self.secant(st, &x_old, &g_old);
                st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
                st.pg_norm
            }
            Method::Penalty | Method::Aid => {
                if let (Method::Penalty, Sigma::Geometric { factor, min, .. }) = (self.method, self.sigma) {
                    st.sigma = (st.sigma * factor).max(min);
                }
                // Projected step 1/L, L the largest secant ‖Δ∇ψ‖/‖Δx‖ of the last few steps
                // (a window, so a secant blown up by inexact inner solves is forgotten), with
                // Nesterov momentum and gradient restarts when `accelerate` is on: st.x is the
                // extrapolated point where the hypergradient is known.
                let g_old = st.grad.clone();
                let w_old = st.x.clone();
                let alpha = self.alpha(st);
                let mut x_new: Vec<f64> = w_old.iter().zip(&g_old).map(|(w, g)| w - alpha * g).collect();
                p.x_set().project(&mut x_new);
                if self.accelerate {
                    let against: f64 = w_old
                        .iter()
                        .zip(&x_new)
                        .zip(&st.x_seq)
                        .map(|((w, xn), xk)| (w - xn) * (xn - xk))
                        .sum();
                    if against > 0.0 {
                        st.t_acc = 1.0;
                    }
                    let t_next = 0.5 * (1.0 + (1.0 + 4.0 * st.t_acc * st.t_acc).sqrt());
                    let beta = (st.t_acc - 1.0) / t_next;
                    let mut w: Vec<f64> = x_new
                        .iter()
                        .zip(&st.x_seq)
                        .map(|(xn, xk)| xn + beta * (xn - xk))
                        .collect();
                    p.x_set().project(&mut w);
                    st.t_acc = t_next;
                    st.x_seq = x_new;
                    st.x = w;
                } else {
                    st.x_seq = x_new.clone();
                    st.x = x_new;
                }
                self.refresh(p, st, None)?;
                self.secant(st, &w_old, &g_old);
                st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
                st.pg_norm
            }
            Method::PenaltySingleLoop => match self.single_loop_step(p, st)? {
                Ok(estimate) => estimate,
                Err(why) => return Ok(Step::Breakdown(why)),
            },
            Method::PenaltyStochastic => {
                let single = false;
                let inner = self.inner_steps;
                // Steps decay as 1/√(1 + k/100) (inner ones from the backtracking estimate at
                // the start, halved for the noise).
                let decay = 1.0 / (1.0 + st.outer as f64 / 100.0).sqrt();
                for _ in 0..inner {
                    let b = self.batches(p, &mut st.rng);
                    let (gy, gz) = (0.5 * st.step_y * decay, 0.5 * st.step_z * decay);
                    inner_sgd_step(
                        p,
                        &st.x,
                        &mut st.y,
                        Inner::Penalised(st.sigma),
                        b.clone(),
                        gy,
                        &mut st.calls,
                    );
                    inner_sgd_step(p, &st.x, &mut st.z, Inner::Lower, b, gz, &mut st.calls);
                }
                let b = self.batches(p, &mut st.rng);
                let g = penalty_hypergradient(p, &st.x, &st.y, &st.z, st.sigma, b, &mut st.calls);
                check_finite("the hypergradient estimate", st.outer, &g)?;
                let d = if single {
                    let beta = self.momentum;
                    for (m, gi) in st.momentum.iter_mut().zip(&g) {
                        *m = (1.0 - beta) * *m + beta * gi;
                    }
                    st.momentum.clone()
                } else {
                    g
                };
                let alpha = self.alpha(st) * decay;
                for (x, g) in st.x.iter_mut().zip(&d) {
                    *x -= alpha * g;
                }
                p.x_set().project(&mut st.x);
                st.grad = d;
                st.pg_norm = norm(&projected(p, &st.x, &st.grad, 1.0));
                st.pg_norm
            }
        };
        if !estimate.is_finite() {
            return Err(SolverError::Linalg(LinalgError::NonFinite {
                what: format!("the projected hypergradient at outer iteration {}", st.outer),
                index: 0,
                value: estimate,
            }));
        }
        Ok(Step::Continue {
            estimate: Some(estimate),
        })
    }

    /// Penalty with the tilt: z was solved only as accurately as the hypergradient needed;
    /// the z handed back (the lower solution at the final x) is polished to σ-scaled
    /// accuracy, as the untilted method solves it every step.
    fn finalize(&mut self, p: &P, st: &mut BilevelState) -> Result<()> {
        if self.method == Method::Penalty && self.tilt {
            let tol = self.inner_tol * st.sigma * st.pg_norm.clamp(1e-6, 1.0);
            let (r, _) = solve_inner(
                p,
                &st.x,
                &mut st.z,
                Inner::Lower,
                tol,
                self.inner_max_iters,
                &mut st.step_z,
                self.lbfgs.then_some(&mut st.mem_z),
                &mut st.calls,
            );
            st.lower_residual = r;
        }
        Ok(())
    }

    fn metrics(&self, p: &P, st: &BilevelState) -> Metrics {
        let mut m = Metrics::new(Criterion::ProjectedGradient, st.pg_norm)
            .with_objective(p.f(&st.x, &st.z))
            .with_extra("lower_gap", p.g(&st.x, &st.y) - p.g(&st.x, &st.z))
            .with_extra("lower_residual", st.lower_residual)
            .with_extra("sigma", st.sigma)
            .with_extra("grad_calls", st.calls.gradients())
            .with_extra("grad_f_calls", st.calls.grad_f)
            .with_extra("grad_g_calls", st.calls.grad_g);
        if st.calls.hvp > 0.0 {
            m = m.with_extra("hvp_calls", st.calls.hvp);
        }
        m
    }
}
