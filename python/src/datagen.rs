//! `datagen`: a neural-operator data set as NumPy arrays (the npz file's keys, dtypes
//! and shapes), or one piece of it.

use crate::convert::{err, json, parse};
use crate::detach;
use crate::linear::SeqSettings;
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use solvent::problems::generators::PdeFamily;
use solvent::solvers::datagen::{generate_interruptible, DatagenConfig, Precision};
use solvent::solvers::sequence::{SequenceProgress, SystemRecord};
use std::path::PathBuf;

/// Progress on standard error, when asked for.
struct Stderr {
    on: bool,
    label: String,
    total: usize,
    done: usize,
}

impl SequenceProgress for Stderr {
    fn start(&mut self, label: &str, total: usize) {
        self.label = label.to_string();
        self.total = total;
        self.done = 0;
    }
    fn system(&mut self, _record: &SystemRecord) {
        self.done += 1;
        if self.on {
            eprint!("\rdatagen {}: {}/{} systems", self.label, self.done, self.total);
        }
    }
    fn finish(&mut self) {
        if self.on {
            eprintln!();
        }
    }
}

/// Generates the data set (or piece `shard = (i, R)` of it). Returns a dict of arrays
/// with the npz file's keys (`coeff`, `sol` of shape (K, N, N), or (K, N, N, N) for the 3-D
/// families, in `precision`, `iters`, `relres`, `solve_s`, `x`, `y` (and `z` in 3-D), the
/// family's scalar, `index` for a piece,
/// `metadata` as JSON text) and the report as JSON; writes `out` too when given.
#[pyfunction]
#[pyo3(signature = (family, grid, count, seed, settings, tol, maxiter, precision, published, baseline, shard, out, progress))]
#[allow(clippy::too_many_arguments)]
pub fn datagen<'py>(
    py: Python<'py>,
    family: &str,
    grid: usize,
    count: usize,
    seed: u64,
    settings: SeqSettings,
    tol: f64,
    maxiter: usize,
    precision: &str,
    published: bool,
    baseline: bool,
    shard: Option<(usize, usize)>,
    out: Option<PathBuf>,
    progress: bool,
) -> PyResult<(Bound<'py, PyDict>, String)> {
    let precision = parse::<Precision>("precision", precision)?;
    let family = parse::<PdeFamily>("family", family)?;
    let config = DatagenConfig {
        seed,
        sequence: settings.config()?,
        tol,
        max_iters: maxiter,
        baseline,
        precision,
        published,
        shard,
        ..DatagenConfig::new(family, grid, count)
    };
    config.validate().map_err(err)?;
    if let Some(path) = &out {
        solvent::solvers::datagen::check_output(path, count, grid, family.dim(), precision).map_err(err)?;
    }
    let flag = detach::flag();
    let mut bar = Stderr {
        on: progress,
        label: String::new(),
        total: 0,
        done: 0,
    };
    let made = detach::run(py, &flag, false, || -> solvent::solvers::Result<_> {
        let made = generate_interruptible(&config, &mut bar, Some(flag.clone()))?;
        // an interrupted run writes nothing (KeyboardInterrupt is raised instead)
        if let Some(path) = out
            .as_ref()
            .filter(|_| !flag.load(std::sync::atomic::Ordering::Relaxed))
        {
            made.dataset.write(path, precision)?;
        }
        Ok(made)
    })?
    .map_err(err)?;
    let d = &made.dataset;
    let shape = d.field_shape();
    let dict = PyDict::new(py);
    match precision {
        Precision::F32 => {
            let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            dict.set_item("coeff", f(&d.coeff).into_pyarray(py).reshape(shape.clone())?)?;
            dict.set_item("sol", f(&d.sol).into_pyarray(py).reshape(shape)?)?;
        }
        Precision::F64 => {
            dict.set_item("coeff", d.coeff.clone().into_pyarray(py).reshape(shape.clone())?)?;
            dict.set_item("sol", d.sol.clone().into_pyarray(py).reshape(shape)?)?;
        }
    }
    dict.set_item("iters", d.iters.clone().into_pyarray(py))?;
    dict.set_item("relres", d.relres.clone().into_pyarray(py))?;
    dict.set_item("solve_s", d.solve_s.clone().into_pyarray(py))?;
    dict.set_item("x", d.coordinates().into_pyarray(py))?;
    dict.set_item("y", d.coordinates().into_pyarray(py))?;
    if d.dim == 3 {
        dict.set_item("z", d.coordinates().into_pyarray(py))?;
    }
    if let Some((name, v)) = &d.scalar {
        dict.set_item(name, v.clone().into_pyarray(py))?;
    }
    if let Some(index) = &d.index {
        dict.set_item("index", index.clone().into_pyarray(py))?;
    }
    dict.set_item("metadata", d.metadata.to_string())?;
    let report = json(&serde_json::json!({
        "report": made.report,
        "baseline": made.baseline,
        "speedup": made.speedup(),
        "wall_s": made.wall_s,
    }))?;
    Ok((dict, report))
}
