//! From a problem kind and data to a configured BCD run: the default rule, update,
//! partition and block size for each kind, and the regression problems built from a
//! design with scikit-learn's scaling and the λ defaults — what `solvent bcd` runs,
//! callable from Rust.
//!
//! ```
//! use solvent_linalg::CsrMatrix;
//! use solvent_problems::bcd::CoordinateProblem;
//! use solvent_solvers::bcd::{build_glm, Bcd, BcdChoices, GlmSpec, ProblemKind};
//! use solvent_solvers::{run, Options};
//!
//! let x = CsrMatrix::from_triplets(3, 2, &[(0, 0, 1.0), (1, 1, 2.0), (2, 0, 1.0), (2, 1, 1.0)]).unwrap();
//! let built = build_glm(x, vec![1.0, 2.0, 3.0], &GlmSpec::new(ProblemKind::Lasso)).unwrap();
//! let mut bcd = Bcd::default_for(ProblemKind::Lasso, built.glm.dim(), &BcdChoices::default());
//! let out = run(&built.glm, &mut bcd, &Options::default().tol(1e-10)).unwrap();
//! assert!(out.report.status.is_converged());
//! ```

use super::{Bcd, Partition, Rule, Update};
use crate::{Result, SolverError};
use solvent_linalg::CsrMatrix;
use solvent_problems::bcd::{Glm, Loss, Penalty};

/// The problems `solvent bcd` solves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Least squares (1/2n)‖y − Xw‖² (+ (λ/2)‖w‖²).
    Ls,
    /// L2-regularised logistic regression (λ default 1/n).
    Logistic,
    /// Multinomial logistic regression, L2-regularised (λ default 1/n).
    Softmax,
    /// Lasso (1/2n)‖y − Xw‖² + λ‖w‖₁.
    Lasso,
    /// L1-regularised logistic regression.
    L1Logistic,
    /// Non-negative least squares.
    Nnls,
    /// Graph label propagation.
    Labelprop,
}

solvent_linalg::named_enum!(ProblemKind, "problem" {
    Ls => "ls",
    Logistic => "logistic",
    Softmax => "softmax",
    Lasso => "lasso",
    L1Logistic => "l1-logistic",
    Nnls => "nnls",
    Labelprop => "labelprop",
});

impl ProblemKind {
    /// Whether the penalty is an L1 norm (λ from `lambda_ratio · λ_max` by default).
    pub fn is_l1(self) -> bool {
        matches!(self, Self::Lasso | Self::L1Logistic)
    }
    /// Whether the objective is smooth and unconstrained (no L1, no bounds).
    pub fn is_smooth(self) -> bool {
        !self.is_l1() && self != Self::Nnls
    }
    /// The loss of the regression problems (`None` for label propagation).
    pub fn loss(self) -> Option<Loss> {
        match self {
            Self::Ls | Self::Lasso | Self::Nnls => Some(Loss::Squared),
            Self::Logistic | Self::L1Logistic => Some(Loss::Logistic),
            Self::Softmax => Some(Loss::Softmax),
            Self::Labelprop => None,
        }
    }
}

/// The method choices a caller makes; what is left `None` gets the default for the
/// problem ([`Bcd::default_for`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct BcdChoices {
    /// Selection rule.
    pub rule: Option<Rule>,
    /// Update.
    pub update: Option<Update>,
    /// Block partition.
    pub partition: Option<Partition>,
    /// Coordinates per block.
    pub block_size: Option<usize>,
}

/// Default coordinates per block of the regression problems.
pub const DEFAULT_BLOCK_SIZE: usize = 50;

impl Bcd {
    /// The method for a problem of `kind` with `dim` coordinates: the choices given,
    /// and for the others the defaults — rule GS for label propagation, GSQ for smooth
    /// problems, the proximal GS-q for L1 and bounds; update exact for label
    /// propagation, matrix for least squares, Newton otherwise; greedy-tree blocks for
    /// label propagation under a greedy rule, variable blocks otherwise; blocks of
    /// [`DEFAULT_BLOCK_SIZE`] coordinates (no cap for label propagation's trees),
    /// never more than the problem has.
    pub fn default_for(kind: ProblemKind, dim: usize, choices: &BcdChoices) -> Bcd {
        let labelprop = kind == ProblemKind::Labelprop;
        let rule = choices.rule.unwrap_or(if labelprop {
            Rule::Gs
        } else if kind.is_smooth() {
            Rule::Gsq
        } else {
            Rule::GsQ
        });
        let update = choices.update.unwrap_or(if labelprop {
            Update::Exact
        } else if kind.loss() == Some(Loss::Squared) {
            Update::Matrix
        } else {
            Update::Newton
        });
        let block = choices.block_size.unwrap_or(if labelprop {
            usize::MAX
        } else {
            DEFAULT_BLOCK_SIZE.min(dim.max(1))
        });
        let mut bcd = Bcd::new(rule, update).block_size(block);
        bcd.partition = match choices.partition {
            Some(p) => p,
            None if labelprop && rule.is_greedy() => Partition::GreedyTree,
            None => bcd.partition,
        };
        bcd
    }
}

/// A regression problem to build from a design: the kind, λ (or, for the L1 kinds, a
/// fraction of λ_max) and an intercept.
#[derive(Clone, Copy, Debug)]
pub struct GlmSpec {
    /// The problem (not label propagation).
    pub kind: ProblemKind,
    /// Regularisation weight: L1 weight for lasso, l1-logistic and nnls (which is then
    /// non-negative least squares with an L1 penalty, as in the BCD paper; none by
    /// default), L2 weight for ls/logistic/softmax (default 0 for ls, 1/n for logistic
    /// and softmax).
    pub lambda: Option<f64>,
    /// L1 weight as a fraction of λ_max = ‖∇f(0)‖∞ (the L1 kinds, default 0.1; nnls).
    pub lambda_ratio: Option<f64>,
    /// Fit an unpenalised intercept (one per class for softmax).
    pub intercept: bool,
    /// A ridge weight added to the L1 problems and nnls (the elastic net
    /// `(λ₂/2)‖w‖² + λ‖w‖₁`); the others take their L2 weight as `lambda`.
    pub l2: Option<f64>,
}

impl GlmSpec {
    /// `kind` with its default λ and no intercept.
    pub fn new(kind: ProblemKind) -> Self {
        Self {
            kind,
            lambda: None,
            lambda_ratio: None,
            intercept: false,
            l2: None,
        }
    }
}

/// A built regression problem and the λ it got.
#[derive(Clone, Debug)]
pub struct BuiltGlm {
    /// The problem.
    pub glm: Glm,
    /// The regularisation weight used.
    pub lambda: f64,
    /// λ_max of the L1 kinds.
    pub lambda_max: Option<f64>,
}

/// Builds the regression problem `spec` describes on design `x` and labels `y`.
pub fn build_glm(x: CsrMatrix, y: Vec<f64>, spec: &GlmSpec) -> Result<BuiltGlm> {
    build_weighted_glm(x, y, spec, None)
}

/// [`build_glm`] with sample weights (see [`Glm::with_sample_weights`]), applied before
/// λ_max is computed so that `lambda_ratio` is a fraction of the weighted model's λ_max.
pub fn build_weighted_glm(
    x: CsrMatrix,
    y: Vec<f64>,
    spec: &GlmSpec,
    sample_weights: Option<Vec<f64>>,
) -> Result<BuiltGlm> {
    let Some(loss) = spec.kind.loss() else {
        return Err(SolverError::NotApplicable(
            "label propagation is built from a graph, not a design".into(),
        ));
    };
    for (name, v) in [("lambda", spec.lambda), ("lambda_ratio", spec.lambda_ratio)] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(SolverError::setting(name, v, "must be a finite number ≥ 0"));
            }
        }
    }
    if spec.lambda_ratio.is_some() && !spec.kind.is_l1() && spec.kind != ProblemKind::Nnls {
        return Err(SolverError::setting(
            "lambda_ratio",
            spec.lambda_ratio.unwrap_or_default(),
            "applies to the L1 problems (lasso, l1-logistic) and nnls",
        ));
    }
    if let Some(v) = spec.l2 {
        if !(v.is_finite() && v >= 0.0) {
            return Err(SolverError::setting("l2", v, "must be a finite number ≥ 0"));
        }
    }
    let n = x.nrows() as f64;
    let nnls = spec.kind == ProblemKind::Nnls;
    // the L1 weight of the L1 kinds and of nnls (0: none); the smooth ridge of the others
    let smooth_l2 = match spec.kind {
        _ if spec.kind.is_l1() || nnls => spec.l2.unwrap_or(0.0),
        ProblemKind::Logistic | ProblemKind::Softmax => spec.lambda.unwrap_or(1.0 / n),
        _ => spec.lambda.unwrap_or(0.0),
    };
    let pen0 = if nnls { Penalty::NonNegative } else { Penalty::None };
    let mut glm = if spec.intercept {
        Glm::with_intercept(x, y, loss, smooth_l2, pen0)?
    } else {
        Glm::new(x, y, loss, smooth_l2, pen0)?
    };
    if let Some(w) = sample_weights {
        glm = glm.with_sample_weights(w)?;
    }
    let l1_given = spec.lambda.is_some() || spec.lambda_ratio.is_some();
    if spec.kind.is_l1() || (nnls && l1_given) {
        let lmax = glm.lambda_max();
        let lam = spec.lambda.unwrap_or(spec.lambda_ratio.unwrap_or(0.1) * lmax);
        let penalty = if nnls {
            Penalty::NonNegativeL1(lam)
        } else {
            Penalty::L1(lam)
        };
        Ok(BuiltGlm {
            glm: glm.with_penalty(penalty)?,
            lambda: lam,
            lambda_max: Some(lmax),
        })
    } else {
        Ok(BuiltGlm {
            glm,
            lambda: smooth_l2,
            lambda_max: None,
        })
    }
}
