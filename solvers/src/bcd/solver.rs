//! The BCD state and the [`Solver`] implementation: init (blocks, constants, caches), one block
//! update per step, convergence checks on the duality gap or KKT residual, and the switch to
//! Newton steps on the free coordinates once the active set is stable.

use super::message_passing::{Forest, ForestScratch};
use super::partition::{self, GreedyScratch};
use super::{rules, update, Bcd, Partition, Rule, Update};
use crate::{run, Criterion, Metrics, Options, Result, RunOutput, Solver, SolverError, Step};
use faer::linalg::solvers::Llt;
use faer::{Mat, Side};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use solvent_problems::bcd::{Cache, CoordinateProblem, Glm, Penalty};

/// Which phase the solver is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Block updates chosen by the rule.
    Blocks,
    /// Newton steps on the free coordinates (active set identified).
    Newton,
}

/// The iterate and the solver's internals.
pub struct BcdState {
    /// The iterate.
    pub x: Vec<f64>,
    /// The problem's cache for `x`.
    pub cache: Cache,
    /// The maintained full gradient (greedy rules and active sets).
    pub grad: Option<Vec<f64>>,
    /// Current phase.
    pub phase: Phase,
    /// The block updated last.
    pub block: Vec<usize>,
    /// Coordinate updates so far (block sizes summed).
    pub coordinate_updates: u64,
    /// Newton steps on the free set so far.
    pub newton_steps: usize,
    /// Iteration at which the active-set phase began, if it did.
    pub newton_since: Option<usize>,
    pub(crate) blocks: Vec<Vec<usize>>,
    pub(crate) block_lip: Vec<f64>,
    pub(crate) block_factor: Vec<Option<Llt<f64>>>,
    pub(crate) lip_cum: Vec<f64>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) cursor: usize,
    pub(crate) iter: usize,
    pub(crate) check_every: usize,
    stable: usize,
    last_free: Vec<usize>,
    pub(crate) forest: ForestScratch,
    pub(crate) greedy: Option<GreedyScratch>,
    pub(crate) scores: Vec<f64>,
    /// Message-passing structure of each fixed block, built on first use (`Some(None)`: the
    /// block is not a forest).
    pub(crate) block_forest: Vec<Option<Option<Forest>>>,
    /// Working set of the greedy rules between full scans.
    pub(crate) candidates: Vec<usize>,
    /// The gradient of the last full scan (lazy mode).
    pub(crate) scan_grad: Vec<f64>,
    /// Whether `scan_grad` is the gradient at the current iterate.
    pub(crate) scan_fresh: bool,
    /// Selections since the last full scan.
    pub(crate) since_scan: usize,
    /// Index of the fixed block chosen last (None for variable blocks).
    pub(crate) current: Option<usize>,
}

/// `λ_max` of a block's Hessian bound: exact (dense eigenvalues) for blocks up to 400, a
/// Gershgorin/trace bound above.
pub(crate) fn block_lipschitz<P: CoordinateProblem + ?Sized>(p: &P, block: &[usize]) -> f64 {
    if block.len() == 1 {
        return p.lipschitz()[block[0]];
    }
    if block.len() <= 400 {
        let h = p.block_hessian_bound(block);
        if let Ok(e) = h.self_adjoint_eigen(Side::Lower) {
            let m = (0..block.len()).map(|i| e.S()[i]).fold(0.0, f64::max);
            if m > 0.0 {
                return m * (1.0 + 1e-12);
            }
        }
    }
    match p.quadratic_matrix() {
        Some(q) => block
            .iter()
            .map(|&k| q.row(k).1.iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max),
        None => block.iter().map(|&k| p.lipschitz()[k]).sum(),
    }
}

/// Cholesky factor of a block's Hessian bound (a tiny ridge when it is only semidefinite).
pub(crate) fn factor(h: &Mat<f64>) -> Option<Llt<f64>> {
    if let Ok(f) = h.llt(Side::Lower) {
        return Some(f);
    }
    let m = h.nrows();
    let tr = (0..m).map(|i| h[(i, i)]).sum::<f64>().max(1e-300);
    let r = Mat::from_fn(m, m, |i, j| {
        h[(i, j)] + if i == j { 1e-10 * tr / m as f64 } else { 0.0 }
    });
    r.llt(Side::Lower).ok()
}

/// A warm start has the problem's `n` coordinates, all finite.
pub(crate) fn validate_start(start: Option<&[f64]>, n: usize) -> Result<()> {
    let Some(s) = start else { return Ok(()) };
    if s.len() != n {
        return Err(SolverError::setting(
            "start",
            format!("{} entries", s.len()),
            format!("must have the problem's {n} coordinates"),
        ));
    }
    if let Some(i) = s.iter().position(|v| !v.is_finite()) {
        return Err(SolverError::setting(
            "start",
            s[i],
            format!("entry {i} is not finite"),
        ));
    }
    Ok(())
}

/// The metrics of an iterate, recomputed from scratch (the run loop's verification): the
/// measure, objective, KKT residual, non-zeros and the coordinate updates so far.
pub(crate) fn iterate_metrics<P: CoordinateProblem + ?Sized>(p: &P, x: &[f64], updates: u64) -> Metrics {
    let cache = p.new_cache(x);
    let mut g = vec![0.0; p.dim()];
    p.full_gradient(x, &cache, &mut g);
    let (criterion, value) = measure(p, x, &cache, &g);
    let nnz = x.iter().filter(|v| **v != 0.0).count();
    Metrics::new(criterion, value)
        .with_objective(p.objective(x, &cache))
        .with_extra("kkt_residual", p.kkt_residual(x, &g))
        .with_extra("nonzeros", nnz as f64)
        .with_extra("coordinate_updates", updates as f64)
}

/// The convergence measure: the duality gap when the problem has one, else the KKT residual.
fn measure<P: CoordinateProblem + ?Sized>(p: &P, x: &[f64], cache: &Cache, grad: &[f64]) -> (Criterion, f64) {
    match p.duality_gap(x, cache, grad) {
        Some(g) => (Criterion::DualityGap, g),
        None => (Criterion::KktResidual, p.kkt_residual(x, grad)),
    }
}

impl Bcd {
    fn validate<P: CoordinateProblem + ?Sized>(&self, p: &P) -> Result<()> {
        let n = p.dim();
        // graph partitions size their own blocks; a greedy tree's cap may exceed the problem
        let sized = matches!(
            self.partition,
            Partition::Order | Partition::Sort | Partition::Avg | Partition::Variable
        );
        if self.block_size == 0 || (sized && self.block_size > n) {
            return Err(SolverError::setting(
                "block_size",
                self.block_size,
                format!("must be between 1 and the problem's {n} coordinates"),
            ));
        }
        let graph = matches!(
            self.partition,
            Partition::RedBlack | Partition::Tree | Partition::GreedyTree
        );
        if graph && p.quadratic_matrix().is_none() {
            return Err(SolverError::NotApplicable(format!(
                "{:?} blocks need a sparse quadratic's graph (label propagation)",
                self.partition
            )));
        }
        if self.update == Update::Exact && !p.is_quadratic() {
            return Err(SolverError::NotApplicable(
                "exact block updates need a quadratic objective (least squares, Lasso, NNLS, label \
                 propagation); use the newton update"
                    .into(),
            ));
        }
        if self.partition == Partition::GreedyTree && !self.rule.is_greedy() {
            return Err(SolverError::NotApplicable(
                "greedy-tree blocks grow from gradient scores: use a greedy rule (gs, gsl, gsd, gs-s, gs-r, gs-q)"
                    .into(),
            ));
        }
        if self.rescan == 0 {
            return Err(SolverError::setting("rescan", 0, "must be at least 1"));
        }
        if self.check_every == Some(0) {
            return Err(SolverError::setting("check_every", 0, "must be at least 1"));
        }
        validate_start(self.start.as_deref(), n)?;
        Ok(())
    }

    /// Refreshes the maintained gradient from scratch (bounding drift), measures, and runs the
    /// active-set bookkeeping. Returns the measure.
    fn check<P: CoordinateProblem + ?Sized>(&self, p: &P, s: &mut BcdState) -> f64 {
        let lazy = self.lazy_gradient();
        let mut g = if lazy {
            std::mem::take(&mut s.scan_grad)
        } else {
            s.grad.take().unwrap_or_default()
        };
        g.resize(p.dim(), 0.0);
        p.full_gradient(&s.x, &s.cache, &mut g);
        let (_, value) = measure(p, &s.x, &s.cache, &g);
        let pen = p.penalty();
        if self.active_set && pen.is_nonsmooth() {
            let free: Vec<usize> = (0..s.x.len())
                .filter(|&i| !p.penalty_at(i).at_kink(s.x[i]))
                .collect();
            let violated = (0..s.x.len()).any(|i| {
                let pi = p.penalty_at(i);
                pi.at_kink(s.x[i]) && pi.min_norm_subgradient(s.x[i], g[i]) != 0.0
            });
            match s.phase {
                Phase::Blocks => {
                    if !violated && free == s.last_free && !free.is_empty() {
                        s.stable += 1;
                    } else {
                        s.stable = 0;
                    }
                    if s.stable >= 1 && free.len() <= NEWTON_MAX_FREE {
                        s.phase = Phase::Newton;
                        s.newton_since.get_or_insert(s.iter);
                    }
                }
                Phase::Newton => {
                    if violated || free.is_empty() {
                        s.phase = Phase::Blocks;
                        s.stable = 0;
                    }
                }
            }
            s.last_free = free;
        }
        if lazy {
            // the next full scan (aligned with the checks) reads this gradient: x has not moved
            s.scan_grad = g;
            s.scan_fresh = true;
        } else if self.needs_gradient() {
            s.grad = Some(g);
        }
        value
    }

    /// Whether the full gradient is maintained through every update (fixed-block greedy rules,
    /// greedy trees, and variable blocks scanned every iteration). With `rescan > 1` on variable
    /// blocks it is not: a full scan recomputes it by streaming the columns, and the working set
    /// in between reads its few coordinates from the columns — cheaper than scattering every
    /// update into all features of the rows it reaches.
    fn needs_gradient(&self) -> bool {
        self.rule.is_greedy() && !self.lazy_gradient()
    }

    /// Greedy selection on variable blocks with periodic full scans and no maintained gradient.
    pub(crate) fn lazy_gradient(&self) -> bool {
        self.rescan > 1 && self.partition == Partition::Variable && self.rule.is_greedy()
    }
}

/// The most free coordinates the Newton phase takes on (its CG runs on them matrix-free).
const NEWTON_MAX_FREE: usize = 20_000;

impl<P: CoordinateProblem + ?Sized> Solver<P> for Bcd {
    type State = BcdState;

    fn name(&self) -> String {
        format!(
            "bcd({}, {}, {}, τ={})",
            self.partition.as_str(),
            self.rule.as_str(),
            self.update.as_str(),
            self.block_size
        )
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn init(&mut self, p: &P) -> Result<BcdState> {
        self.validate(p)?;
        let n = p.dim();
        let mut x = self.start.clone().unwrap_or_else(|| vec![0.0; n]);
        if matches!(p.penalty(), Penalty::NonNegative | Penalty::NonNegativeL1(_)) {
            x[..p.unpenalized_from()].iter_mut().for_each(|v| *v = v.max(0.0));
        }
        let cache = p.new_cache(&x);
        let grad = self.needs_gradient().then(|| {
            let mut g = vec![0.0; n];
            p.full_gradient(&x, &cache, &mut g);
            g
        });
        let tau = self.block_size;
        let blocks = match self.partition {
            Partition::Order => partition::order(n, tau),
            Partition::Sort => partition::sort(p.lipschitz(), tau),
            Partition::Avg => partition::avg(p.lipschitz(), tau),
            Partition::RedBlack => partition::red_black(p.quadratic_matrix().expect("validated")),
            Partition::Tree => partition::trees(p.quadratic_matrix().expect("validated")),
            Partition::Variable | Partition::GreedyTree => Vec::new(),
        };
        let needs_lb = matches!(self.rule, Rule::Lipschitz | Rule::Gsl | Rule::GsR | Rule::GsQ)
            || self.update == Update::Gradient;
        let block_lip: Vec<f64> = if needs_lb {
            blocks.iter().map(|b| block_lipschitz(p, b)).collect()
        } else {
            vec![0.0; blocks.len()]
        };
        let weights: Vec<f64> = if blocks.is_empty() {
            p.lipschitz().to_vec()
        } else {
            blocks
                .iter()
                .enumerate()
                .map(|(k, b)| {
                    if block_lip[k] > 0.0 {
                        block_lip[k]
                    } else {
                        b.iter().map(|&i| p.lipschitz()[i]).sum()
                    }
                })
                .collect()
        };
        let mut acc = 0.0;
        let lip_cum = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        let epoch = if blocks.is_empty() {
            n.div_ceil(tau)
        } else {
            blocks.len()
        };
        Ok(BcdState {
            x,
            cache,
            grad,
            phase: Phase::Blocks,
            block: Vec::new(),
            coordinate_updates: 0,
            newton_steps: 0,
            newton_since: None,
            block_factor: (0..blocks.len()).map(|_| None).collect(),
            block_forest: vec![None; blocks.len()],
            blocks,
            block_lip,
            lip_cum,
            rng: ChaCha8Rng::seed_from_u64(self.seed),
            cursor: 0,
            iter: 0,
            // a check costs a pass over the data: once per pass of block updates, or right
            // before each full scan of a lazy working set (which then reuses its gradient)
            check_every: self.check_every.unwrap_or(if self.lazy_gradient() {
                self.rescan
            } else {
                epoch.max(1)
            }),
            stable: 0,
            last_free: Vec::new(),
            forest: ForestScratch::default(),
            greedy: (self.partition == Partition::GreedyTree).then(|| GreedyScratch::new(n)),
            scores: Vec::new(),
            current: None,
            candidates: Vec::new(),
            scan_grad: Vec::new(),
            scan_fresh: false,
            since_scan: 0,
        })
    }

    fn step(&mut self, p: &P, s: &mut BcdState) -> Result<Step> {
        s.iter += 1;
        if s.phase == Phase::Newton {
            if !update::newton_free_step(p, s) {
                // back to block updates until the active set has been stable for two more checks
                s.phase = Phase::Blocks;
                s.stable = 0;
                s.last_free.clear();
            }
            s.newton_steps += 1;
            let v = self.check(p, s);
            return Ok(Step::Continue { estimate: Some(v) });
        }
        let block = rules::select(self, p, s);
        if block.is_empty() {
            let v = self.check(p, s);
            return Ok(Step::Continue { estimate: Some(v) });
        }
        update::update_block(self, p, s, &block)?;
        s.coordinate_updates += block.len() as u64;
        if block.iter().any(|&i| !s.x[i].is_finite()) {
            return Ok(Step::Breakdown(format!(
                "the iterate became non-finite at iteration {}",
                s.iter
            )));
        }
        s.block = block;
        if s.iter.is_multiple_of(s.check_every) {
            let v = self.check(p, s);
            return Ok(Step::Continue { estimate: Some(v) });
        }
        Ok(Step::Continue { estimate: None })
    }

    fn metrics(&self, p: &P, s: &BcdState) -> Metrics {
        iterate_metrics(p, &s.x, s.coordinate_updates)
            .with_extra("newton_phase", if s.phase == Phase::Newton { 1.0 } else { 0.0 })
    }
}

/// A regularisation path for an L1 model: solves for each λ in `lambdas` (use decreasing
/// values, e.g. from `λ_max` down), warm-starting each solve from the previous solution.
pub fn path(
    glm: &Glm,
    lambdas: &[f64],
    bcd: &Bcd,
    options: &Options,
) -> Result<Vec<(f64, RunOutput<BcdState>)>> {
    let mut out = Vec::with_capacity(lambdas.len());
    let mut start: Option<Vec<f64>> = bcd.start.clone();
    for &l in lambdas {
        let problem = glm.clone().with_penalty(Penalty::L1(l))?;
        let mut solver = bcd.clone();
        solver.start = start.take();
        let r = run(&problem, &mut solver, options)?;
        start = Some(r.state.x.clone());
        out.push((l, r));
    }
    Ok(out)
}
