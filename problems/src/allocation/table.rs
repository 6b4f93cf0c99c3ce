//! The per-layer options table: for each layer a unique name and a list of options, each with
//! a level, an optional sparsity label, integer costs per resource (`params` required; `flops`,
//! `bytes`, … optional but then given for every option) and a distortion. This is the format
//! the engine shares with any framework that measures curves (see [`super::load`]).

use crate::error::{ProblemError, Result};
use std::collections::HashSet;

/// The resource every table must cost: kept parameters.
pub const PARAMS: &str = "params";

/// One way to compress one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOption {
    /// The option's level (an index on the layer's grid, e.g. sparsity in percent).
    pub level: u32,
    /// The fraction of weights removed, when the option is a sparsity level.
    pub sparsity: Option<f64>,
    /// Integer cost per resource, in the order of [`OptionTable::resources`].
    pub cost: Vec<u64>,
    /// The predicted distortion of choosing this option (finite, ≥ 0).
    pub distortion: f64,
}

/// One layer and its options.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Unique name (a tensor name for curves computed from a model).
    pub name: String,
    /// The weight's shape, when known (ERK needs it).
    pub shape: Option<Vec<usize>>,
    /// The options, at least one.
    pub options: Vec<LayerOption>,
}

impl Layer {
    /// Number of weights in the layer: the product of the shape, or else the largest `params`
    /// cost among the options (the dense option keeps every weight).
    pub fn size(&self) -> u64 {
        match &self.shape {
            Some(s) => s.iter().map(|&d| d as u64).product(),
            None => self.options.iter().map(|o| o.cost[0]).max().unwrap_or(0),
        }
    }

    /// The option with the given level, if any.
    pub fn option_at_level(&self, level: u32) -> Option<usize> {
        self.options.iter().position(|o| o.level == level)
    }
}

/// A validated options table: resource names (the first is `params`) and the layers.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionTable {
    /// Resource names; `resources[0] == "params"`.
    pub resources: Vec<String>,
    /// The layers, in table order.
    pub layers: Vec<Layer>,
}

impl OptionTable {
    /// Validates and builds a table. Errors name the layer and the option: no layers, a layer
    /// without options, duplicate layer names, duplicate levels in a layer, NaN, infinite or
    /// negative distortions, sparsities outside [0, 1], a cost vector of the wrong length, a
    /// missing `params` resource or a repeated resource name.
    pub fn new(resources: Vec<String>, layers: Vec<Layer>) -> Result<Self> {
        if resources.first().map(String::as_str) != Some(PARAMS) {
            return Err(invalid(format!(
                "the first cost resource must be \"{PARAMS}\" (found {:?})",
                resources.first()
            )));
        }
        let mut seen_res = HashSet::new();
        for r in &resources {
            if !seen_res.insert(r.as_str()) {
                return Err(invalid(format!("cost resource \"{r}\" is listed twice")));
            }
        }
        if layers.is_empty() {
            return Err(invalid("the table has no layers".into()));
        }
        let mut names = HashSet::new();
        for (li, layer) in layers.iter().enumerate() {
            let at = format!("layer \"{}\" (#{li})", layer.name);
            if layer.name.is_empty() {
                return Err(invalid(format!("layer #{li} has an empty name")));
            }
            if !names.insert(layer.name.as_str()) {
                return Err(invalid(format!(
                    "duplicate layer name \"{}\" (again at #{li})",
                    layer.name
                )));
            }
            if layer.options.is_empty() {
                return Err(invalid(format!("{at} has no options")));
            }
            let mut levels = HashSet::new();
            for o in &layer.options {
                let here = format!("{at}, option level {}", o.level);
                if !levels.insert(o.level) {
                    return Err(invalid(format!("{at}: level {} appears twice", o.level)));
                }
                if !o.distortion.is_finite() {
                    return Err(invalid(format!("{here}: distortion is {}", o.distortion)));
                }
                if o.distortion < 0.0 {
                    return Err(invalid(format!("{here}: negative distortion {}", o.distortion)));
                }
                if let Some(s) = o.sparsity {
                    if !(0.0..=1.0).contains(&s) {
                        return Err(invalid(format!("{here}: sparsity {s} is outside [0, 1]")));
                    }
                }
                if o.cost.len() != resources.len() {
                    return Err(invalid(format!(
                        "{here}: {} costs for {} resources ({})",
                        o.cost.len(),
                        resources.len(),
                        resources.join(", ")
                    )));
                }
            }
        }
        // every total (any choice, the dense model, the budget) is at most the sum of the
        // dearest options: when that fits in 64 bits, no sum can overflow
        for (r, name) in resources.iter().enumerate() {
            let total = layers.iter().try_fold(0u64, |acc, l| {
                acc.checked_add(l.options.iter().map(|o| o.cost[r]).max().unwrap_or(0))
            });
            if total.is_none() {
                return Err(invalid(format!(
                    "the {name} costs of the dearest options sum to more than 2^64 − 1: totals cannot be represented (scale the costs down)"
                )));
            }
        }
        Ok(Self { resources, layers })
    }

    /// Index of a resource by name, or an error listing the ones the table has.
    pub fn resource(&self, name: &str) -> Result<usize> {
        self.resources.iter().position(|r| r == name).ok_or_else(|| {
            invalid(format!(
                "the table has no \"{name}\" costs (it has: {})",
                self.resources.join(", ")
            ))
        })
    }

    /// Sum over layers of the cheapest option's cost in resource `r`: the smallest total any
    /// allocation can reach.
    pub fn min_total(&self, r: usize) -> u64 {
        self.layers
            .iter()
            .map(|l| l.options.iter().map(|o| o.cost[r]).min().unwrap_or(0))
            .sum()
    }

    /// Sum over layers of the dearest option's cost in resource `r` (the dense model).
    pub fn max_total(&self, r: usize) -> u64 {
        self.layers
            .iter()
            .map(|l| l.options.iter().map(|o| o.cost[r]).max().unwrap_or(0))
            .sum()
    }

    /// Total cost in resource `r` of a choice (option index per layer).
    pub fn total_cost(&self, choice: &[usize], r: usize) -> u64 {
        self.layers
            .iter()
            .zip(choice)
            .map(|(l, &k)| l.options[k].cost[r])
            .sum()
    }

    /// An option's costs by resource name.
    pub fn cost_map(&self, option: &LayerOption) -> std::collections::BTreeMap<String, u64> {
        self.resources
            .iter()
            .cloned()
            .zip(option.cost.iter().copied())
            .collect()
    }

    /// Total distortion of a choice (option index per layer), summed in layer order.
    pub fn total_distortion(&self, choice: &[usize]) -> f64 {
        self.layers
            .iter()
            .zip(choice)
            .map(|(l, &k)| l.options[k].distortion)
            .sum()
    }
}

fn invalid(message: String) -> ProblemError {
    ProblemError::Invalid(message)
}
