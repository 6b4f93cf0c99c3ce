//! Bilevel problems: minimise f(x, y*(x)) over x ∈ X where y*(x) minimises g(x, ·) over Y.
//!
//! [`Bilevel`] is what the first-order penalty methods need — values, the four partial
//! gradients (optionally over a minibatch of samples) and projections onto X and Y — plus,
//! optionally, the Hessian-vector products the implicit-differentiation baseline needs.
//! Built in: a quadratic generator with a closed form ([`quadratic`]), the nonconvex toy and a
//! small exact instance ([`toy`]), per-feature L2 hyperparameter selection and data
//! hyper-cleaning for logistic regression on svmlight data ([`logistic`]).

pub mod boxed;
pub mod logistic;
pub mod quadratic;
pub mod sets;
pub mod toy;

pub use boxed::Boxed;
pub use logistic::{HyperCleaning, HyperParam, LogisticData};
pub use quadratic::{QuadraticBilevel, QuadraticConfig};
pub use sets::Set;
pub use toy::{SimpleBilevel, ToyBilevel};

use crate::error::{ProblemError, Result};
use std::ops::Range;

/// Which samples a gradient averages over: `None` for all of them, or a range (a minibatch).
pub type Batch = Option<Range<usize>>;

/// A bilevel problem, seen through first-order oracles.
pub trait Bilevel: Sync {
    /// Dimension of the upper variable x.
    fn dim_x(&self) -> usize;
    /// Dimension of the lower variable y.
    fn dim_y(&self) -> usize;
    /// Upper objective f(x, y).
    fn f(&self, x: &[f64], y: &[f64]) -> f64;
    /// Lower objective g(x, y).
    fn g(&self, x: &[f64], y: &[f64]) -> f64;
    /// ∇ₓf(x, y), averaged over the upper samples in `batch`.
    fn grad_f_x(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]);
    /// ∇_y f(x, y), averaged over the upper samples in `batch`.
    fn grad_f_y(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]);
    /// ∇ₓg(x, y), averaged over the lower samples in `batch`.
    fn grad_g_x(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]);
    /// ∇_y g(x, y), averaged over the lower samples in `batch`.
    fn grad_g_y(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]);
    /// f(x, y) and ∇_y f(x, y) over all samples at once: the inner solvers need both at
    /// every point they visit, and a problem that computes them in one pass over its data
    /// (the logistic ones) overrides this. The default calls [`Self::f`] and
    /// [`Self::grad_f_y`].
    fn f_and_grad_y(&self, x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        self.grad_f_y(x, y, None, out);
        self.f(x, y)
    }
    /// g(x, y) and ∇_y g(x, y) over all samples at once (see [`Self::f_and_grad_y`]).
    fn g_and_grad_y(&self, x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        self.grad_g_y(x, y, None, out);
        self.g(x, y)
    }
    /// The feasible set X.
    fn x_set(&self) -> &Set;
    /// The feasible set Y.
    fn y_set(&self) -> &Set;
    /// Samples behind f (0: no minibatch oracle).
    fn upper_samples(&self) -> usize {
        0
    }
    /// Samples behind g (0: no minibatch oracle).
    fn lower_samples(&self) -> usize {
        0
    }
    /// ∇²_yy g(x, y) v (implicit differentiation only).
    fn hvp_yy(&self, _x: &[f64], _y: &[f64], _v: &[f64], _out: &mut [f64]) -> Result<()> {
        Err(ProblemError::Invalid(
            "this problem has no Hessian-vector products".into(),
        ))
    }
    /// ∇²_xy g(x, y) v ∈ R^{dim x}: the x-gradient of ⟨∇_y g(x, y), v⟩ (implicit
    /// differentiation only).
    fn hvp_xy(&self, _x: &[f64], _y: &[f64], _v: &[f64], _out: &mut [f64]) -> Result<()> {
        Err(ProblemError::Invalid(
            "this problem has no Hessian-vector products".into(),
        ))
    }
    /// A starting point (x₀, y₀), projected onto X × Y.
    fn start(&self) -> (Vec<f64>, Vec<f64>) {
        let mut x = vec![0.0; self.dim_x()];
        let mut y = vec![0.0; self.dim_y()];
        self.x_set().project(&mut x);
        self.y_set().project(&mut y);
        (x, y)
    }
}

/// Checks a problem's sets against its dimensions.
pub fn validate(p: &dyn Bilevel) -> Result<()> {
    if p.dim_x() == 0 || p.dim_y() == 0 {
        return Err(ProblemError::Invalid(format!(
            "bilevel dimensions must be positive (x: {}, y: {})",
            p.dim_x(),
            p.dim_y()
        )));
    }
    p.x_set().validate(p.dim_x(), "X")?;
    p.y_set().validate(p.dim_y(), "Y")
}

/// The samples in a batch (all of `n` when `None`), clipped to `n`.
pub fn batch_range(batch: &Batch, n: usize) -> Range<usize> {
    match batch {
        None => 0..n,
        Some(r) => r.start.min(n)..r.end.min(n),
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    /// Central finite differences against every oracle of a problem at a point.
    fn check(p: &dyn Bilevel, x: &[f64], y: &[f64], tol: f64) {
        let (nx, ny) = (p.dim_x(), p.dim_y());
        let h = 1e-6;
        let fd = |fun: &dyn Fn(&[f64], &[f64]) -> f64, wrt_x: bool, k: usize| {
            let (mut xa, mut xb, mut ya, mut yb) = (x.to_vec(), x.to_vec(), y.to_vec(), y.to_vec());
            if wrt_x {
                xa[k] += h;
                xb[k] -= h;
            } else {
                ya[k] += h;
                yb[k] -= h;
            }
            (fun(&xa, &ya) - fun(&xb, &yb)) / (2.0 * h)
        };
        let f = |a: &[f64], b: &[f64]| p.f(a, b);
        let g = |a: &[f64], b: &[f64]| p.g(a, b);
        let (mut fx, mut fy, mut gx, mut gy) = (vec![0.0; nx], vec![0.0; ny], vec![0.0; nx], vec![0.0; ny]);
        p.grad_f_x(x, y, None, &mut fx);
        p.grad_f_y(x, y, None, &mut fy);
        p.grad_g_x(x, y, None, &mut gx);
        p.grad_g_y(x, y, None, &mut gy);
        let close = |a: f64, b: f64, what: &str| {
            assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: {a} vs {b}")
        };
        for k in 0..nx {
            close(fx[k], fd(&f, true, k), "∇ₓf");
            close(gx[k], fd(&g, true, k), "∇ₓg");
        }
        for k in 0..ny {
            close(fy[k], fd(&f, false, k), "∇_y f");
            close(gy[k], fd(&g, false, k), "∇_y g");
        }
        // the one-pass value-and-gradient oracles agree with the separate ones
        let (mut fy1, mut gy1) = (vec![0.0; ny], vec![0.0; ny]);
        close(p.f_and_grad_y(x, y, &mut fy1), p.f(x, y), "f of f_and_grad_y");
        close(p.g_and_grad_y(x, y, &mut gy1), p.g(x, y), "g of g_and_grad_y");
        for k in 0..ny {
            close(fy1[k], fy[k], "∇_y f of f_and_grad_y");
            close(gy1[k], gy[k], "∇_y g of g_and_grad_y");
        }
        // HVPs against differences of ∇_y g.
        let v: Vec<f64> = (0..ny).map(|k| 0.3 + 0.1 * k as f64).collect();
        let (mut hyy, mut hxy) = (vec![0.0; ny], vec![0.0; nx]);
        if p.hvp_yy(x, y, &v, &mut hyy).is_ok() {
            let (mut ya, mut yb) = (y.to_vec(), y.to_vec());
            for k in 0..ny {
                ya[k] += h * v[k];
                yb[k] -= h * v[k];
            }
            let (mut ga, mut gb) = (vec![0.0; ny], vec![0.0; ny]);
            p.grad_g_y(x, &ya, None, &mut ga);
            p.grad_g_y(x, &yb, None, &mut gb);
            for k in 0..ny {
                close(hyy[k], (ga[k] - gb[k]) / (2.0 * h), "∇²_yy g v");
            }
            p.hvp_xy(x, y, &v, &mut hxy).unwrap();
            for j in 0..nx {
                let inner = |a: &[f64], b: &[f64]| {
                    let mut gg = vec![0.0; ny];
                    p.grad_g_y(a, b, None, &mut gg);
                    gg.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>()
                };
                close(hxy[j], fd(&inner, true, j), "∇²_xy g v");
            }
        }
        // A full-range batch equals the full gradient; minibatches average to it.
        let m = p.lower_samples();
        if m > 1 {
            let mut full = vec![0.0; ny];
            p.grad_g_y(x, y, Some(0..m), &mut full);
            for k in 0..ny {
                close(full[k], gy[k], "batch 0..m");
            }
        }
    }

    #[test]
    fn oracles_match_finite_differences() {
        let q = QuadraticBilevel::generate(&QuadraticConfig::default()).unwrap();
        let (x, y): (Vec<f64>, Vec<f64>) = (
            (0..10).map(|i| 0.1 * i as f64).collect(),
            (0..10).map(|i| 0.2 - 0.05 * i as f64).collect(),
        );
        check(&q, &x, &y, 1e-6);
        check(&ToyBilevel::default(), &[0.7], &[-0.4], 1e-6);
        check(
            &SimpleBilevel {
                x_set: Set::Free,
                y_set: Set::Free,
            },
            &[0.3],
            &[2.0],
            1e-6,
        );
        let data = LogisticData::synthetic(60, 5, 1).unwrap();
        let (train, val) = data.split(0.3, 2).unwrap();
        let hp = HyperParam::new(train.clone(), val.clone()).unwrap();
        check(
            &hp,
            &[0.1, -0.5, 0.3, 1.0, -1.0],
            &[0.5, -0.2, 0.1, 0.7, -0.3],
            1e-5,
        );
        let hc = HyperCleaning::new(train, val, 0.1).unwrap();
        let x: Vec<f64> = (0..hc.dim_x()).map(|i| (i as f64 * 0.37).sin()).collect();
        check(&hc, &x, &[0.5, -0.2, 0.1, 0.7, -0.3], 1e-5);
    }

    #[test]
    fn quadratic_closed_form_is_stationary() {
        let q = QuadraticBilevel::generate(&QuadraticConfig::default()).unwrap();
        let (xs, ys) = q.closed_form();
        // ∇_y g(x*, y*) = 0 and ψ is minimal at x* (finite differences of ψ vanish).
        let mut gy = vec![0.0; 10];
        q.grad_g_y(&xs, &ys, None, &mut gy);
        assert!(gy.iter().all(|v| v.abs() < 1e-10));
        for j in 0..10 {
            let (mut a, mut b) = (xs.clone(), xs.clone());
            a[j] += 1e-5;
            b[j] -= 1e-5;
            assert!(((q.hyper_objective(&a) - q.hyper_objective(&b)) / 2e-5).abs() < 1e-6);
        }
    }
}
