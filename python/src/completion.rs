//! `complete`: a low-rank model of observed entries (rows and columns already mapped to
//! `0..m` and `0..n` by the Python side, which keeps the id maps).

use crate::convert::{err, json, slice, value_err};
use crate::detach;
use numpy::{IntoPyArray, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use solvent::problems::completion::Ratings;
use solvent::solvers::completion::solver::{ALTMIN_CG_ITERS, SKETCH_ABOVE_K2};
use solvent::solvers::completion::{choose_reg, CompletionConfig, RatingsProblem, RowSolver, REG_GRID};
use solvent::solvers::{Options, TraceSchedule};

/// Entries `(rows[e], cols[e], values[e])` of an `m × n` matrix, ids `"0".."m-1"` and
/// `"0".."n-1"` so the library's id maps are the identity.
fn ratings(
    what: &str,
    (m, n): (usize, usize),
    rows: &[i64],
    cols: &[i64],
    values: &[f64],
) -> PyResult<Ratings> {
    if rows.len() != cols.len() || rows.len() != values.len() {
        return Err(value_err(
            what,
            format!(
                "rows, cols and values must have one length, found {}, {} and {}",
                rows.len(),
                cols.len(),
                values.len()
            ),
        ));
    }
    let mut r = Ratings::default();
    for i in 0..m {
        r.users.intern(&i.to_string());
    }
    for j in 0..n {
        r.items.intern(&j.to_string());
    }
    r.entries.reserve(values.len());
    for e in 0..values.len() {
        let (i, j, v) = (rows[e], cols[e], values[e]);
        if i < 0 || i as usize >= m || j < 0 || j as usize >= n {
            return Err(value_err(
                what,
                format!("entry {e}: ({i}, {j}) is outside the {m} × {n} matrix"),
            ));
        }
        if !v.is_finite() {
            return Err(value_err(what, format!("entry {e}: value {v} is not finite")));
        }
        r.entries.push((i as u32, j as u32, v));
    }
    Ok(r)
}

/// Fits a rank-`rank` model. `reg < 0` means `auto` (chosen on 10% of the training
/// entries held out). Returns `U` (m × rank), `V` (n × rank) and the report as JSON (with
/// `offset`, `mean`, `reg`, `test_rmse` when test entries are given).
#[pyfunction]
#[pyo3(signature = (rows, cols, values, shape, rank, reg, solver, sweeps, tol, seed, center, test, time_limit))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn complete<'py>(
    py: Python<'py>,
    rows: PyReadonlyArray1<'py, i64>,
    cols: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, f64>,
    shape: (usize, usize),
    rank: usize,
    reg: f64,
    solver: &str,
    sweeps: usize,
    tol: f64,
    seed: u64,
    center: bool,
    test: Option<(
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, f64>,
    )>,
    time_limit: Option<f64>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<f64>>, String)> {
    let train = ratings(
        "ratings",
        shape,
        slice("rows", &rows)?,
        slice("cols", &cols)?,
        slice("values", &values)?,
    )?;
    if train.is_empty() {
        return Err(value_err("values", "no observed entries"));
    }
    let test = match &test {
        Some((r, c, v)) => Some(ratings(
            "test",
            shape,
            slice("test rows", r)?,
            slice("test cols", c)?,
            slice("test values", v)?,
        )?),
        None => None,
    };
    let row_solver = match solver {
        "als" => RowSolver::Exact,
        "altmin" => RowSolver::Cg {
            reduction: 1e-2,
            max_iters: ALTMIN_CG_ITERS,
            sketch_above: SKETCH_ABOVE_K2 * rank * rank,
        },
        other => {
            return Err(value_err(
                "solver",
                format!("unknown solver `{other}` (altmin, als)"),
            ))
        }
    };
    let mut config = CompletionConfig {
        reg: reg.max(0.0),
        solver: row_solver,
        seed,
        ..CompletionConfig::altmin(rank)
    };
    let flag = detach::flag();
    let mut options = Options::default()
        .tol(tol.max(f64::MIN_POSITIVE))
        .max_iters(sweeps)
        .trace(TraceSchedule::Every(1))
        .interrupt(flag.clone());
    if let Some(t) = crate::convert::time_limit(time_limit)? {
        options = options.time_limit(t);
    }
    options.validate().map_err(err)?;
    let auto = reg < 0.0;
    let out = detach::run(py, &flag, false, || -> solvent::solvers::Result<_> {
        let choice = if auto {
            let c = choose_reg(&train, &config, &options, &REG_GRID, 0.1, center, seed)?;
            config.reg = c.reg;
            Some(c)
        } else {
            None
        };
        let model = RatingsProblem::new(train, test.as_ref(), center);
        let fit = model.fit(&config, &options, &mut [])?;
        let test_rmse = model.test_rmse_with_fallback(&fit.state.factors);
        Ok((model.offset, model.mean, choice, fit, test_rmse))
    })?
    .map_err(err)?;
    let (offset, mean, choice, fit, test_rmse) = out;
    let f = &fit.state.factors;
    let (m, n, k) = (shape.0, shape.1, f.k);
    let u = f.u.clone().into_pyarray(py).reshape([m, k])?;
    let v = f.v.clone().into_pyarray(py).reshape([n, k])?;
    let report = json(&serde_json::json!({
        "report": fit.report,
        "offset": offset,
        "mean": mean,
        "reg": config.reg,
        "reg_choice": choice,
        "test_rmse": test_rmse,
    }))?;
    Ok((u, v, report))
}
