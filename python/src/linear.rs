//! `solve` and `solve_sequence`: one linear system, or a sequence of them.

use crate::convert::{csr, err, json, parse, slice, value_err};
use crate::detach;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use solvent::linalg::precond::PrecondKind;
use solvent::linalg::CsrMatrix;
use solvent::problems::LinearSystemProblem;
use solvent::solvers::krylov::{solve_system, Method, SolveConfig, SolvePlan};
use solvent::solvers::policy::Device;
use solvent::solvers::sequence::{
    plan_sequence, solve_sequence, OrderKind, SequenceConfig, SequenceReport, Strategy, SystemRecord,
    SystemSource,
};
use solvent::solvers::{Options, Report, Result as SolverResult, SolverError, Status, TraceSchedule};
use std::sync::Mutex;

/// Systems with at most this many stored entries are solved on the calling thread (a
/// worker thread would cost more than the solve; Ctrl-C is honoured when it returns).
const INLINE_NNZ: usize = 20_000;

fn precond(text: &str) -> PyResult<Option<PrecondKind>> {
    match text {
        "auto" => Ok(None),
        t => parse::<PrecondKind>("precond", t).map(Some),
    }
}

fn options(tol: f64, maxiter: Option<usize>, time_limit: Option<f64>) -> PyResult<Options> {
    let mut o = Options::default().tol(tol);
    if let Some(m) = maxiter {
        o = o.max_iters(m);
    }
    if let Some(t) = crate::convert::time_limit(time_limit)? {
        o = o.time_limit(t);
    }
    o.validate().map_err(err)?;
    Ok(o)
}

/// How a run ended, by the snake-case name the JSON reports use.
pub fn status_kind(status: &Status) -> &'static str {
    match status {
        Status::Converged { .. } => "converged",
        Status::IterationLimit { .. } => "iteration_limit",
        Status::TimeLimit { .. } => "time_limit",
        Status::Interrupted => "interrupted",
        Status::Stalled { .. } => "stalled",
        Status::Diverged { .. } => "diverged",
        Status::Breakdown { .. } => "breakdown",
    }
}

/// The outcome of one solve, kept as the library's types: the fields a caller reads on
/// every call are plain getters, and the whole report is serialised only when asked for
/// (`json()`), so a small solve does not pay for it.
#[pyclass(frozen, module = "solvent._solvent")]
pub struct SolveOutcome {
    report: Report,
    plan: SolvePlan,
    setup_s: f64,
    call_s: f64,
}

#[pymethods]
impl SolveOutcome {
    /// `converged`, `iteration_limit`, `time_limit`, `interrupted`, `stalled`, `diverged`
    /// or `breakdown`.
    #[getter]
    fn status(&self) -> &'static str {
        status_kind(&self.report.status)
    }
    /// Krylov iterations (0 for a direct solve).
    #[getter]
    fn iterations(&self) -> usize {
        self.report.iterations
    }
    /// The final relative residual.
    #[getter]
    fn residual(&self) -> f64 {
        self.report.metrics.value
    }
    /// Seconds in the solver.
    #[getter]
    fn elapsed_s(&self) -> f64 {
        self.report.elapsed_s
    }
    /// Seconds analysing and building the preconditioner or factor.
    #[getter]
    fn setup_s(&self) -> f64 {
        self.setup_s
    }
    /// Seconds of the library call alone (what a Rust caller pays).
    #[getter]
    fn call_s(&self) -> f64 {
        self.call_s
    }
    /// The method that ran.
    #[getter]
    fn method(&self) -> &'static str {
        self.plan.method.as_str()
    }
    /// The preconditioner that ran.
    #[getter]
    fn precond(&self) -> &'static str {
        self.plan.precond.as_str()
    }
    /// Why the plan chose them.
    #[getter]
    fn reason(&self) -> String {
        self.plan.reason.clone()
    }
    /// The whole report as JSON: `{"report", "plan", "setup_s", "call_s"}`.
    fn json(&self) -> PyResult<String> {
        json(&serde_json::json!({
            "report": self.report,
            "plan": self.plan,
            "setup_s": self.setup_s,
            "call_s": self.call_s,
        }))
    }
}

/// Solves `A x = b` (`A` as CSR arrays). Returns `x` and the outcome.
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, n, b, method, precond, tol, maxiter, x0, restart, device, time_limit, trace))]
#[allow(clippy::too_many_arguments)]
pub fn solve_csr<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i32>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f64>,
    n: usize,
    b: PyReadonlyArray1<'py, f64>,
    method: &str,
    precond: &str,
    tol: f64,
    maxiter: Option<usize>,
    x0: Option<PyReadonlyArray1<'py, f64>>,
    restart: usize,
    device: &str,
    time_limit: Option<f64>,
    trace: bool,
) -> PyResult<(Bound<'py, PyArray1<f64>>, SolveOutcome)> {
    let a = csr("A", (n, n), &indptr, &indices, &data)?;
    let nnz = a.nnz();
    let mut problem =
        LinearSystemProblem::new(a, slice("b", &b)?.to_vec()).map_err(|e| value_err("A, b", e))?;
    if let Some(x0) = &x0 {
        problem = problem
            .with_initial_guess(slice("x0", x0)?.to_vec())
            .map_err(|e| value_err("x0", e))?;
    }
    let config = SolveConfig {
        method: parse::<Method>("method", method)?,
        precond: self::precond(precond)?,
        restart,
        device: parse::<Device>("device", device)?,
    };
    let flag = detach::flag();
    let mut opts = options(tol, maxiter, time_limit)?.interrupt(flag.clone());
    if !trace {
        opts = opts.trace(TraceSchedule::Off);
    }
    let inline = nnz <= INLINE_NNZ && config.device == Device::Cpu;
    let (out, call_s) = detach::run(py, &flag, inline, || {
        let t = std::time::Instant::now();
        let out = solve_system(&problem, &config, &opts, &mut []);
        (out, t.elapsed().as_secs_f64())
    })?;
    let out = out.map_err(err)?;
    let outcome = SolveOutcome {
        report: out.report,
        plan: out.plan,
        setup_s: out.setup_s,
        call_s,
    };
    Ok((out.x.into_pyarray(py), outcome))
}

/// A sequence whose systems come from a Python callable `get(i) -> (indptr, indices,
/// data, n, b)`, asked for on the solving thread (with the GIL taken for the call).
struct PySource {
    get: Py<PyAny>,
    count: usize,
    features: Option<Vec<Vec<f64>>>,
    /// The exception the callable raised, re-raised when the sequence stops.
    raised: Mutex<Option<PyErr>>,
}

impl PySource {
    fn fetch(&self, i: usize) -> PyResult<(CsrMatrix, Vec<f64>)> {
        Python::attach(|py| {
            let item = self.get.bind(py).call1((i,))?;
            let (indptr, indices, data, n, b): (
                PyReadonlyArray1<'_, i32>,
                PyReadonlyArray1<'_, i32>,
                PyReadonlyArray1<'_, f64>,
                usize,
                PyReadonlyArray1<'_, f64>,
            ) = item.extract()?;
            let what = format!("matrices[{i}]");
            let a = csr(&what, (n, n), &indptr, &indices, &data)?;
            Ok((a, slice(&format!("right-hand side {i}"), &b)?.to_vec()))
        })
    }
}

impl SystemSource for PySource {
    fn len(&self) -> usize {
        self.count
    }
    fn features(&self, i: usize) -> SolverResult<Vec<f64>> {
        Ok(self.features.as_ref().map(|f| f[i].clone()).unwrap_or_default())
    }
    fn system(&self, i: usize) -> SolverResult<(CsrMatrix, Vec<f64>)> {
        self.fetch(i).map_err(|e| {
            let message = Python::attach(|py| e.value(py).to_string());
            if let Ok(mut slot) = self.raised.lock() {
                slot.get_or_insert(e);
            }
            SolverError::Sequence {
                system: format!("system {i}"),
                message,
            }
        })
    }
}

/// Sequence settings as the CLI's `solve-seq` takes them.
#[derive(FromPyObject)]
pub struct SeqSettings {
    strategy: String,
    method: String,
    precond: String,
    restart: usize,
    recycle: Option<usize>,
    refresh_every: Option<usize>,
    jobs: usize,
    device: String,
}

impl SeqSettings {
    pub fn config(&self) -> PyResult<SequenceConfig> {
        Ok(SequenceConfig {
            strategy: parse::<Strategy>("strategy", &self.strategy)?,
            method: match self.method.as_str() {
                "auto" => None,
                m => Some(parse::<Method>("method", m)?),
            },
            precond: precond(&self.precond)?,
            restart: self.restart,
            recycle: self.recycle,
            refresh_every: self.refresh_every,
            chains: self.jobs,
            device: parse::<Device>("device", &self.device)?,
            ..SequenceConfig::default()
        })
    }
}

/// Solves the sequence of `count` systems `get(i)`, ordered by `features` (one row per
/// system) when given and in the given order otherwise. `on_done(index, x, record_json)`
/// is called with every solution when given; otherwise the solutions come back as a
/// `(count, n)` array. Returns `(solutions or None, report JSON)`.
#[pyfunction]
#[pyo3(signature = (get, count, features, settings, tol, maxiter, on_done, progress))]
#[allow(clippy::too_many_arguments)]
pub fn solve_sequence_source<'py>(
    py: Python<'py>,
    get: Py<PyAny>,
    count: usize,
    features: Option<Vec<Vec<f64>>>,
    settings: SeqSettings,
    tol: f64,
    maxiter: Option<usize>,
    on_done: Option<Py<PyAny>>,
    progress: bool,
) -> PyResult<(Option<Bound<'py, PyArray2<f64>>>, String)> {
    if let Some(f) = &features {
        if f.len() != count {
            return Err(value_err(
                "params",
                format!("{} rows for {count} systems", f.len()),
            ));
        }
    }
    let ordered = features.is_some();
    let source = PySource {
        get,
        count,
        features,
        raised: Mutex::new(None),
    };
    let config = settings.config()?;
    let flag = detach::flag();
    let opts = options(tol, maxiter, None)?.interrupt(flag.clone());
    let mut stored: Vec<Option<Vec<f64>>> = Vec::new();
    let keep = on_done.is_none();
    let result = detach::run(py, &flag, false, || -> SolverResult<SequenceReport> {
        let mut plan = plan_sequence(&source, &config)?;
        if !ordered {
            // without parameters there is nothing to sort by: the given order, which a
            // generator can serve
            plan.order = OrderKind::Given;
        }
        let mut done = 0usize;
        solve_sequence(&source, &plan, &opts, &mut |rec: &SystemRecord, x: &[f64]| {
            done += 1;
            if progress {
                eprint!("\rsolve_sequence: {done}/{count} systems");
            }
            if keep {
                if stored.is_empty() {
                    stored = vec![None; count];
                }
                stored[rec.index] = Some(x.to_vec());
                return Ok(());
            }
            let call = Python::attach(|py| -> PyResult<()> {
                let cb = on_done
                    .as_ref()
                    .expect("on_done is set when solutions are not kept");
                let record = json(rec)?;
                cb.bind(py)
                    .call1((rec.index, PyArray1::from_slice(py, x), record))?;
                Ok(())
            });
            call.map_err(|e| {
                let message = Python::attach(|py| e.value(py).to_string());
                if let Ok(mut slot) = source.raised.lock() {
                    slot.get_or_insert(e);
                }
                SolverError::Sequence {
                    system: format!("system {}", rec.index),
                    message: format!("on_done raised: {message}"),
                }
            })
        })
    });
    if progress {
        eprintln!();
    }
    let result = result?;
    if let Some(e) = source.raised.lock().ok().and_then(|mut s| s.take()) {
        return Err(e);
    }
    let report = result.map_err(err)?;
    let solutions = if keep && !stored.is_empty() {
        let n = stored.iter().flatten().map(Vec::len).next().unwrap_or(0);
        let mut flat = vec![f64::NAN; count * n];
        for (i, x) in stored.into_iter().enumerate() {
            if let Some(x) = x {
                flat[i * n..(i + 1) * n].copy_from_slice(&x);
            }
        }
        Some(flat.into_pyarray(py).reshape([count, n])?)
    } else {
        None
    };
    Ok((solutions, json(&report)?))
}
