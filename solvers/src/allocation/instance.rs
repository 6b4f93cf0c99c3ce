//! The multiple-choice knapsack every allocation solver works on — per layer a list of options
//! with an integer cost and a distortion, one budget — and the cost scaling that trades the
//! budget's resolution for speed with a rounding error that is bounded and reported.

use crate::error::{Result, SolverError};
use solvent_problems::allocation::OptionTable;

/// Minimise Σ_l values\[l\]\[k_l\] subject to Σ_l costs\[l\]\[k_l\] ≤ budget, one option per layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Mckp {
    /// Integer cost of each option of each layer.
    pub costs: Vec<Vec<u64>>,
    /// Distortion (objective) of each option of each layer.
    pub values: Vec<Vec<f64>>,
    /// The budget.
    pub budget: u64,
}

/// How costs were scaled: scaled cost = ⌈cost / unit⌉, scaled budget = ⌊budget / unit⌋, so every
/// allocation the scaled problem accepts fits the true budget.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Scaling {
    /// True cost units per scaled unit (1 = exact).
    pub unit: f64,
    /// The budget in scaled units.
    pub budget_units: u64,
    /// Bound on the true cost the rounding can hide: Σ_l max_k (⌈c/unit⌉·unit − c) plus what the
    /// budget's floor drops. Every allocation with true cost ≤ budget − this is considered, so
    /// the scaled optimum is at least as good as the exact optimum at that smaller budget.
    pub cost_rounding: f64,
}

impl Mckp {
    /// The problem in true costs of resource `r` of `table`, with the given budget.
    pub fn from_table(table: &OptionTable, r: usize, budget: u64) -> Result<Self> {
        let p = Self {
            costs: table
                .layers
                .iter()
                .map(|l| l.options.iter().map(|o| o.cost[r]).collect())
                .collect(),
            values: table
                .layers
                .iter()
                .map(|l| l.options.iter().map(|o| o.distortion).collect())
                .collect(),
            budget,
        };
        p.check(&table.resources[r])?;
        Ok(p)
    }

    /// Checks shapes, finite values and that the budget can be met; `what` names the cost.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.costs.is_empty() || self.costs.len() != self.values.len() {
            return Err(SolverError::NotApplicable(
                "allocation needs at least one layer".into(),
            ));
        }
        for (l, (c, v)) in self.costs.iter().zip(&self.values).enumerate() {
            if c.is_empty() || c.len() != v.len() {
                return Err(SolverError::NotApplicable(format!("layer #{l} has no options")));
            }
            if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                return Err(SolverError::NotApplicable(format!(
                    "layer #{l}, option #{k}: value {} is not finite",
                    v[k]
                )));
            }
        }
        let dense = self.costs.iter().try_fold(0u64, |acc, c| {
            acc.checked_add(c.iter().copied().max().unwrap_or(0))
        });
        if dense.is_none() {
            return Err(SolverError::NotApplicable(format!(
                "the {what} costs of the dearest options sum to more than 2^64 − 1: totals cannot be represented"
            )));
        }
        let min = self.min_total();
        if min > self.budget {
            return Err(SolverError::Infeasible(format!(
                "budget {} {what} is below the minimum achievable {min} (every layer at its cheapest option)",
                self.budget
            )));
        }
        Ok(())
    }

    /// Number of layers.
    pub fn layers(&self) -> usize {
        self.costs.len()
    }

    /// Σ_l min_k cost: the least any allocation costs.
    pub fn min_total(&self) -> u64 {
        self.costs
            .iter()
            .map(|c| c.iter().copied().min().unwrap_or(0))
            .sum()
    }

    /// Total cost of a choice.
    pub fn cost_of(&self, choice: &[usize]) -> u64 {
        self.costs.iter().zip(choice).map(|(c, &k)| c[k]).sum()
    }

    /// Total value of a choice, summed in layer order.
    pub fn value_of(&self, choice: &[usize]) -> f64 {
        self.values.iter().zip(choice).map(|(v, &k)| v[k]).sum()
    }

    /// Scales costs so the budget is about `resolution` units (no scaling when the budget is
    /// already ≤ `resolution` or `resolution` is 0). Falls back to exact costs when rounding up
    /// would make a feasible budget infeasible.
    pub fn scaled(&self, resolution: u64) -> (Self, Scaling) {
        let exact = Scaling {
            unit: 1.0,
            budget_units: self.budget,
            cost_rounding: 0.0,
        };
        if resolution == 0 || self.budget <= resolution {
            return (self.clone(), exact);
        }
        let unit = self.budget as f64 / resolution as f64;
        let up = |c: u64| {
            let mut s = (c as f64 / unit).ceil() as u64;
            while (s as f64) * unit < c as f64 {
                s += 1;
            }
            s
        };
        let mut budget_units = (self.budget as f64 / unit).floor() as u64;
        while budget_units as f64 * unit > self.budget as f64 {
            budget_units -= 1;
        }
        let costs: Vec<Vec<u64>> = self
            .costs
            .iter()
            .map(|c| c.iter().map(|&x| up(x)).collect())
            .collect();
        let mut cost_rounding = self.budget as f64 - budget_units as f64 * unit;
        for (cs, ss) in self.costs.iter().zip(&costs) {
            cost_rounding += cs
                .iter()
                .zip(ss)
                .map(|(&c, &s)| s as f64 * unit - c as f64)
                .fold(0.0, f64::max);
        }
        let scaled = Self {
            costs,
            values: self.values.clone(),
            budget: budget_units,
        };
        if scaled.min_total() > scaled.budget {
            return (self.clone(), exact);
        }
        (
            scaled,
            Scaling {
                unit,
                budget_units,
                cost_rounding,
            },
        )
    }
}
