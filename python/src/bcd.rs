//! `bcd_fit`: the regression problems of the BCD family, for the estimators.

use crate::convert::{csr, err, json, parse, slice};
use crate::detach;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use solvent::problems::bcd::CoordinateProblem;
use solvent::solvers::bcd::{
    build_weighted_glm, solve, BcdChoices, GlmSpec, Method, Partition, ProblemKind, Rule, Strategy, Update,
};
use solvent::solvers::{Options, TraceSchedule};

/// Method settings of the estimators (`None`: the family's default for the problem).
#[derive(FromPyObject)]
pub struct BcdSettings {
    strategy: Option<String>,
    rule: Option<String>,
    update: Option<String>,
    partition: Option<String>,
    block_size: Option<usize>,
    active_set: bool,
    rescan: Option<usize>,
    seed: u64,
}

fn opt<T: std::str::FromStr>(what: &str, v: &Option<String>) -> PyResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    v.as_deref().map(|t| parse::<T>(what, t)).transpose()
}

/// Fits problem `kind` on the design (CSR arrays, `shape` = samples × features) and
/// labels `y`. Returns the coefficients (features × classes, flattened; classes = 1
/// except softmax), the intercepts, the report as JSON (with `lambda`, `lambda_max`,
/// `class_labels`, `objective`). `sample_weight`: one non-negative weight per sample
/// (rescaled to sum to the number of samples, as scikit-learn's Lasso does).
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, shape, y, kind, lam, lambda_ratio, l2, intercept, settings, tol, maxiter, sample_weight=None))]
#[allow(clippy::too_many_arguments)]
pub fn bcd_fit<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i32>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f64>,
    shape: (usize, usize),
    y: PyReadonlyArray1<'py, f64>,
    kind: &str,
    lam: Option<f64>,
    lambda_ratio: Option<f64>,
    l2: Option<f64>,
    intercept: bool,
    settings: BcdSettings,
    tol: f64,
    maxiter: usize,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Vec<f64>, String)> {
    let x = csr("X", shape, &indptr, &indices, &data)?;
    let kind = parse::<ProblemKind>("problem", kind)?;
    let spec = GlmSpec {
        lambda: lam,
        lambda_ratio,
        intercept,
        l2,
        ..GlmSpec::new(kind)
    };
    let weights = sample_weight
        .as_ref()
        .map(|w| slice("sample_weight", w).map(|s| s.to_vec()))
        .transpose()?;
    let built = build_weighted_glm(x, slice("y", &y)?.to_vec(), &spec, weights).map_err(err)?;
    let glm = built.glm;
    let choices = BcdChoices {
        rule: opt::<Rule>("rule", &settings.rule)?,
        update: opt::<Update>("update", &settings.update)?,
        partition: opt::<Partition>("partition", &settings.partition)?,
        block_size: settings.block_size,
    };
    let greedy_flags = choices.rule.is_some()
        || choices.update.is_some()
        || choices.partition.is_some()
        || choices.block_size.is_some()
        || settings.rescan.is_some();
    let strategy = opt::<Strategy>("strategy", &settings.strategy)?.unwrap_or(Strategy::Auto);
    if strategy == Strategy::WorkingSet && greedy_flags {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "rule, update, partition, block_size and rescan set the greedy solver: use them with \
             strategy='greedy' (or 'auto')",
        ));
    }
    let mut method = Method::resolve(strategy, kind, glm.dim(), &choices);
    match &mut method {
        Method::WorkingSet(w) => w.newton = settings.active_set,
        Method::Greedy(b) => {
            b.active_set = settings.active_set;
            b.seed = settings.seed;
            if let Some(r) = settings.rescan {
                b.rescan = r;
            }
        }
    }
    let flag = detach::flag();
    let options = Options::default()
        .tol(tol)
        .max_iters(maxiter)
        .trace(TraceSchedule::Off)
        .interrupt(flag.clone());
    let out = detach::run(py, &flag, false, || solve(&glm, &mut method, &options))?.map_err(err)?;
    let c = glm.classes();
    let features = glm.design().ncols() - usize::from(intercept);
    let coef = out.x[..features * c].to_vec();
    let icpt = if intercept {
        out.x[features * c..].to_vec()
    } else {
        Vec::new()
    };
    let report = json(&serde_json::json!({
        "report": out.report,
        "lambda": built.lambda,
        "lambda_max": built.lambda_max,
        "class_labels": glm.class_labels(),
        "classes": c,
        "coordinate_updates": out.coordinate_updates,
        "method": method.name::<solvent::problems::bcd::Glm>(),
    }))?;
    Ok((coef.into_pyarray(py), icpt, report))
}
