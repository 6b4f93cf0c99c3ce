//! Bilevel problems: minimise f(x, y*(x)) over x ∈ X where y*(x) minimises g(x, ·) over Y.
//!
//! [`Bilevel`] is what the first-order penalty methods need — values, the four partial
//! gradients (optionally over a minibatch of samples) and projections onto X and Y — plus,
//! optionally, the Hessian-vector products the implicit-differentiation baseline needs.
//! Built in: a quadratic generator with a closed form ([`quadratic`]), the nonconvex toy and a
//! small exact instance ([`toy`]), per-feature L2 hyperparameter selection and data
//! hyper-cleaning for logistic regression on svmlight data ([`logistic`]).

pub mod logistic;
pub mod quadratic;
pub mod sets;
pub mod toy;

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
