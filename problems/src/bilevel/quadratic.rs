//! A quadratic bilevel problem with a closed-form solution, built from samples so minibatch
//! oracles are meaningful:
//!
//!   g(x, y) = (1/2m) Σᵢ (uᵢᵀy)² + (μ/2)‖y‖² + xᵀCy + bᵀy        (m lower samples uᵢ)
//!   f(x, y) = (1/2n) Σⱼ (vⱼᵀy − tⱼ)² + (ρ/2)‖x‖² + dᵀx           (n upper samples vⱼ, tⱼ)
//!
//! The lower Hessian H = UᵀU/m + μI is SPD (its condition number is set by scaling the columns
//! of U), so y*(x) = −H⁻¹(Cᵀx + b) = Jx + y₀ and ψ(x) = f(x, Jx + y₀) is a strongly convex
//! quadratic: x* solves (JᵀVᵀVJ/n + ρI) x = −JᵀVᵀ(Vy₀ − t)/n − d (one dense solve).

// Index loops over several arrays at once read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use super::sets::Set;
use super::{batch_range, Batch, Bilevel};
use crate::error::{ProblemError, Result};
use faer::linalg::solvers::Solve;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct QuadraticConfig {
    /// dim x.
    pub dim_x: usize,
    /// dim y.
    pub dim_y: usize,
    /// Upper samples n.
    pub upper_samples: usize,
    /// Lower samples m.
    pub lower_samples: usize,
    /// Approximate condition number of the lower Hessian (≥ 1).
    pub condition: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for QuadraticConfig {
    fn default() -> Self {
        Self {
            dim_x: 10,
            dim_y: 10,
            upper_samples: 64,
            lower_samples: 64,
            condition: 10.0,
            seed: 0,
        }
    }
}

/// The problem (dense, row-major matrices).
#[derive(Clone, Debug)]
pub struct QuadraticBilevel {
    nx: usize,
    ny: usize,
    u: Vec<f64>,
    v: Vec<f64>,
    t: Vec<f64>,
    c: Vec<f64>,
    b: Vec<f64>,
    d: Vec<f64>,
    mu: f64,
    rho: f64,
    x_set: Set,
    y_set: Set,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl QuadraticBilevel {
    /// Generates an instance (μ = 0.1, ρ = 0.1; unconstrained).
    pub fn generate(c: &QuadraticConfig) -> Result<Self> {
        if c.dim_x == 0
            || c.dim_y == 0
            || c.upper_samples == 0
            || c.lower_samples == 0
            || c.condition.is_nan()
            || c.condition < 1.0
        {
            return Err(ProblemError::Invalid(format!(
                "quadratic bilevel needs dim_x, dim_y, upper and lower samples ≥ 1 and a condition number ≥ 1 (got dim_x {}, dim_y {}, samples {} and {}, condition {})",
                c.dim_x, c.dim_y, c.upper_samples, c.lower_samples, c.condition
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let mut normal = |n: usize, scale: f64| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    scale * z
                })
                .collect::<Vec<f64>>()
        };
        let (nx, ny, m, n) = (c.dim_x, c.dim_y, c.lower_samples, c.upper_samples);
        // Column scales s_k with s_k² from 1 to `condition`: UᵀU/m ≈ diag(s²).
        let scales: Vec<f64> = (0..ny)
            .map(|k| {
                c.condition
                    .powf(if ny > 1 { k as f64 / (ny - 1) as f64 } else { 0.0 })
                    .sqrt()
            })
            .collect();
        let mut u = normal(m * ny, 1.0);
        for i in 0..m {
            for k in 0..ny {
                u[i * ny + k] *= scales[k];
            }
        }
        let v = normal(n * ny, 1.0);
        let t = normal(n, 1.0);
        let cm = normal(nx * ny, 1.0 / (ny as f64).sqrt());
        let b = normal(ny, 1.0);
        let d = normal(nx, 1.0);
        Ok(Self {
            nx,
            ny,
            u,
            v,
            t,
            c: cm,
            b,
            d,
            mu: 0.1,
            rho: 0.1,
            x_set: Set::Free,
            y_set: Set::Free,
        })
    }

    /// The same problem with constraint sets (validated against the dimensions).
    pub fn with_sets(mut self, x_set: Set, y_set: Set) -> Result<Self> {
        x_set.validate(self.nx, "X")?;
        y_set.validate(self.ny, "Y")?;
        self.x_set = x_set;
        self.y_set = y_set;
        Ok(self)
    }

    /// The lower Hessian H = UᵀU/m + μI.
    fn hessian(&self) -> faer::Mat<f64> {
        let m = self.u.len() / self.ny;
        faer::Mat::from_fn(self.ny, self.ny, |a, b| {
            let s: f64 = (0..m)
                .map(|i| self.u[i * self.ny + a] * self.u[i * self.ny + b])
                .sum();
            s / m as f64 + if a == b { self.mu } else { 0.0 }
        })
    }

    /// y*(x) for the unconstrained lower level.
    pub fn lower_solution(&self, x: &[f64]) -> Vec<f64> {
        let h = self.hessian();
        let rhs = faer::Mat::from_fn(self.ny, 1, |k, _| {
            -((0..self.nx).map(|j| x[j] * self.c[j * self.ny + k]).sum::<f64>() + self.b[k])
        });
        let sol = h.llt(faer::Side::Lower).expect("H is SPD").solve(&rhs);
        (0..self.ny).map(|k| sol[(k, 0)]).collect()
    }

    /// The unconstrained solution (x*, y*(x*)) from the closed form.
    pub fn closed_form(&self) -> (Vec<f64>, Vec<f64>) {
        let (nx, ny) = (self.nx, self.ny);
        let n = self.t.len();
        let h = self.hessian();
        let llt = h.llt(faer::Side::Lower).expect("H is SPD");
        // J = −H⁻¹Cᵀ (ny×nx), y₀ = −H⁻¹b.
        let ct = faer::Mat::from_fn(ny, nx, |k, j| self.c[j * ny + k]);
        let j = -llt.solve(&ct);
        let bm = faer::Mat::from_fn(ny, 1, |k, _| self.b[k]);
        let y0 = -llt.solve(&bm);
        let vm = faer::Mat::from_fn(n, ny, |i, k| self.v[i * ny + k]);
        let vj = &vm * &j; // n×nx
        let r0 = &vm * &y0 - faer::Mat::from_fn(n, 1, |i, _| self.t[i]); // n×1
        let mut a = vj.transpose() * &vj * (1.0 / n as f64);
        for i in 0..nx {
            a[(i, i)] += self.rho;
        }
        let rhs = -(vj.transpose() * &r0) * (1.0 / n as f64) - faer::Mat::from_fn(nx, 1, |i, _| self.d[i]);
        let x = a
            .llt(faer::Side::Lower)
            .expect("ψ is strongly convex")
            .solve(&rhs);
        let x: Vec<f64> = (0..nx).map(|i| x[(i, 0)]).collect();
        let y = self.lower_solution(&x);
        (x, y)
    }

    /// ψ(x) = f(x, y*(x)) for the unconstrained lower level.
    pub fn hyper_objective(&self, x: &[f64]) -> f64 {
        let y = self.lower_solution(x);
        self.f(x, &y)
    }
}

impl Bilevel for QuadraticBilevel {
    fn dim_x(&self) -> usize {
        self.nx
    }
    fn dim_y(&self) -> usize {
        self.ny
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        let n = self.t.len();
        let s: f64 = (0..n)
            .map(|i| (dot(&self.v[i * self.ny..(i + 1) * self.ny], y) - self.t[i]).powi(2))
            .sum();
        0.5 * s / n as f64 + 0.5 * self.rho * dot(x, x) + dot(&self.d, x)
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        let m = self.u.len() / self.ny;
        let s: f64 = (0..m)
            .map(|i| dot(&self.u[i * self.ny..(i + 1) * self.ny], y).powi(2))
            .sum();
        let xcy: f64 = (0..self.nx)
            .map(|j| x[j] * dot(&self.c[j * self.ny..(j + 1) * self.ny], y))
            .sum();
        0.5 * s / m as f64 + 0.5 * self.mu * dot(y, y) + xcy + dot(&self.b, y)
    }
    fn grad_f_x(&self, x: &[f64], _y: &[f64], _batch: Batch, out: &mut [f64]) {
        for j in 0..self.nx {
            out[j] = self.rho * x[j] + self.d[j];
        }
    }
    fn grad_f_y(&self, _x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        let r = batch_range(&batch, self.t.len());
        out.iter_mut().for_each(|o| *o = 0.0);
        let len = r.len().max(1) as f64;
        for i in r {
            let row = &self.v[i * self.ny..(i + 1) * self.ny];
            let e = (dot(row, y) - self.t[i]) / len;
            out.iter_mut().zip(row).for_each(|(o, a)| *o += e * a);
        }
    }
    fn grad_g_x(&self, _x: &[f64], y: &[f64], _batch: Batch, out: &mut [f64]) {
        for j in 0..self.nx {
            out[j] = dot(&self.c[j * self.ny..(j + 1) * self.ny], y);
        }
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        let m = self.u.len() / self.ny;
        let r = batch_range(&batch, m);
        let len = r.len().max(1) as f64;
        for k in 0..self.ny {
            out[k] = self.mu * y[k]
                + self.b[k]
                + (0..self.nx).map(|j| x[j] * self.c[j * self.ny + k]).sum::<f64>();
        }
        for i in r {
            let row = &self.u[i * self.ny..(i + 1) * self.ny];
            let e = dot(row, y) / len;
            out.iter_mut().zip(row).for_each(|(o, a)| *o += e * a);
        }
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
    fn upper_samples(&self) -> usize {
        self.t.len()
    }
    fn lower_samples(&self) -> usize {
        self.u.len() / self.ny
    }
    fn hvp_yy(&self, _x: &[f64], _y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        let m = self.u.len() / self.ny;
        for k in 0..self.ny {
            out[k] = self.mu * v[k];
        }
        for i in 0..m {
            let row = &self.u[i * self.ny..(i + 1) * self.ny];
            let e = dot(row, v) / m as f64;
            out.iter_mut().zip(row).for_each(|(o, a)| *o += e * a);
        }
        Ok(())
    }
    fn hvp_xy(&self, _x: &[f64], _y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        for j in 0..self.nx {
            out[j] = dot(&self.c[j * self.ny..(j + 1) * self.ny], v);
        }
        Ok(())
    }
}
