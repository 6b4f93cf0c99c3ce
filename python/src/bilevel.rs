//! `bilevel`: first-order bilevel methods on Python oracles, or on the built-in problems.

use crate::convert::{err, json, parse, value_err};
use crate::detach;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use solvent::problems::bilevel::{Batch, Bilevel, QuadraticBilevel, QuadraticConfig, Set, ToyBilevel};
use solvent::solvers::bilevel::{BilevelSolver, Method, Sigma};
use solvent::solvers::{run, Options, TraceSchedule};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One oracle's answer at a point: value, ∇ₓ, ∇_y.
#[derive(Clone)]
struct Answer {
    x: Vec<f64>,
    y: Vec<f64>,
    value: f64,
    gx: Vec<f64>,
    gy: Vec<f64>,
}

/// A Python callable `h(x, y) -> (value, grad_x, grad_y)`, asked at most once per
/// point (the methods ask for the value and the two gradients separately).
struct Oracle {
    name: &'static str,
    h: Py<PyAny>,
    last: Mutex<Option<Answer>>,
}

/// A bilevel problem whose f and g are Python callables.
struct PyBilevel {
    f: Oracle,
    g: Oracle,
    dim_x: usize,
    dim_y: usize,
    x_set: Set,
    y_set: Set,
    /// The first exception an oracle raised (the run is then stopped through `stop`).
    raised: Mutex<Option<PyErr>>,
    stop: Arc<AtomicBool>,
}

impl PyBilevel {
    fn ask(&self, which: &Oracle, x: &[f64], y: &[f64]) -> Answer {
        let failed = Answer {
            x: x.to_vec(),
            y: y.to_vec(),
            value: f64::NAN,
            gx: vec![0.0; self.dim_x],
            gy: vec![0.0; self.dim_y],
        };
        if self.stop.load(Ordering::Relaxed) {
            // an oracle raised (or Ctrl-C): no more Python calls until the run stops
            return failed;
        }
        if let Ok(last) = which.last.lock() {
            if let Some(a) = last.as_ref().filter(|a| a.x == x && a.y == y) {
                return a.clone();
            }
        }
        let answer = Python::attach(|py| -> PyResult<Answer> {
            let out = which
                .h
                .bind(py)
                .call1((PyArray1::from_slice(py, x), PyArray1::from_slice(py, y)))?;
            let (value, gx, gy): (f64, PyReadonlyArray1<'_, f64>, PyReadonlyArray1<'_, f64>) =
                out.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "{}(x, y) must return (value, grad_x, grad_y) with float64 arrays",
                        which.name
                    ))
                })?;
            let gx = gx.as_slice()?.to_vec();
            let gy = gy.as_slice()?.to_vec();
            if gx.len() != self.dim_x || gy.len() != self.dim_y {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "{}(x, y) returned gradients of lengths {} and {}; x has {} entries and y {}",
                    which.name,
                    gx.len(),
                    gy.len(),
                    self.dim_x,
                    self.dim_y
                )));
            }
            Ok(Answer {
                x: x.to_vec(),
                y: y.to_vec(),
                value,
                gx,
                gy,
            })
        });
        match answer {
            Ok(a) => {
                if let Ok(mut last) = which.last.lock() {
                    *last = Some(a.clone());
                }
                a
            }
            Err(e) => {
                if let Ok(mut slot) = self.raised.lock() {
                    slot.get_or_insert(e);
                }
                self.stop.store(true, Ordering::Relaxed);
                failed
            }
        }
    }
}

impl Bilevel for PyBilevel {
    fn dim_x(&self) -> usize {
        self.dim_x
    }
    fn dim_y(&self) -> usize {
        self.dim_y
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        self.ask(&self.f, x, y).value
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        self.ask(&self.g, x, y).value
    }
    fn grad_f_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out.copy_from_slice(&self.ask(&self.f, x, y).gx);
    }
    fn grad_f_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out.copy_from_slice(&self.ask(&self.f, x, y).gy);
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out.copy_from_slice(&self.ask(&self.g, x, y).gx);
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        out.copy_from_slice(&self.ask(&self.g, x, y).gy);
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
}

/// The method's settings.
#[derive(FromPyObject)]
pub struct BilevelSettings {
    method: String,
    sigma: Option<f64>,
    sigma_min: Option<f64>,
    step: Option<f64>,
    seed: u64,
    tol: f64,
    maxiter: Option<usize>,
}

impl BilevelSettings {
    fn solver(&self, start: Option<(Vec<f64>, Vec<f64>)>) -> PyResult<(BilevelSolver, usize)> {
        let method = parse::<Method>("method", &self.method)?;
        let mut s = BilevelSolver::new(method);
        if let Some(sigma) = self.sigma {
            s.sigma = Sigma::Fixed(sigma);
        }
        if let Some(min) = self.sigma_min {
            s.sigma = Sigma::Geometric {
                start: self.sigma.unwrap_or(1e-1),
                factor: 0.5,
                min,
            };
        }
        s.step = self.step;
        s.seed = self.seed;
        s.start = start;
        // the CLI's defaults: the single loop takes many cheap steps
        let default_iters = if method == Method::PenaltySingleLoop {
            500_000
        } else {
            1000
        };
        Ok((s, self.maxiter.unwrap_or(default_iters)))
    }
}

fn set(what: &str, bounds: Option<(Vec<f64>, Vec<f64>)>, dim: usize) -> PyResult<Set> {
    match bounds {
        None => Ok(Set::Free),
        Some((lo, hi)) => {
            let s = Set::Box { lo, hi };
            s.validate(dim, what).map_err(|e| value_err(what, e))?;
            Ok(s)
        }
    }
}

type Solved<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, String);

fn solve<'py, P: Bilevel>(
    py: Python<'py>,
    p: &P,
    settings: &BilevelSettings,
    start: Option<(Vec<f64>, Vec<f64>)>,
    flag: Arc<AtomicBool>,
    extra: serde_json::Value,
) -> PyResult<Solved<'py>> {
    let (mut solver, maxiter) = settings.solver(start)?;
    let options = Options::default()
        .tol(settings.tol)
        .max_iters(maxiter)
        .trace(TraceSchedule::Off)
        .interrupt(flag.clone());
    let out = detach::run(py, &flag, false, || run(p, &mut solver, &options))?.map_err(err)?;
    let report = json(&serde_json::json!({
        "report": out.report,
        "calls": out.state.calls,
        "lower_residual": out.state.lower_residual,
        "details": extra,
    }))?;
    Ok((out.state.x.into_pyarray(py), out.state.y.into_pyarray(py), report))
}

/// Solves min_x f(x, y*(x)), y*(x) = argmin_y g(x, y), with f and g Python callables
/// returning `(value, grad_x, grad_y)`, from (x0, y0), optionally in boxes.
#[pyfunction]
#[pyo3(signature = (f, g, x0, y0, x_bounds, y_bounds, settings))]
#[allow(clippy::too_many_arguments)]
pub fn bilevel_callables<'py>(
    py: Python<'py>,
    f: Py<PyAny>,
    g: Py<PyAny>,
    x0: Vec<f64>,
    y0: Vec<f64>,
    x_bounds: Option<(Vec<f64>, Vec<f64>)>,
    y_bounds: Option<(Vec<f64>, Vec<f64>)>,
    settings: BilevelSettings,
) -> PyResult<Solved<'py>> {
    let (dim_x, dim_y) = (x0.len(), y0.len());
    if dim_x == 0 || dim_y == 0 {
        return Err(value_err("x0, y0", "both must have at least one entry"));
    }
    if x0.iter().chain(&y0).any(|v| !v.is_finite()) {
        return Err(value_err("x0, y0", "must be finite"));
    }
    let flag = detach::flag();
    let p = PyBilevel {
        f: Oracle {
            name: "f",
            h: f,
            last: Mutex::new(None),
        },
        g: Oracle {
            name: "g",
            h: g,
            last: Mutex::new(None),
        },
        dim_x,
        dim_y,
        x_set: set("x_bounds", x_bounds, dim_x)?,
        y_set: set("y_bounds", y_bounds, dim_y)?,
        raised: Mutex::new(None),
        stop: flag.clone(),
    };
    let out = solve(py, &p, &settings, Some((x0, y0)), flag, serde_json::Value::Null);
    if let Some(e) = p.raised.lock().ok().and_then(|mut s| s.take()) {
        return Err(e);
    }
    out
}

/// A built-in problem by name: `toy` (the nonconvex toy, x ∈ [0, 3]) or `quadratic`
/// (random, with a closed form; `dim = (dim_x, dim_y)`).
#[pyfunction]
#[pyo3(signature = (name, x0, dim, condition, settings))]
pub fn bilevel_builtin<'py>(
    py: Python<'py>,
    name: &str,
    x0: Option<Vec<f64>>,
    dim: (usize, usize),
    condition: f64,
    settings: BilevelSettings,
) -> PyResult<Solved<'py>> {
    let flag = detach::flag();
    match name {
        "toy" => {
            let p = ToyBilevel::default();
            let start = x0.map(|x| {
                let y = x.iter().map(|v| -v).collect();
                (x, y)
            });
            if let Some((x, _)) = &start {
                if x.len() != 1 {
                    return Err(value_err("x0", "the toy problem has one upper variable"));
                }
            }
            solve(py, &p, &settings, start, flag, serde_json::Value::Null)
        }
        "quadratic" => {
            let q = QuadraticBilevel::generate(&QuadraticConfig {
                dim_x: dim.0,
                dim_y: dim.1,
                condition,
                seed: settings.seed,
                ..QuadraticConfig::default()
            })
            .map_err(|e| value_err("quadratic", e))?;
            let (xs, ys) = q.closed_form();
            let start = match x0 {
                Some(x) => {
                    if x.len() != dim.0 {
                        return Err(value_err("x0", format!("must have {} entries", dim.0)));
                    }
                    let y = q.lower_solution(&x);
                    Some((x, y))
                }
                None => None,
            };
            let extra = serde_json::json!({ "closed_form_x": xs, "closed_form_y": ys });
            solve(py, &q, &settings, start, flag, extra)
        }
        other => Err(value_err(
            "problem",
            format!("unknown built-in problem `{other}` (toy, quadratic)"),
        )),
    }
}
