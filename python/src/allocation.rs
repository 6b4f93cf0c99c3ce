//! `allocate`: per-layer options under a global budget.

use crate::convert::{err, json, parse, value_err};
use crate::detach;
use pyo3::prelude::*;
use solvent::problems::allocation::parse_json;
use solvent::solvers::allocation::{allocate as allocate_table, AllocateRequest, AllocationMethod, Budget};

/// Allocates the table (the CLI's JSON schema, as text) under `fraction` of the dense
/// total of `resource` or `units` of it. Returns the allocation as JSON (the CLI's
/// report: layers, totals, lower bound, gap, …, plus `choice`, the option index per
/// layer).
#[pyfunction]
#[pyo3(signature = (table, method, fraction, units, resource, resolution, compare))]
#[allow(clippy::too_many_arguments)]
pub fn allocate(
    py: Python<'_>,
    table: &str,
    method: &str,
    fraction: Option<f64>,
    units: Option<u64>,
    resource: &str,
    resolution: u64,
    compare: bool,
) -> PyResult<String> {
    let table = parse_json(table, "table").map_err(|e| value_err("table", e))?;
    let budget = match (fraction, units) {
        (Some(f), None) => Budget::Fraction(f),
        (None, Some(u)) => Budget::Units(u),
        _ => {
            return Err(value_err(
                "budget",
                "give a fraction in (0, 1] or a whole number of units",
            ))
        }
    };
    let method = parse::<AllocationMethod>("method", method)?;
    let flag = detach::flag();
    // the exact DP's cost grows with the budget, not the layers: always on a worker
    let out = detach::run(py, &flag, false, || {
        let mut request = AllocateRequest::new(method, budget);
        request.resource = resource.to_string();
        request.resolution = resolution;
        request.compare = compare;
        allocate_table(&table, request)
    })?
    .map_err(err)?;
    let mut value = serde_json::to_value(&out).map_err(|e| value_err("allocation", e))?;
    if let Some(m) = value.as_object_mut() {
        m.insert("choice".into(), serde_json::json!(out.choice));
    }
    json(&value)
}
