//! Block coordinate descent with greedy block rules, message passing for exact updates on
//! huge tree-structured blocks, and active-set acceleration (Nutini, Laradji & Schmidt,
//! JMLR 2022).
//!
//! Three choices make a method ([`Bcd`]): the [`Partition`] (fixed blocks, graph blocks, or
//! variable blocks picked afresh each iteration), the selection [`Rule`] (cyclic, random,
//! Lipschitz sampling, and the greedy Gauss–Southwell family GS, GSL, GSD, GSQ with the
//! proximal GS-s, GS-r, GS-q), and the [`Update`] (gradient, matrix, Newton with a line search,
//! exact; each in proximal form when the penalty is non-smooth).
//!
//! Greedy rules need the full gradient; it is maintained incrementally (the problem's
//! [`solvent_problems::bcd::Cache`] follows only the samples and features an update reaches),
//! so an iteration costs what its block touches plus the scan of the scores. Exact updates of
//! quadratics use message passing ([`message_passing::Forest`]) when the block's graph is a
//! forest. With an L1 or bound penalty the active set is tracked and, once it is stable, the
//! solver switches to Newton steps on the free coordinates (superlinear; finite on
//! quadratics).
//!
//! ```
//! use solvent_problems::bcd::{Glm, Loss, Penalty};
//! use solvent_linalg::CsrMatrix;
//! use solvent_solvers::bcd::{Bcd, Rule, Update};
//! use solvent_solvers::{run, Options};
//!
//! let x = CsrMatrix::from_triplets(3, 2, &[(0, 0, 1.0), (1, 1, 2.0), (2, 0, 1.0), (2, 1, 1.0)]).unwrap();
//! let lasso = Glm::new(x, vec![1.0, 2.0, 3.0], Loss::Squared, 0.0, Penalty::L1(0.01)).unwrap();
//! let mut bcd = Bcd::new(Rule::GsR, Update::Matrix).block_size(1);
//! let out = run(&lasso, &mut bcd, &Options::default().tol(1e-10)).unwrap();
//! assert!(out.report.status.is_converged());
//! ```
// `!(v > 0.0)` is deliberate throughout: it rejects NaN along with non-positive values.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod message_passing;
pub mod partition;
mod pipeline;
mod rules;
mod solver;
mod strategy;
mod update;
mod working_set;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod working_set_tests;

pub use pipeline::{
    build_glm, build_weighted_glm, BcdChoices, BuiltGlm, GlmSpec, ProblemKind, DEFAULT_BLOCK_SIZE,
};
pub use solver::{path, BcdState, Phase};
pub use strategy::{glm_path, lambda_grid, solve, Method, PathPoint, Solved, Strategy};
pub use working_set::{Inner, Ranking, WorkingSet, WorkingSetState};

use serde::Serialize;

/// How coordinates are grouped into blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// Fixed contiguous blocks.
    Order,
    /// Fixed blocks of coordinates sorted by Lipschitz constant.
    Sort,
    /// Fixed blocks mixing small and large Lipschitz constants.
    Avg,
    /// Variable blocks: the rule picks any `block_size` coordinates each iteration.
    Variable,
    /// Fixed colour classes of the quadratic's graph (independent sets: diagonal blocks).
    RedBlack,
    /// Fixed forests of the quadratic's graph (tree partition).
    Tree,
    /// Variable forests grown greedily from the best-scoring coordinates.
    GreedyTree,
}

/// Which block to update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Blocks in turn.
    Cyclic,
    /// Uniformly random blocks.
    Random,
    /// Random with probability proportional to the block's Lipschitz constant.
    Lipschitz,
    /// Gauss–Southwell: the largest `‖∇_b f‖`.
    Gs,
    /// The largest `‖∇_b f‖² / L_b`.
    Gsl,
    /// The largest `Σ_i (∇_i f)² / d_i` with `d_i = |b| L_i`.
    Gsd,
    /// The largest `∇_b fᵀ H_b⁻¹ ∇_b f` (variable blocks: hard-thresholding pursuit).
    Gsq,
    /// Proximal: the largest minimum-norm subgradient.
    GsS,
    /// Proximal: the largest proximal-gradient step.
    GsR,
    /// Proximal: the largest decrease of the separable quadratic model plus the penalty.
    GsQ,
}

solvent_linalg::named_enum!(Partition, "partition" {
    Order => "order",
    Sort => "sort",
    Avg => "avg",
    Variable => "variable",
    RedBlack => "red-black",
    Tree => "tree",
    GreedyTree => "greedy-tree",
});

solvent_linalg::named_enum!(Rule, "rule" {
    Cyclic => "cyclic",
    Random => "random",
    Lipschitz => "lipschitz",
    Gs => "gs",
    Gsl => "gsl",
    Gsd => "gsd",
    Gsq => "gsq",
    GsS => "gs-s",
    GsR => "gs-r",
    GsQ => "gs-q",
});

solvent_linalg::named_enum!(Update, "update" {
    Gradient => "gradient",
    Matrix => "matrix",
    Newton => "newton",
    Exact => "exact",
});

impl Rule {
    /// Whether the rule reads the full gradient (which is then maintained).
    pub fn is_greedy(self) -> bool {
        !matches!(self, Self::Cyclic | Self::Random | Self::Lipschitz)
    }
}

/// How the chosen block moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// `x_b ← prox(x_b − ∇_b f / L_b)`.
    Gradient,
    /// `x_b ← argmin ∇_b fᵀd + ½dᵀH_b d + g(x_b + d)` with the constant bound `H_b`.
    Matrix,
    /// The same model with the block Hessian at the iterate, and a backtracking line search.
    Newton,
    /// Exact minimisation over the block (quadratics; message passing on forest blocks).
    Exact,
}

/// Block coordinate descent: settings of one method.
#[derive(Clone, Debug, Serialize)]
pub struct Bcd {
    /// Block structure.
    pub partition: Partition,
    /// Selection rule.
    pub rule: Rule,
    /// Update.
    pub update: Update,
    /// Coordinates per block (fixed and variable partitions; the cap of greedy trees, where it
    /// may exceed the problem; unused by red–black and tree partitions).
    pub block_size: usize,
    /// Track the active set of L1/bound problems and switch to Newton on the free coordinates.
    pub active_set: bool,
    /// Iterations between convergence checks (the duality gap or KKT residual, computed inside
    /// the timed step; default: one pass over the blocks, or `rescan` for lazy working sets).
    pub check_every: Option<usize>,
    /// Variable blocks: iterations between full scans of the greedy scores. In between, the
    /// rule picks among the working set of the last scan (the `10·block_size` best), whose
    /// scores are exact (the gradient is maintained); a scan costs O(dim), an iteration on the
    /// working set what its block touches. 1 = the textbook rule, a full scan every iteration.
    pub rescan: usize,
    /// Seed of the random rules.
    pub seed: u64,
    /// Starting point (warm start); zero when absent.
    #[serde(skip)]
    pub start: Option<Vec<f64>>,
}

impl Bcd {
    /// A method with the given rule and update, contiguous blocks of 50 (variable blocks for
    /// the greedy rules), active sets on.
    pub fn new(rule: Rule, update: Update) -> Self {
        Self {
            partition: if rule.is_greedy() {
                Partition::Variable
            } else {
                Partition::Order
            },
            rule,
            update,
            block_size: 50,
            active_set: true,
            check_every: None,
            rescan: 1,
            seed: 0,
            start: None,
        }
    }
    /// Sets the partition.
    pub fn partition(mut self, p: Partition) -> Self {
        self.partition = p;
        self
    }
    /// Sets the block size.
    pub fn block_size(mut self, n: usize) -> Self {
        self.block_size = n;
        self
    }
    /// Turns the active-set phase on or off.
    pub fn active_set(mut self, on: bool) -> Self {
        self.active_set = on;
        self
    }
    /// Sets the iterations between full scans of the greedy scores (variable blocks).
    pub fn rescan(mut self, k: usize) -> Self {
        self.rescan = k;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets a warm start.
    pub fn warm_start(mut self, x: Vec<f64>) -> Self {
        self.start = Some(x);
        self
    }
}
