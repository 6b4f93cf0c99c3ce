//! Problems for block coordinate descent: `F(x) = f(x) + Σ_i g_i(x_i)` with `f` smooth and
//! exposing what BCD needs — coordinate gradients, coordinate Lipschitz constants, block
//! Hessians and their bounds, and (for quadratics) which coordinates interact — and `g`
//! separable and simple ([`Penalty`]).
//!
//! Two concrete families implement [`CoordinateProblem`]:
//! - [`Glm`]: `f(w) = (1/n) Σ_i ℓ(y_i, x_iᵀw) + (λ₂/2)‖w‖²` for least squares, logistic and
//!   multinomial (softmax) losses, with L1 or non-negativity as `g` (Lasso, L1-logistic,
//!   NNLS). scikit-learn's scaling, no intercept.
//! - [`QuadraticProblem`]: `f(x) = ½xᵀQx − cᵀx + const` with sparse symmetric `Q`, built for
//!   graph label propagation by [`LabelPropagation`]; its sparsity graph is what message
//!   passing and the tree block builders use.
//!
//! The solver keeps a [`Cache`] beside the iterate (margins and loss derivatives for a GLM,
//! the gradient itself for a quadratic), so a block update costs what the block touches.
// `!(v > 0.0)` is deliberate throughout: it rejects NaN along with non-positive values.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod design;
pub mod glm;
pub mod graph;
pub mod labelprop;
pub mod quadratic;
pub mod synthetic;

pub use design::Design;
pub use glm::{DualPoint, Glm, Loss};
pub use graph::Graph;
pub use labelprop::LabelPropagation;
pub use quadratic::QuadraticProblem;
pub use synthetic::{SyntheticConfig, SyntheticKind};

use faer::Mat;
use solvent_linalg::CsrMatrix;

/// The separable non-smooth part `g(x) = Σ_i g_i(x_i)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    /// `g = 0`.
    None,
    /// `g = λ‖x‖₁`.
    L1(f64),
    /// `g` = indicator of `x ≥ 0`.
    NonNegative,
    /// `g = λ‖x‖₁` on `x ≥ 0` (that is `λ Σ x_i` plus the indicator): non-negative
    /// least squares with an L1 penalty, as in the BCD paper's experiments.
    NonNegativeL1(f64),
}

impl Penalty {
    /// `g_i(v)`.
    pub fn value(self, v: f64) -> f64 {
        match self {
            Self::None => 0.0,
            Self::L1(l) => l * v.abs(),
            Self::NonNegative => {
                if v >= 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            }
            Self::NonNegativeL1(l) => {
                if v >= 0.0 {
                    l * v
                } else {
                    f64::INFINITY
                }
            }
        }
    }
    /// `Σ_i g_i(x_i)`.
    pub fn total(self, x: &[f64]) -> f64 {
        match self {
            Self::None => 0.0,
            Self::L1(l) => l * x.iter().map(|v| v.abs()).sum::<f64>(),
            Self::NonNegative => {
                if x.iter().all(|&v| v >= 0.0) {
                    0.0
                } else {
                    f64::INFINITY
                }
            }
            Self::NonNegativeL1(l) => {
                if x.iter().all(|&v| v >= 0.0) {
                    l * x.iter().sum::<f64>()
                } else {
                    f64::INFINITY
                }
            }
        }
    }
    /// `g_i(x + d) − g_i(x)`, without the cancellation of subtracting two values: for a step
    /// that keeps the sign of `x`, `λ·sign(x)·d` exactly (steps near the optimum are far
    /// smaller than `|x|`, and the difference of the two norms would lose them).
    pub fn delta(self, x: f64, d: f64) -> f64 {
        match self {
            Self::None => 0.0,
            Self::L1(l) => {
                let y = x + d;
                if (x > 0.0 && y >= 0.0) || (x < 0.0 && y <= 0.0) {
                    l * x.signum() * d
                } else {
                    l * (y.abs() - x.abs())
                }
            }
            Self::NonNegative => {
                if x + d >= 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            }
            Self::NonNegativeL1(l) => {
                if x + d >= 0.0 {
                    l * d
                } else {
                    f64::INFINITY
                }
            }
        }
    }
    /// `prox_{t g_i}(v) = argmin_u g_i(u) + (u − v)²/(2t)`.
    pub fn prox(self, v: f64, t: f64) -> f64 {
        match self {
            Self::None => v,
            Self::L1(l) => {
                let s = l * t;
                if v > s {
                    v - s
                } else if v < -s {
                    v + s
                } else {
                    0.0
                }
            }
            Self::NonNegative => v.max(0.0),
            Self::NonNegativeL1(l) => (v - l * t).max(0.0),
        }
    }
    /// The minimum-norm element of `∇_i f + ∂g_i(x_i)` — zero exactly at a stationary
    /// coordinate; its largest magnitude is the KKT residual.
    pub fn min_norm_subgradient(self, x: f64, g: f64) -> f64 {
        match self {
            Self::None => g,
            Self::L1(l) => {
                if x > 0.0 {
                    g + l
                } else if x < 0.0 {
                    g - l
                } else {
                    (g.abs() - l).max(0.0) * g.signum()
                }
            }
            Self::NonNegative => {
                if x > 0.0 {
                    g
                } else {
                    g.min(0.0)
                }
            }
            Self::NonNegativeL1(l) => {
                if x > 0.0 {
                    g + l
                } else {
                    (g + l).min(0.0)
                }
            }
        }
    }
    /// Whether the coordinate sits at the penalty's kink or bound (the "active" set of L1
    /// and bound constraints).
    pub fn at_kink(self, x: f64) -> bool {
        match self {
            Self::None => false,
            Self::L1(_) | Self::NonNegative | Self::NonNegativeL1(_) => x == 0.0,
        }
    }
    /// Whether the penalty is non-smooth (proximal updates needed).
    pub fn is_nonsmooth(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// What a solver keeps beside the iterate so that block updates cost what they touch.
///
/// For a [`Glm`]: `z` the margins `Xw` (n × classes, row-major) and `r` the loss derivatives
/// `∂ℓ/∂z`. For a [`QuadraticProblem`]: `z` the gradient `Qx − c`, `r` unused. `touched` and
/// `mark` are scratch space for the rows an update reaches.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    /// Margins (GLM) or gradient (quadratic).
    pub z: Vec<f64>,
    /// Loss derivatives (GLM).
    pub r: Vec<f64>,
    /// Scratch: rows reached by the last update.
    pub touched: Vec<u32>,
    /// Scratch: per-row flag, cleared after each update.
    pub mark: Vec<bool>,
    /// Scratch: old derivatives of the touched rows.
    pub old: Vec<f64>,
}

/// What block coordinate descent asks of a problem.
///
/// Coordinates are `0..dim()`; for a multinomial problem coordinate `j·C + c` is the weight of
/// feature `j` in class `c`, so a feature's classes are adjacent.
pub trait CoordinateProblem: Sync {
    /// Number of coordinates.
    fn dim(&self) -> usize;
    /// The separable non-smooth part.
    fn penalty(&self) -> Penalty;
    /// Coordinate Lipschitz constants `L_i` of `∇_i f` (upper bounds of `∂²f/∂x_i²`).
    fn lipschitz(&self) -> &[f64];
    /// The cache for iterate `x`.
    fn new_cache(&self, x: &[f64]) -> Cache;
    /// `f(x)` (smooth part only) from the cache.
    fn smooth_value(&self, x: &[f64], cache: &Cache) -> f64;
    /// `∇_j f(x)`, costing the entries of column `j`.
    fn coord_gradient(&self, x: &[f64], cache: &Cache, j: usize) -> f64;
    /// The full gradient `∇f(x)`.
    fn full_gradient(&self, x: &[f64], cache: &Cache, g: &mut [f64]);
    /// Applies `x_j += δ` for each `(j, δ)` (distinct `j`), updating the cache and, when given,
    /// a maintained full gradient — at the cost of the rows and columns the change reaches.
    fn apply(&self, x: &mut [f64], cache: &mut Cache, changes: &[(usize, f64)], grad: Option<&mut [f64]>);
    /// `f(x + Σ_b d) − f(x)` for a change `d` on `block`, without changing any state (line
    /// searches).
    fn block_delta(&self, x: &[f64], cache: &Cache, block: &[usize], d: &[f64]) -> f64;
    /// A constant upper bound `H_b ⪰ ∇²_bb f(x)` for every `x` (matrix updates, GSQ).
    fn block_hessian_bound(&self, block: &[usize]) -> Mat<f64>;
    /// The block Hessian `∇²_bb f(x)` at the current iterate (Newton updates).
    fn block_hessian(&self, x: &[f64], cache: &Cache, block: &[usize]) -> Mat<f64>;
    /// `out = ∇²_bb f(x) v` without forming the block Hessian (Newton-CG on large blocks).
    fn block_hessian_vec(&self, x: &[f64], cache: &Cache, block: &[usize], v: &[f64], out: &mut [f64]);
    /// `Q` when `f` is the quadratic `½xᵀQx − cᵀx`: its sparsity says which coordinates
    /// interact (message passing, red–black and tree blocks).
    fn quadratic_matrix(&self) -> Option<&CsrMatrix> {
        None
    }
    /// Whether `f` is quadratic (exact block minimisation is one linear solve).
    fn is_quadratic(&self) -> bool;
    /// A duality gap `F(x) − D(θ(x))` with a dual point built from `x`, when the problem has
    /// one (Lasso, L1-logistic, ridge, L2-logistic). `grad` is `∇f(x)`, which carries `Xᵀθ`
    /// (so the gap costs no further pass over the data).
    fn duality_gap(&self, _x: &[f64], _cache: &Cache, _grad: &[f64]) -> Option<f64> {
        None
    }
    /// Gap-safe screening (Ndiaye, Fercoq, Gramfort & Salmon, JMLR 2017): the duality gap, and
    /// `zero[k] = true` for each coordinate the dual point proves zero at every optimum.
    /// Coordinates already marked on entry were screened before: they stay marked, their
    /// `grad` entries are not read, and the gap is that of the problem without them (the same
    /// optimal value, so it still bounds the suboptimality). `None` when the problem has no gap.
    fn gap_safe_screen(&self, _x: &[f64], _cache: &Cache, _grad: &[f64], _zero: &mut [bool]) -> Option<f64> {
        None
    }
    /// One proximal coordinate step `x_j ← prox(x_j − ∇_j f / L_j)` with the coordinate's
    /// Lipschitz constant, updating the cache (no maintained gradient); returns the change.
    /// Working-set solvers call it in their inner epochs; problems override it with a tighter
    /// loop than [`CoordinateProblem::apply`].
    fn coordinate_step(&self, x: &mut [f64], cache: &mut Cache, j: usize) -> f64 {
        generic_coordinate_step(self, x, cache, j)
    }
    /// One proximal Newton step on the coordinates of `set` (skglm's inner solver for
    /// non-quadratic losses): coordinate descent on the penalised quadratic model with the
    /// Hessian at `x` (until its largest KKT violation is below `0.3·target`, at most 20
    /// passes), then a backtracking line search on `F`. `Some(true)` when it moved,
    /// `Some(false)` when it found no decrease, `None` when the problem has no such step
    /// (quadratics, where coordinate descent is already exact per coordinate).
    fn prox_newton_step(
        &self,
        _x: &mut [f64],
        _cache: &mut Cache,
        _set: &[usize],
        _target: f64,
    ) -> Option<bool> {
        None
    }
    /// Coordinates from this index on carry no penalty (intercepts); `dim()` when all do.
    fn unpenalized_from(&self) -> usize {
        self.dim()
    }
    /// The penalty of coordinate `i`.
    #[inline]
    fn penalty_at(&self, i: usize) -> Penalty {
        if i < self.unpenalized_from() {
            self.penalty()
        } else {
            Penalty::None
        }
    }
    /// `F(x) = f(x) + g(x)`.
    fn objective(&self, x: &[f64], cache: &Cache) -> f64 {
        self.smooth_value(x, cache) + self.penalty().total(&x[..self.unpenalized_from()])
    }
    /// `‖min-norm subgradient of F‖∞` from a full gradient.
    fn kkt_residual(&self, x: &[f64], grad: &[f64]) -> f64 {
        x.iter()
            .zip(grad)
            .enumerate()
            .map(|(i, (&xi, &gi))| self.penalty_at(i).min_norm_subgradient(xi, gi).abs())
            .fold(0.0, f64::max)
    }
}

/// [`CoordinateProblem::coordinate_step`] through the trait's gradient and update.
pub fn generic_coordinate_step<P: CoordinateProblem + ?Sized>(
    p: &P,
    x: &mut [f64],
    cache: &mut Cache,
    j: usize,
) -> f64 {
    let l = p.lipschitz()[j];
    let g = p.coord_gradient(x, cache, j);
    let d = p.penalty_at(j).prox(x[j] - g / l, 1.0 / l) - x[j];
    if d != 0.0 {
        p.apply(x, cache, &[(j, d)], None);
    }
    d
}

#[cfg(test)]
mod tests;
