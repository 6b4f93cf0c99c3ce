//! Counted oracle calls and the inner projected-gradient loops every bilevel method shares.

// Index loops over several arrays at once read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use solvent_problems::bilevel::{Batch, Bilevel};

/// Oracle calls, in full-gradient equivalents (a minibatch of B of N samples counts B/N).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Calls {
    /// Gradient calls on f (either partial).
    pub grad_f: f64,
    /// Gradient calls on g (either partial).
    pub grad_g: f64,
    /// Value calls (line searches).
    pub values: f64,
    /// Hessian-vector products (implicit differentiation only).
    pub hvp: f64,
}

impl Calls {
    /// Gradient calls in total (HVPs counted as one gradient each).
    pub fn gradients(&self) -> f64 {
        self.grad_f + self.grad_g + self.hvp
    }
    /// Adds the calls counted elsewhere (a concurrent inner solve).
    pub fn add(&mut self, other: &Calls) {
        self.grad_f += other.grad_f;
        self.grad_g += other.grad_g;
        self.values += other.values;
        self.hvp += other.hvp;
    }
}

/// The fraction of `n` samples a batch covers (1 for a full batch or no samples).
pub fn weight(batch: &Batch, n: usize) -> f64 {
    match batch {
        Some(r) if n > 0 => r.len() as f64 / n as f64,
        _ => 1.0,
    }
}

/// Which inner problem: min_y σf + g (the penalised one) or min_z g.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inner<'a> {
    /// σ·f + g with this σ.
    Penalised(f64),
    /// σ·f + g − ⟨t, y⟩ with t the gradient mapping of g at the computed z: its solution
    /// satisfies σ∇_y f(y) + ∇_y g(y) = ∇_y g(z) (unconstrained), so y − z is O(σ) and,
    /// for a quadratic g, the penalty hypergradient C(y − z)/σ no longer depends on the
    /// error of z. At an exact z the tilt vanishes and this is [`Inner::Penalised`].
    Tilted(f64, &'a [f64]),
    /// g alone.
    Lower,
}

/// ∇_y of the inner objective at (x, y); `scratch` (length dim y) holds ∇_y f for the penalised
/// problem, so the inner loops allocate nothing per step.
#[allow(clippy::too_many_arguments)]
pub fn inner_grad(
    p: &dyn Bilevel,
    x: &[f64],
    y: &[f64],
    which: Inner,
    batch: (Batch, Batch),
    calls: &mut Calls,
    out: &mut [f64],
    scratch: &mut [f64],
) {
    p.grad_g_y(x, y, batch.1.clone(), out);
    calls.grad_g += weight(&batch.1, p.lower_samples());
    if let Inner::Penalised(sigma) | Inner::Tilted(sigma, _) = which {
        p.grad_f_y(x, y, batch.0.clone(), scratch);
        calls.grad_f += weight(&batch.0, p.upper_samples());
        out.iter_mut()
            .zip(scratch.iter())
            .for_each(|(o, g)| *o += sigma * g);
    }
    if let Inner::Tilted(_, t) = which {
        out.iter_mut().zip(t).for_each(|(o, t)| *o -= t);
    }
}

fn inner_value(p: &dyn Bilevel, x: &[f64], y: &[f64], which: Inner, calls: &mut Calls) -> f64 {
    calls.values += 1.0;
    match which {
        Inner::Penalised(s) => s * p.f(x, y) + p.g(x, y),
        Inner::Tilted(s, t) => s * p.f(x, y) + p.g(x, y) - t.iter().zip(y).map(|(a, b)| a * b).sum::<f64>(),
        Inner::Lower => p.g(x, y),
    }
}

/// The gradient mapping (z − P_Y(z − γ∇_y g(x, z)))/γ of the lower problem at `z`: ∇_y g
/// where no bound is active, zero at an exact solution.
pub fn lower_gradient_mapping(
    p: &dyn Bilevel,
    x: &[f64],
    z: &[f64],
    step: f64,
    calls: &mut Calls,
) -> Vec<f64> {
    let mut g = vec![0.0; z.len()];
    p.grad_g_y(x, z, None, &mut g);
    calls.grad_g += 1.0;
    let mut t: Vec<f64> = z.iter().zip(&g).map(|(z, g)| z - step * g).collect();
    p.y_set().project(&mut t);
    z.iter().zip(&t).map(|(z, t)| (z - t) / step).collect()
}

/// Relative rounding of an objective value: a sufficient-decrease test asking for less than
/// this fraction of the value cannot be decided from values.
const VALUE_ROUNDING: f64 = 1e-12;

/// Accelerated projected gradient (FISTA with backtracking and function-value restarts) on the
/// inner objective (full batch), warm started at `y`, until the gradient-mapping norm
/// ‖w − P(w − γ∇)‖/γ at the extrapolated point is ≤ `tol`, or `max_iters` steps. `step`
/// carries the step size between calls. Returns the last gradient-mapping norm and the steps
/// taken.
#[allow(clippy::too_many_arguments)]
pub fn inner_solve(
    p: &dyn Bilevel,
    x: &[f64],
    y: &mut [f64],
    which: Inner,
    tol: f64,
    max_iters: usize,
    step: &mut f64,
    calls: &mut Calls,
) -> (f64, usize) {
    let n = y.len();
    let (mut grad, mut trial, mut scratch) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut w = y.to_vec(); // extrapolated point
    let mut prev = y.to_vec();
    let mut t = 1.0f64;
    let mut residual = f64::INFINITY;
    for it in 0..max_iters {
        let vw = inner_value_grad(p, x, &w, which, calls, &mut grad, &mut scratch);
        loop {
            for i in 0..n {
                trial[i] = w[i] - *step * grad[i];
            }
            p.y_set().project(&mut trial);
            let (mut lin, mut sq) = (0.0, 0.0);
            for i in 0..n {
                let d = trial[i] - w[i];
                lin += grad[i] * d;
                sq += d * d;
            }
            residual = sq.sqrt() / *step;
            if residual <= tol {
                y.copy_from_slice(&trial);
                return (residual, it);
            }
            // When the decrease the test has to see is below the rounding of the values
            // (sums of many samples, ~1e-12 relative), the test is noise: take the step
            // with the step size validated earlier, neither shrinking nor growing it.
            let quad = sq / (2.0 * *step);
            let tv = inner_value(p, x, &trial, which, calls);
            let blind = quad <= VALUE_ROUNDING * vw.abs().max(tv.abs());
            if blind || tv <= vw + lin + quad + 1e-15 * vw.abs() || *step < 1e-300 {
                let grow = if blind { 1.0 } else { 1.1 };
                // Gradient restart (O'Donoghue & Candès): drop the momentum when the step
                // (w → trial) points against the momentum (y_prev → trial). Unlike the
                // function-value test it stays reliable when values differ by rounding only.
                let mut against = 0.0;
                for i in 0..n {
                    against += (w[i] - trial[i]) * (trial[i] - y[i]);
                }
                prev.copy_from_slice(y);
                y.copy_from_slice(&trial);
                if against > 0.0 {
                    t = 1.0;
                    w.copy_from_slice(y);
                    *step *= grow;
                    break;
                }
                let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
                let beta = (t - 1.0) / t_next;
                for i in 0..n {
                    w[i] = y[i] + beta * (y[i] - prev[i]);
                }
                p.y_set().project(&mut w);
                t = t_next;
                *step *= grow;
                break;
            }
            *step *= 0.5;
        }
    }
    (residual, max_iters)
}

/// The inner objective's value and full gradient at `y` in one call per level
/// ([`Bilevel::g_and_grad_y`], [`Bilevel::f_and_grad_y`]), counted as one gradient and one
/// value call per level.
fn inner_value_grad(
    p: &dyn Bilevel,
    x: &[f64],
    y: &[f64],
    which: Inner,
    calls: &mut Calls,
    out: &mut [f64],
    scratch: &mut [f64],
) -> f64 {
    let mut v = p.g_and_grad_y(x, y, out);
    calls.grad_g += 1.0;
    calls.values += 1.0;
    if let Inner::Penalised(sigma) | Inner::Tilted(sigma, _) = which {
        v += sigma * p.f_and_grad_y(x, y, scratch);
        calls.grad_f += 1.0;
        out.iter_mut()
            .zip(scratch.iter())
            .for_each(|(o, g)| *o += sigma * g);
    }
    if let Inner::Tilted(_, t) = which {
        v -= dot(t, y);
        out.iter_mut().zip(t).for_each(|(o, t)| *o -= t);
    }
    v
}

/// Curvature pairs (s, Δ∇) of one inner problem, carried from one inner solve to the next:
/// between outer steps the inner problem moves little, so its quasi-Newton model stays good
/// and a warm-started solve needs only a few steps.
#[derive(Clone, Debug, Default)]
pub struct CurvatureMemory {
    pairs: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)>,
}

/// Curvature pairs kept (L-BFGS memory).
const MEMORY: usize = 10;

impl CurvatureMemory {
    /// `-H g` by the two-loop recursion, H₀ = (sᵀΔ∇/Δ∇ᵀΔ∇)·I from the newest pair, or
    /// `step`·I without pairs.
    fn direction(&self, g: &[f64], step: f64) -> Vec<f64> {
        let mut q = g.to_vec();
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
            alphas.push(a);
        }
        let gamma = match self.pairs.back() {
            Some((_, y, rho)) => 1.0 / (rho * dot(y, y)),
            None => step,
        };
        q.iter_mut().for_each(|q| *q *= gamma);
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
        }
        q.iter_mut().for_each(|q| *q = -*q);
        q
    }
    /// Keeps the pair when it has positive curvature (always, for a convex inner problem).
    fn push(&mut self, s: Vec<f64>, y: Vec<f64>) {
        let sy = dot(&s, &y);
        if sy > 1e-12 * norm(&s) * norm(&y) && sy.is_finite() {
            if self.pairs.len() == MEMORY {
                self.pairs.pop_front();
            }
            self.pairs.push_back((s, y, 1.0 / sy));
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// L-BFGS with Armijo backtracking on an inner problem over a free Y, warm started at `y`
/// with the curvature pairs in `memory`, until ‖∇‖ ≤ `tol` at the iterate itself or
/// `max_iters` steps. `step` scales the first direction when the memory is empty. Returns
/// the last gradient norm and the steps taken.
#[allow(clippy::too_many_arguments)]
pub fn lbfgs_solve(
    p: &dyn Bilevel,
    x: &[f64],
    y: &mut [f64],
    which: Inner,
    tol: f64,
    max_iters: usize,
    memory: &mut CurvatureMemory,
    step: f64,
    calls: &mut Calls,
) -> (f64, usize) {
    let n = y.len();
    let (mut grad, mut next, mut scratch) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut value = inner_value_grad(p, x, y, which, calls, &mut grad, &mut scratch);
    let mut trial = vec![0.0; n];
    for it in 0..max_iters {
        let r = norm(&grad);
        if r <= tol || !r.is_finite() {
            return (r, it);
        }
        let mut d = memory.direction(&grad, step);
        let mut slope = dot(&grad, &d);
        if slope >= 0.0 || !slope.is_finite() {
            // the model is stale (a nonconvex region, a changed problem): steepest descent
            memory.pairs.clear();
            d = grad.iter().map(|g| -step * g).collect();
            slope = dot(&grad, &d);
        }
        let mut t = 1.0;
        let tv = loop {
            for i in 0..n {
                trial[i] = y[i] + t * d[i];
            }
            // value and gradient together: the first trial is nearly always accepted
            let tv = inner_value_grad(p, x, &trial, which, calls, &mut next, &mut scratch);
            // a decrease below the values' rounding cannot be tested: take the step
            let blind = (t * slope).abs() <= VALUE_ROUNDING * value.abs().max(tv.abs());
            if blind || tv <= value + 1e-4 * t * slope || t < 1e-12 {
                break tv;
            }
            t *= 0.5;
        };
        let s: Vec<f64> = (0..n).map(|i| trial[i] - y[i]).collect();
        let dg: Vec<f64> = (0..n).map(|i| next[i] - grad[i]).collect();
        memory.push(s, dg);
        y.copy_from_slice(&trial);
        std::mem::swap(&mut grad, &mut next);
        value = tv;
    }
    (norm(&grad), max_iters)
}

/// Solves an inner problem: L-BFGS carrying `memory` when Y is free and a memory is given,
/// the accelerated projected gradient [`inner_solve`] otherwise.
#[allow(clippy::too_many_arguments)]
pub fn solve_inner(
    p: &dyn Bilevel,
    x: &[f64],
    y: &mut [f64],
    which: Inner,
    tol: f64,
    max_iters: usize,
    step: &mut f64,
    memory: Option<&mut CurvatureMemory>,
    calls: &mut Calls,
) -> (f64, usize) {
    match memory {
        Some(m) if p.y_set().is_free() => lbfgs_solve(p, x, y, which, tol, max_iters, m, *step, calls),
        _ => inner_solve(p, x, y, which, tol, max_iters, step, calls),
    }
}

/// One stochastic projected-gradient step on the inner objective with a fixed step.
pub fn inner_sgd_step(
    p: &dyn Bilevel,
    x: &[f64],
    y: &mut [f64],
    which: Inner,
    batch: (Batch, Batch),
    step: f64,
    calls: &mut Calls,
) {
    let mut grad = vec![0.0; y.len()];
    let mut scratch = vec![0.0; y.len()];
    inner_grad(p, x, y, which, batch, calls, &mut grad, &mut scratch);
    y.iter_mut().zip(&grad).for_each(|(v, g)| *v -= step * g);
    p.y_set().project(y);
}

/// The penalty hypergradient ∇ψ_σ = ∇ₓf(x, y) + (∇ₓg(x, y) − ∇ₓg(x, z))/σ.
pub fn penalty_hypergradient(
    p: &dyn Bilevel,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    sigma: f64,
    batch: (Batch, Batch),
    calls: &mut Calls,
) -> Vec<f64> {
    let nx = x.len();
    let (mut gf, mut gy, mut gz) = (vec![0.0; nx], vec![0.0; nx], vec![0.0; nx]);
    p.grad_f_x(x, y, batch.0.clone(), &mut gf);
    p.grad_g_x(x, y, batch.1.clone(), &mut gy);
    p.grad_g_x(x, z, batch.1.clone(), &mut gz);
    calls.grad_f += weight(&batch.0, p.upper_samples());
    calls.grad_g += 2.0 * weight(&batch.1, p.lower_samples());
    (0..nx).map(|j| gf[j] + (gy[j] - gz[j]) / sigma).collect()
}

/// The projected-gradient mapping (x − P_X(x − α d))/α (the convergence measure uses α = 1:
/// ‖x − P_X(x − d)‖, equal to ‖d‖ without constraints).
pub fn projected(p: &dyn Bilevel, x: &[f64], d: &[f64], alpha: f64) -> Vec<f64> {
    let mut t: Vec<f64> = x.iter().zip(d).map(|(x, d)| x - alpha * d).collect();
    p.x_set().project(&mut t);
    x.iter().zip(&t).map(|(x, t)| (x - t) / alpha).collect()
}

/// Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}
