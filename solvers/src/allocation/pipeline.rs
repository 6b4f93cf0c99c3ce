//! `allocate(table, request)`: one call from an options table to an allocation, its
//! totals and its certified lower bound — the method dispatch, the second budget, the
//! evolutionary refinement and the comparison with the baselines that `solvent allocate`
//! runs, callable from Rust.
//!
//! ```
//! use solvent_problems::allocation::{synthetic_table, SyntheticTable};
//! use solvent_solvers::allocation::{allocate, AllocationMethod, AllocateRequest, Budget};
//!
//! let table = synthetic_table(&SyntheticTable {
//!     layers: 20, levels: 11, min_size: 100, max_size: 1000, noise: 0.05, seed: 1,
//! }).unwrap();
//! let request = AllocateRequest::new(AllocationMethod::Dp, Budget::Fraction(0.5));
//! let out = allocate(&table, request).unwrap();
//! assert!(out.total_cost["params"] <= out.budget);
//! assert!(out.gap >= -1e-9 * out.total_distortion.abs().max(1.0)); // never below the LP bound
//! ```

use super::evolve::{Additive, Evaluator, EvolveSettings};
use super::hull::lagrange;
use super::instance::{Mckp, Scaling};
use super::solver::{EvolveSolver, ExactDpSolver};
use super::{baselines, dp, two_budget};
use crate::{run, Options, Report, Result, SolverError};
use serde::Serialize;
use solvent_problems::allocation::OptionTable;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How to allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationMethod {
    /// Exact dynamic programming (the default).
    Dp,
    /// Convex-hull / Lagrangian greedy (fast; its LP bound is the lower bound).
    Lagrange,
    /// DP, then evolutionary refinement under an evaluator (EvoPress-style level swaps).
    Evolve,
    /// One level for every layer.
    Uniform,
    /// One magnitude threshold over all weights (needs the weights).
    Global,
    /// Erdős–Rényi-kernel densities (needs shapes).
    Erk,
    /// LAMP scores with one global threshold (needs the weights).
    Lamp,
}

solvent_linalg::named_enum!(AllocationMethod, "allocation method" {
    Dp => "dp",
    Lagrange => "lagrange",
    Evolve => "evolve",
    Uniform => "uniform",
    Global => "global",
    Erk => "erk",
    Lamp => "lamp",
});

/// A budget: a fraction of the dense total of its resource, or an amount in its units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// This fraction of the dense total, in (0, 1] (0.5 keeps half: 50% sparsity).
    Fraction(f64),
    /// This many units (e.g. kept parameters).
    Units(u64),
}

impl Budget {
    /// The budget in units of resource `r` of `table`.
    pub fn units(self, table: &OptionTable, r: usize, what: &'static str) -> Result<u64> {
        match self {
            Self::Units(b) => Ok(b),
            Self::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(SolverError::setting(
                        what,
                        f,
                        "a budget fraction must be in (0, 1]",
                    ));
                }
                Ok((f * table.max_total(r) as f64).floor() as u64)
            }
        }
    }
}

/// The evolutionary refinement's settings ([`AllocationMethod::Evolve`]).
#[derive(Default)]
pub struct EvolveRequest<'e> {
    /// Generations (the run loop's iteration limit), children per generation, seed.
    pub settings: EvolveSettings,
    /// Stop after this much search.
    pub time_limit: Option<Duration>,
    /// Stop after this many generations without improvement.
    pub stall: Option<usize>,
    /// What scores an allocation (default: the table's additive distortion).
    pub evaluator: Option<&'e mut dyn Evaluator>,
}

/// What to allocate.
pub struct AllocateRequest<'a> {
    /// The method.
    pub method: AllocationMethod,
    /// The resource the budget is in (a cost name of the table).
    pub resource: String,
    /// The budget.
    pub budget: Budget,
    /// A second budget (resource, budget), solved by Lagrangian relaxation over exact DPs
    /// ([`AllocationMethod::Dp`] only).
    pub second: Option<(String, Budget)>,
    /// Budget resolution: scale costs so the budget is about this many units (the
    /// rounding bound is reported); 0: exact costs.
    pub resolution: u64,
    /// Each layer's squared weights sorted ascending (from a model), for the magnitude
    /// baselines ([`AllocationMethod::Global`], [`AllocationMethod::Lamp`]).
    pub sorted_sq: Option<&'a [Vec<f64>]>,
    /// The evolutionary refinement's settings.
    pub evolve: EvolveRequest<'a>,
    /// Also run every baseline that applies and report their totals.
    pub compare: bool,
}

impl<'a> AllocateRequest<'a> {
    /// `method` under `budget` of the `params` resource, exact costs, no comparison.
    pub fn new(method: AllocationMethod, budget: Budget) -> Self {
        Self {
            method,
            resource: "params".into(),
            budget,
            second: None,
            resolution: 0,
            sorted_sq: None,
            evolve: EvolveRequest::default(),
            compare: false,
        }
    }
}

/// One layer's chosen option.
#[derive(Clone, Debug, Serialize)]
pub struct LayerChoice {
    /// The layer.
    pub name: String,
    /// The option's level.
    pub level: u32,
    /// Its sparsity, when the table gives one.
    pub sparsity: Option<f64>,
    /// Its cost in every resource.
    pub cost: BTreeMap<String, u64>,
    /// Its distortion.
    pub distortion: f64,
}

/// Another method's totals on the same table and budget.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The method.
    pub method: AllocationMethod,
    /// Its summed distortion (absent when it could not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_distortion: Option<f64>,
    /// Its total cost in the budget's resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<u64>,
    /// Why it could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An allocation with its totals, its certified lower bound and how it was found.
#[derive(Clone, Debug, Serialize)]
pub struct Allocation {
    /// The option index chosen for each layer (in table order).
    #[serde(skip)]
    pub choice: Vec<usize>,
    /// The chosen options.
    pub layers: Vec<LayerChoice>,
    /// The method.
    pub method: AllocationMethod,
    /// The resource the budget is in.
    pub resource: String,
    /// The budget in its units.
    pub budget: u64,
    /// The dense total of that resource.
    pub dense_total: u64,
    /// Total cost in every resource.
    pub total_cost: BTreeMap<String, u64>,
    /// Summed distortion.
    pub total_distortion: f64,
    /// A lower bound on the best summed distortion within budget (the LP bound, or the
    /// dual bound of two budgets).
    pub lower_bound: f64,
    /// `total_distortion − lower_bound` (0 up to rounding for the exact DP on exact costs).
    pub gap: f64,
    /// The gap relative to the total distortion.
    pub relative_gap: f64,
    /// The LP multiplier.
    pub lp_lambda: f64,
    /// The cost scaling (unit 1: exact) and the rounding it may hide.
    pub scaling: Scaling,
    /// Method-specific details (DP statistics, the second budget, the evolution).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The other methods' totals, when asked for.
    pub compare: Vec<Comparison>,
    /// The shared run loop's report (DP and evolve).
    pub run: Option<Report>,
    /// Seconds solving.
    pub solve_s: f64,
}

/// Allocates `table` as `request` says. The exact DP on scaled costs is never worse than
/// the exact-cost greedy: when the greedy wins, it is returned and the details say so.
pub fn allocate(table: &OptionTable, request: AllocateRequest<'_>) -> Result<Allocation> {
    let t = Instant::now();
    let r = table.resource(&request.resource)?;
    let budget = request.budget.units(table, r, "budget_frac")?;
    let p = Mckp::from_table(table, r, budget)?;
    let (q, scaling) = p.scaled(request.resolution);
    let bound = lagrange(&p); // LP on true costs: certifies every method
    let second = match &request.second {
        Some((name, b2)) => {
            if request.method != AllocationMethod::Dp {
                return Err(SolverError::setting(
                    "second_cost",
                    name,
                    "two budgets are solved by the dp method only",
                ));
            }
            let r2 = table.resource(name)?;
            if r2 == r {
                return Err(SolverError::setting(
                    "second_cost",
                    name,
                    "the second budget must be in another resource than the first",
                ));
            }
            Some((r2, b2.units(table, r2, "second_budget_frac")?))
        }
        None => None,
    };
    let weights = |m: AllocationMethod| -> Result<&[Vec<f64>]> {
        request.sorted_sq.ok_or_else(|| {
            SolverError::NotApplicable(format!(
                "method {} ranks individual weights: it needs a model",
                m.as_str()
            ))
        })
    };
    let mut details = serde_json::Map::new();
    let mut run_report = None;
    let (choice, lower_bound) = match request.method {
        AllocationMethod::Dp => match second {
            None => {
                // through the shared run loop: the greedy is the start, the DP one step
                let out = run(
                    &q,
                    &mut ExactDpSolver::default(),
                    &Options::default().tol(1e-12).max_iters(1),
                )?;
                details.insert(
                    "dp".into(),
                    serde_json::to_value(out.state.stats).unwrap_or_default(),
                );
                run_report = Some(out.report);
                let c = out.state.choice;
                // scaled costs shrink the feasible set: never return worse than the
                // exact-cost greedy, and say so when it wins
                if scaling.unit > 1.0 && bound.value < p.value_of(&c) {
                    details.insert("scaled_dp_replaced_by_greedy".into(), p.value_of(&c).into());
                    (bound.choice.clone(), bound.lower_bound)
                } else {
                    (c, bound.lower_bound)
                }
            }
            Some((r2, b2)) => {
                let costs2: Vec<Vec<u64>> = table
                    .layers
                    .iter()
                    .map(|l| l.options.iter().map(|o| o.cost[r2]).collect())
                    .collect();
                let s = two_budget::solve(&q, &costs2, b2)?;
                details.insert(
                    "second_budget".into(),
                    serde_json::json!({"resource": table.resources[r2], "budget": b2, "cost": s.cost2, "mu": s.mu,
                           "dp_solves": s.dp_solves, "dual_bound": s.lower_bound}),
                );
                (s.choice, s.lower_bound)
            }
        },
        AllocationMethod::Lagrange => {
            details.insert("lambda".into(), bound.lambda.into());
            (bound.choice.clone(), bound.lower_bound)
        }
        AllocationMethod::Evolve => {
            let start = dp::solve(&q)?;
            let ev = request.evolve;
            let mut options = Options::default()
                .tol(f64::MIN_POSITIVE)
                .max_iters(ev.settings.generations.max(1));
            if let Some(t) = ev.time_limit {
                options = options.time_limit(t);
            }
            if let Some(k) = ev.stall {
                options = options.stall_iters(k);
            }
            let mut additive = Additive { values: &p.values };
            let named = ev.evaluator.is_some();
            let evaluator: &mut dyn Evaluator = match ev.evaluator {
                Some(e) => e,
                None => &mut additive,
            };
            let mut solver = EvolveSolver {
                start: start.choice.clone(),
                evaluator,
                settings: ev.settings,
            };
            let out = run(&p, &mut solver, &options)?;
            let st = out.state;
            details.insert(
                "evolve".into(),
                serde_json::json!({"start_value": st.start_value, "value": st.value, "evaluations": st.evaluations,
                       "history": st.history, "evaluator": if named { "external" } else { "additive" }}),
            );
            run_report = Some(out.report);
            (st.choice, bound.lower_bound)
        }
        AllocationMethod::Uniform => (baselines::uniform(table, r, budget)?, bound.lower_bound),
        AllocationMethod::Erk => (baselines::erk(table, r, budget)?, bound.lower_bound),
        AllocationMethod::Global => (
            baselines::global_magnitude(table, r, budget, weights(AllocationMethod::Global)?)?,
            bound.lower_bound,
        ),
        AllocationMethod::Lamp => (
            baselines::lamp(table, r, budget, weights(AllocationMethod::Lamp)?)?,
            bound.lower_bound,
        ),
    };
    let solve_s = t.elapsed().as_secs_f64();
    let mut compare = Vec::new();
    if request.compare {
        let mut add = |method: AllocationMethod, c: Result<Vec<usize>>| {
            compare.push(match c {
                Ok(c) => Comparison {
                    method,
                    total_distortion: Some(table.total_distortion(&c)),
                    total_cost: Some(table.total_cost(&c, r)),
                    error: None,
                },
                Err(e) => Comparison {
                    method,
                    total_distortion: None,
                    total_cost: None,
                    error: Some(e.to_string()),
                },
            })
        };
        if request.method != AllocationMethod::Dp || second.is_some() {
            add(AllocationMethod::Dp, dp::solve(&q).map(|s| s.choice));
        }
        add(AllocationMethod::Lagrange, Ok(bound.choice.clone()));
        add(AllocationMethod::Uniform, baselines::uniform(table, r, budget));
        add(AllocationMethod::Erk, baselines::erk(table, r, budget));
        if let Some(sq) = request.sorted_sq {
            add(
                AllocationMethod::Global,
                baselines::global_magnitude(table, r, budget, sq),
            );
            add(AllocationMethod::Lamp, baselines::lamp(table, r, budget, sq));
        }
    }
    let total_distortion = table.total_distortion(&choice);
    let gap = total_distortion - lower_bound;
    Ok(Allocation {
        layers: layer_choices(table, &choice),
        total_cost: totals(table, &choice),
        method: request.method,
        resource: table.resources[r].clone(),
        budget,
        dense_total: table.max_total(r),
        total_distortion,
        lower_bound,
        gap,
        relative_gap: if total_distortion > 0.0 {
            gap / total_distortion
        } else {
            0.0
        },
        lp_lambda: bound.lambda,
        scaling,
        details,
        compare,
        run: run_report,
        solve_s,
        choice,
    })
}

impl Allocation {
    /// How many weights each layer prunes (its size minus the kept parameters of the
    /// chosen option; the `params` resource is the table's first): what
    /// `Model::write_pruned` zeroes.
    pub fn pruned_counts(&self, table: &OptionTable) -> std::collections::HashMap<String, usize> {
        table
            .layers
            .iter()
            .zip(&self.choice)
            .map(|(l, &k)| {
                (
                    l.name.clone(),
                    l.size().saturating_sub(l.options[k].cost[0]) as usize,
                )
            })
            .collect()
    }
}

/// The chosen options of `choice`, layer by layer.
pub fn layer_choices(table: &OptionTable, choice: &[usize]) -> Vec<LayerChoice> {
    table
        .layers
        .iter()
        .zip(choice)
        .map(|(l, &k)| {
            let o = &l.options[k];
            LayerChoice {
                name: l.name.clone(),
                level: o.level,
                sparsity: o.sparsity,
                cost: table.cost_map(o),
                distortion: o.distortion,
            }
        })
        .collect()
}

/// Total cost of `choice` in every resource.
pub fn totals(table: &OptionTable, choice: &[usize]) -> BTreeMap<String, u64> {
    table
        .resources
        .iter()
        .enumerate()
        .map(|(r, n)| (n.clone(), table.total_cost(choice, r)))
        .collect()
}
