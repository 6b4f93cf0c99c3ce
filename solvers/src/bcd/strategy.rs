//! Which BCD method solves a regression problem — the working-set solver or the paper's
//! greedy rules — and regularisation paths with warm starts and strong rules: what
//! `solvent bcd` and the Python estimators run, callable from Rust.
//!
//! ```
//! use solvent_linalg::CsrMatrix;
//! use solvent_problems::bcd::CoordinateProblem;
//! use solvent_solvers::bcd::{build_glm, glm_path, lambda_grid, BcdChoices, GlmSpec, Method, ProblemKind, Strategy};
//! use solvent_solvers::Options;
//!
//! let x = CsrMatrix::from_triplets(3, 2, &[(0, 0, 1.0), (1, 1, 2.0), (2, 0, 1.0), (2, 1, 1.0)]).unwrap();
//! let built = build_glm(x, vec![1.0, 2.0, 3.0], &GlmSpec::new(ProblemKind::Lasso)).unwrap();
//! let method = Method::resolve(Strategy::Auto, ProblemKind::Lasso, built.glm.dim(), &BcdChoices::default());
//! let lambdas = lambda_grid(built.lambda_max.unwrap(), built.lambda, 5);
//! let path = glm_path(&built.glm, &lambdas, &method, &Options::default().tol(1e-10)).unwrap();
//! assert!(path.iter().all(|p| p.solved.report.status.is_converged()));
//! ```

use super::{Bcd, BcdChoices, BcdState, Phase, ProblemKind, WorkingSet, WorkingSetState};
use crate::{run, Options, Report, Result, RunOutput, SolverError};
use solvent_problems::bcd::{CoordinateProblem, Glm, Penalty};

/// How `solvent bcd` solves: the working-set solver, the paper's greedy rules, or the
/// choice of `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The working-set solver for the penalised regression problems (L1, elastic net,
    /// non-negativity) unless a greedy-rule setting is given; the greedy rules otherwise.
    Auto,
    /// Working sets, extrapolated coordinate descent, screening ([`WorkingSet`]).
    WorkingSet,
    /// The paper's rules, partitions and updates ([`Bcd`]).
    Greedy,
}

solvent_linalg::named_enum!(Strategy, "strategy" {
    Auto => "auto",
    WorkingSet => "working-set",
    Greedy => "greedy",
});

/// A configured method.
#[derive(Clone, Debug)]
pub enum Method {
    /// The working-set solver.
    WorkingSet(WorkingSet),
    /// Greedy block coordinate descent.
    Greedy(Bcd),
}

impl Method {
    /// The method `strategy` picks for a problem of `kind` with `dim` coordinates. `auto`
    /// takes the working-set solver for the penalised regression problems (where it is the
    /// faster, measured in docs/benchmarks.md) unless `choices` sets a rule, update,
    /// partition or block size — those are the greedy solver's — and the greedy solver
    /// (with [`Bcd::default_for`]) otherwise.
    pub fn resolve(strategy: Strategy, kind: ProblemKind, dim: usize, choices: &BcdChoices) -> Method {
        let greedy_chosen = choices.rule.is_some()
            || choices.update.is_some()
            || choices.partition.is_some()
            || choices.block_size.is_some();
        let penalised = kind.is_l1() || kind == ProblemKind::Nnls;
        match strategy {
            Strategy::WorkingSet => Method::WorkingSet(WorkingSet::default()),
            Strategy::Auto if penalised && !greedy_chosen => Method::WorkingSet(WorkingSet::default()),
            _ => Method::Greedy(Bcd::default_for(kind, dim, choices)),
        }
    }

    /// The solver's name.
    pub fn name<P: CoordinateProblem + ?Sized>(&self) -> String {
        match self {
            Method::WorkingSet(w) => <WorkingSet as crate::Solver<P>>::name(w),
            Method::Greedy(b) => <Bcd as crate::Solver<P>>::name(b),
        }
    }

    /// Sets a warm start.
    pub fn set_start(&mut self, x: Option<Vec<f64>>) {
        match self {
            Method::WorkingSet(w) => w.start = x,
            Method::Greedy(b) => b.start = x,
        }
    }

    /// Turns the active-set Newton phase on or off.
    pub fn set_newton(&mut self, on: bool) {
        match self {
            Method::WorkingSet(w) => w.newton = on,
            Method::Greedy(b) => b.active_set = on,
        }
    }
}

/// What a solve produced, whichever method ran.
#[derive(Clone, Debug)]
pub struct Solved {
    /// The iterate.
    pub x: Vec<f64>,
    /// The run's report.
    pub report: Report,
    /// Coordinate updates.
    pub coordinate_updates: u64,
    /// Newton steps on the free coordinates.
    pub newton_steps: usize,
    /// Greedy solver: the iteration its active-set phase began, if it did.
    pub newton_since: Option<usize>,
    /// Greedy solver: whether it ended in the Newton phase.
    pub newton_phase: bool,
    /// Working-set solver: outer iterations, final set size, screened coordinates.
    pub working_set: Option<(usize, usize, usize)>,
}

impl From<RunOutput<WorkingSetState>> for Solved {
    fn from(out: RunOutput<WorkingSetState>) -> Self {
        let s = out.state;
        Solved {
            working_set: Some((s.outer, s.set.len(), s.screened_count())),
            x: s.x,
            report: out.report,
            coordinate_updates: s.coordinate_updates,
            newton_steps: s.newton_steps,
            newton_since: None,
            newton_phase: false,
        }
    }
}

impl From<RunOutput<BcdState>> for Solved {
    fn from(out: RunOutput<BcdState>) -> Self {
        let s = out.state;
        Solved {
            x: s.x,
            report: out.report,
            coordinate_updates: s.coordinate_updates,
            newton_steps: s.newton_steps,
            newton_since: s.newton_since,
            newton_phase: s.phase == Phase::Newton,
            working_set: None,
        }
    }
}

/// Runs `method` on `p`.
pub fn solve<P: CoordinateProblem + ?Sized>(p: &P, method: &mut Method, options: &Options) -> Result<Solved> {
    Ok(match method {
        Method::WorkingSet(w) => run(p, w, options)?.into(),
        Method::Greedy(b) => run(p, b, options)?.into(),
    })
}

/// `k` values from `lambda_max` down to `lambda_min`, evenly spaced in log scale (the
/// glmnet/scikit-learn grid); one value, `lambda_min`, for `k = 1`.
pub fn lambda_grid(lambda_max: f64, lambda_min: f64, k: usize) -> Vec<f64> {
    if k <= 1 {
        return vec![lambda_min];
    }
    let (a, b) = (lambda_max.ln(), lambda_min.ln());
    (0..k)
        .map(|i| (a + (b - a) * i as f64 / (k - 1) as f64).exp())
        .collect()
}

/// One point of a regularisation path.
#[derive(Clone, Debug)]
pub struct PathPoint {
    /// The L1 weight.
    pub lambda: f64,
    /// The solve at that weight.
    pub solved: Solved,
    /// Coordinates the strong rule kept as candidates (working sets), if it ran.
    pub strong_set: Option<usize>,
}

/// The same L1 model at another weight.
fn at_lambda(glm: &Glm, lambda: f64) -> Result<Glm> {
    let penalty = match CoordinateProblem::penalty(glm) {
        Penalty::NonNegativeL1(_) | Penalty::NonNegative => Penalty::NonNegativeL1(lambda),
        _ => Penalty::L1(lambda),
    };
    Ok(glm.clone().with_penalty(penalty)?)
}

/// A regularisation path: solves the L1 model `glm` (Lasso, L1-logistic, elastic net,
/// non-negative with L1) at each weight of `lambdas` (decreasing, e.g. [`lambda_grid`]), each
/// solve warm-started from the previous solution. With the working-set solver the sequential
/// strong rule (Tibshirani et al. 2012: keep `j` when `|∇_j f| ≥ 2λ_k − λ_{k−1}` at the
/// previous solution) seeds the first working set; the KKT check over all coordinates
/// catches what the heuristic rule misses, so every point is solved to the same gap.
pub fn glm_path(glm: &Glm, lambdas: &[f64], method: &Method, options: &Options) -> Result<Vec<PathPoint>> {
    if let Some(i) = lambdas.iter().position(|l| !(l.is_finite() && *l >= 0.0)) {
        return Err(SolverError::setting(
            "lambdas",
            lambdas[i],
            format!("entry {i} must be a finite number ≥ 0"),
        ));
    }
    let mut out: Vec<PathPoint> = Vec::with_capacity(lambdas.len());
    // the previous weight and its solution: the next warm start and strong rule
    let mut previous: Option<(f64, Vec<f64>)> = None;
    for &lambda in lambdas {
        let problem = at_lambda(glm, lambda)?;
        let mut m = method.clone();
        // the first point keeps the method's own start
        if let Some((_, x)) = &previous {
            m.set_start(Some(x.clone()));
        }
        let mut strong_set = None;
        if let (Method::WorkingSet(w), Some((prev_l, prev_x))) = (&mut m, &previous) {
            // ∇f does not depend on λ: the gradient at the previous solution
            let cache = problem.new_cache(prev_x);
            let mut g = vec![0.0; problem.dim()];
            problem.full_gradient(prev_x, &cache, &mut g);
            let cut = 2.0 * lambda - prev_l;
            let set: Vec<usize> = (0..g.len()).filter(|&j| g[j].abs() >= cut).collect();
            strong_set = Some(set.len());
            w.seed_set = Some(set);
        }
        let solved = solve(&problem, &mut m, options)?;
        previous = Some((lambda, solved.x.clone()));
        out.push(PathPoint {
            lambda,
            solved,
            strong_set,
        });
    }
    Ok(out)
}
