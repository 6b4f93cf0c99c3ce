//! Small problems with known answers.
//!
//! - [`ToyBilevel`] (V-PBGD paper): g = (x+y)² + x·sin²(x+y), f = cos(4y+2)/(1+e^{2−4x}) +
//!   ½ log((4x−2)² + 1), x ∈ [0, 3]; S(x) = {−x}, so ψ(x) = f(x, −x), with local minima near
//!   x ≈ 0.3824, 1.2151 (global) and 2.8296. The lower level is nonconvex in y for x > 0.
//! - [`SimpleBilevel`]: f = (x−1)² + (y−1)², g = (y−x)²: y*(x) = x, ψ = 2(x−1)², optimum
//!   x = y = 1; with boxes on X and Y the projected answers are known in closed form.

use super::sets::Set;
use super::{Batch, Bilevel};
use crate::error::Result;

/// The nonconvex toy (one-dimensional x and y).
#[derive(Clone, Debug)]
pub struct ToyBilevel {
    x_set: Set,
    y_set: Set,
}

impl Default for ToyBilevel {
    fn default() -> Self {
        Self {
            x_set: Set::uniform_box(1, 0.0, 3.0),
            y_set: Set::Free,
        }
    }
}

impl ToyBilevel {
    /// ψ(x) = f(x, −x).
    pub fn psi(x: f64) -> f64 {
        Self::upper(x, -x)
    }
    fn upper(x: f64, y: f64) -> f64 {
        (4.0 * y + 2.0).cos() / (1.0 + (2.0 - 4.0 * x).exp()) + 0.5 * ((4.0 * x - 2.0).powi(2) + 1.0).ln()
    }
    /// The local minima of ψ on [0, 3], computed by golden-section search in brackets around
    /// the published values.
    pub fn local_minima() -> [f64; 3] {
        let golden = |mut a: f64, mut b: f64| {
            let r = (5f64.sqrt() - 1.0) / 2.0;
            for _ in 0..200 {
                let (c, d) = (b - r * (b - a), a + r * (b - a));
                if Self::psi(c) < Self::psi(d) {
                    b = d;
                } else {
                    a = c;
                }
            }
            0.5 * (a + b)
        };
        [golden(0.2, 0.6), golden(1.0, 1.4), golden(2.6, 3.0)]
    }
}

impl Bilevel for ToyBilevel {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        1
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        Self::upper(x[0], y[0])
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        let s = x[0] + y[0];
        s * s + x[0] * s.sin().powi(2)
    }
    fn grad_f_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        let (x, y) = (x[0], y[0]);
        let e = (2.0 - 4.0 * x).exp();
        let q = 4.0 * x - 2.0;
        out[0] = (4.0 * y + 2.0).cos() * 4.0 * e / (1.0 + e).powi(2) + 4.0 * q / (q * q + 1.0);
    }
    fn grad_f_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = -4.0 * (4.0 * y[0] + 2.0).sin() / (1.0 + (2.0 - 4.0 * x[0]).exp());
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        let s = x[0] + y[0];
        out[0] = 2.0 * s + s.sin().powi(2) + x[0] * (2.0 * s).sin();
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        let s = x[0] + y[0];
        out[0] = 2.0 * s + x[0] * (2.0 * s).sin();
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
    fn hvp_yy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = (2.0 + 2.0 * x[0] * (2.0 * (x[0] + y[0])).cos()) * v[0];
        Ok(())
    }
    fn hvp_xy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        let s = x[0] + y[0];
        out[0] = (2.0 + (2.0 * s).sin() + 2.0 * x[0] * (2.0 * s).cos()) * v[0];
        Ok(())
    }
    fn start(&self) -> (Vec<f64>, Vec<f64>) {
        (vec![1.5], vec![-1.5])
    }
}

/// f = (x−1)² + (y−1)², g = (y−x)², in one dimension each, with optional boxes.
#[derive(Clone, Debug)]
pub struct SimpleBilevel {
    /// X.
    pub x_set: Set,
    /// Y.
    pub y_set: Set,
}

impl Bilevel for SimpleBilevel {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        1
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        (x[0] - 1.0).powi(2) + (y[0] - 1.0).powi(2)
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        (y[0] - x[0]).powi(2)
    }
    fn grad_f_x(&self, x: &[f64], _y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = 2.0 * (x[0] - 1.0);
    }
    fn grad_f_y(&self, _x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = 2.0 * (y[0] - 1.0);
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = -2.0 * (y[0] - x[0]);
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out[0] = 2.0 * (y[0] - x[0]);
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
    fn hvp_yy(&self, _x: &[f64], _y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = 2.0 * v[0];
        Ok(())
    }
    fn hvp_xy(&self, _x: &[f64], _y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = -2.0 * v[0];
        Ok(())
    }
}
