//! Solvent's own solvers on a suite's problems, through the library and the shared run
//! loop, whose trace times exclude the measurements:
//!
//! - `bcd` on `lasso` and `l1-logistic` (parameters `strategy`, `rule`, `update`, `partition`,
//!   `block_size`, as `solvent bcd`), stopped at a duality gap of target / 100;
//! - `sequence` on `sequence` (parameters `strategy`, `precond`, `restart`, `recycle`,
//!   `jobs`, as `solvent solve-seq`): one trace point per system, in solve order;
//! - `altmin` and `als` on `completion` (parameters `rank`, `reg`, `sweeps`);
//! - `penalty`, `f2sa`, `aid` on `bilevel` (parameters `sigma`, `max_iters`), stopped at
//!   a projected hypergradient of `target`; the value is the upper objective;
//! - `allocate` on `allocation` (parameter `method`: dp, lagrange, uniform, …, as
//!   `solvent allocate`): one point, the summed distortion, timed by the library.

use super::problems::Made;
use super::suite::{plain, SolverConfig};
use super::trace::{Point, RunStatus, RunTrace};
use solvent_linalg::Named;
use solvent_problems::bcd::CoordinateProblem;
use solvent_solvers::allocation::{allocate, AllocateRequest, AllocationMethod, Budget};
use solvent_solvers::bcd::{BcdChoices, Method, Partition, Rule, Strategy as BcdStrategy, Update};
use solvent_solvers::bilevel::{BilevelSolver, Method as BilevelMethod, Sigma};
use solvent_solvers::completion::{Completion, CompletionConfig};
use solvent_solvers::sequence::{
    plan_sequence, solve_sequence, SamplerSource, SequenceConfig, Strategy, SystemSource,
};
use solvent_solvers::{Criterion, Options, Report, Status, TraceSample, TraceSchedule};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The Solvent solvers each kind has.
pub fn solvers_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "lasso" | "l1-logistic" | "ls" | "logistic" => &["bcd"],
        "allocation" => &["allocate"],
        "bilevel" => &["penalty", "f2sa", "aid"],
        "sequence" => &["sequence"],
        "completion" => &["altmin", "als"],
        _ => &[],
    }
}

fn param<T: Named>(p: &BTreeMap<String, toml::Value>, key: &str) -> Result<Option<T>, String> {
    p.get(key).map(|v| T::parse_or_list(&plain(v))).transpose()
}

fn int(p: &BTreeMap<String, toml::Value>, key: &str) -> Result<Option<usize>, String> {
    p.get(key)
        .map(|v| {
            v.as_integer()
                .filter(|&i| i > 0)
                .map(|i| i as usize)
                .ok_or_else(|| format!("`{key}` must be a positive integer, got {v}"))
        })
        .transpose()
}

fn float(p: &BTreeMap<String, toml::Value>, key: &str) -> Result<Option<f64>, String> {
    p.get(key)
        .map(|v| {
            v.as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| format!("`{key}` must be a number, got {v}"))
        })
        .transpose()
}

fn check_keys(p: &BTreeMap<String, toml::Value>, keys: &[&str], solver: &str) -> Result<(), String> {
    match p.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "solver `{solver}`: unknown parameter `{k}` (known: {})",
            keys.join(", ")
        )),
        None => Ok(()),
    }
}

fn status_of(s: &Status) -> RunStatus {
    match s {
        Status::TimeLimit { .. } | Status::Interrupted => RunStatus::Timeout,
        _ => RunStatus::Ok,
    }
}

/// Runs Solvent's solver `config` on `made` with the suite's `target` and `timeout`.
pub fn run(config: &SolverConfig, made: &Made, target: f64, timeout: f64) -> RunTrace {
    match run_inner(config, made, target, timeout) {
        Ok(t) => t,
        Err(e) => RunTrace::without_trace(RunStatus::Failed, e),
    }
}

fn run_inner(config: &SolverConfig, made: &Made, target: f64, timeout: f64) -> Result<RunTrace, String> {
    let name = config.spec.solver.as_deref().unwrap_or_default();
    let p = &config.params;
    let limit = Duration::from_secs_f64(timeout);
    let version = env!("CARGO_PKG_VERSION").to_string();
    match (name, made) {
        ("bcd", Made::Glm { built, kind, .. }) => {
            check_keys(
                p,
                &["strategy", "rule", "update", "partition", "block_size"],
                name,
            )?;
            let choices = BcdChoices {
                rule: param::<Rule>(p, "rule")?,
                update: param::<Update>(p, "update")?,
                partition: param::<Partition>(p, "partition")?,
                block_size: int(p, "block_size")?,
            };
            let glm = &built.glm;
            let strategy = param::<BcdStrategy>(p, "strategy")?.unwrap_or(BcdStrategy::Auto);
            let method = Method::resolve(strategy, *kind, glm.dim(), &choices);
            // the run is scored on relative suboptimality; stopping at a gap 100x below
            // the target leaves room for objectives below 1 (the trace says when the
            // target itself was reached)
            let options = Options::default()
                .tol(target * 1e-2)
                .max_iters(usize::MAX / 2)
                .time_limit(limit)
                .trace(TraceSchedule::Geometric(1.1));
            let report = match method {
                Method::WorkingSet(mut w) => solvent_solvers::run(glm, &mut w, &options).map(|o| o.report),
                Method::Greedy(mut b) => solvent_solvers::run(glm, &mut b, &options).map(|o| o.report),
            }
            .map_err(|e| e.to_string())?;
            Ok(from_report(
                &report,
                format!("solvent bcd ({})", report.solver),
                version,
                |t| t.metrics.objective.unwrap_or(f64::NAN),
                |t| (t.metrics.criterion == Criterion::DualityGap).then_some(t.metrics.value),
            ))
        }
        ("sequence", Made::Sequence { sampler, count, tol }) => {
            let source = SamplerSource::new((**sampler).clone(), *count);
            sequence_run(p, name, &source, *tol, limit, version)
        }
        ("sequence", Made::Files { source, tol, .. }) => {
            sequence_run(p, name, &**source, *tol, limit, version)
        }
        ("altmin" | "als", Made::Completion(problem)) => {
            check_keys(p, &["rank", "reg", "sweeps"], name)?;
            let rank = int(p, "rank")?.unwrap_or(5);
            let mut cfg = if name == "als" {
                CompletionConfig::als(rank)
            } else {
                CompletionConfig::altmin(rank)
            };
            cfg.reg = float(p, "reg")?.unwrap_or(0.0);
            let options = Options::default()
                .tol(f64::MIN_POSITIVE)
                .max_iters(int(p, "sweeps")?.unwrap_or(20))
                .time_limit(limit)
                .trace(TraceSchedule::Every(1));
            let out = solvent_solvers::run(&**problem, &mut Completion::new(cfg), &options)
                .map_err(|e| e.to_string())?;
            Ok(from_report(
                &out.report,
                format!("solvent {name}"),
                version,
                |t| t.metrics.extra.get("test_rmse").copied().unwrap_or(f64::NAN),
                |_| None,
            ))
        }
        ("penalty" | "f2sa" | "aid", Made::Bilevel(problem)) => {
            check_keys(p, &["sigma", "max_iters"], name)?;
            let method = BilevelMethod::parse_or_list(name)?;
            let mut solver = BilevelSolver::new(method);
            if let Some(sigma) = float(p, "sigma")? {
                solver.sigma = Sigma::Fixed(sigma);
            }
            let options = Options::default()
                .tol(target)
                .max_iters(int(p, "max_iters")?.unwrap_or(100_000))
                .time_limit(limit)
                .trace(TraceSchedule::Geometric(1.1));
            let out = solvent_solvers::run(&**problem, &mut solver, &options).map_err(|e| e.to_string())?;
            Ok(from_report(
                &out.report,
                format!("solvent bilevel ({name})"),
                version,
                |t| t.metrics.objective.unwrap_or(f64::NAN),
                |_| None,
            ))
        }
        ("allocate", Made::Allocation { table, budget }) => {
            check_keys(p, &["method"], name)?;
            let method = param::<AllocationMethod>(p, "method")?.unwrap_or(AllocationMethod::Dp);
            let out = allocate(table, AllocateRequest::new(method, Budget::Fraction(*budget)))
                .map_err(|e| e.to_string())?;
            Ok(RunTrace {
                solver: format!("solvent allocate ({})", method.as_str()),
                version,
                status: RunStatus::Ok,
                reason: String::new(),
                trace: vec![Point {
                    time_s: out.solve_s,
                    iterations: 1,
                    value: out.total_distortion,
                    gap: Some(out.gap),
                }],
            })
        }
        (other, _) => Err(format!(
            "solver `{}`: Solvent has no `{other}` for this problem",
            config.spec.name
        )),
    }
}

/// Solver `sequence` on the systems of `source` (generated or read from a directory): one
/// trace point per system, the run stopped at `limit`.
fn sequence_run(
    p: &BTreeMap<String, toml::Value>,
    name: &str,
    source: &dyn SystemSource,
    tol: f64,
    limit: Duration,
    version: String,
) -> Result<RunTrace, String> {
    check_keys(p, &["strategy", "precond", "restart", "recycle", "jobs"], name)?;
    let mut seq = SequenceConfig {
        strategy: param::<Strategy>(p, "strategy")?.unwrap_or(Strategy::Auto),
        precond: param(p, "precond")?,
        chains: int(p, "jobs")?.unwrap_or(1),
        device: solvent_solvers::policy::Device::Cpu,
        ..SequenceConfig::default()
    };
    if let Some(r) = int(p, "restart")? {
        seq.restart = r;
    }
    if let Some(r) = int(p, "recycle")? {
        seq.recycle = Some(r);
    }
    let plan = plan_sequence(source, &seq).map_err(|e| e.to_string())?;
    // the time limit stops the sequence between (or inside) systems
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            while t0.elapsed() < limit && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let options = Options::default()
        .tol(tol)
        .max_iters(20_000)
        .interrupt(stop.clone());
    let mut points = Vec::new();
    let (mut time, mut its) = (0.0, 0u64);
    let result = solve_sequence(source, &plan, &options, &mut |rec, _| {
        // one chain: in solve order; several: the chains interleaved (the time is
        // then the summed per-system time, not the wall time)
        time += rec.setup_s + rec.solve_s;
        its += rec.iterations as u64;
        points.push(Point {
            time_s: time,
            iterations: its,
            value: rec.relres,
            gap: None,
        });
        Ok(())
    });
    let timed_out = stop.swap(true, Ordering::Relaxed);
    let _ = timer.join();
    let report = result.map_err(|e| e.to_string())?;
    let complete =
        report.systems.len() == source.len() && report.systems.iter().all(|r| r.relres.is_finite());
    Ok(RunTrace {
        solver: format!("solvent sequence ({})", report.plan.reason),
        version,
        status: if timed_out && !complete {
            RunStatus::Timeout
        } else {
            RunStatus::Ok
        },
        reason: String::new(),
        trace: points,
    })
}

/// A run's trace from the run loop's report: one point per trace sample, its value and
/// gap read by `value` and `gap`.
fn from_report(
    report: &Report,
    solver: String,
    version: String,
    value: impl Fn(&TraceSample) -> f64,
    gap: impl Fn(&TraceSample) -> Option<f64>,
) -> RunTrace {
    RunTrace {
        solver,
        version,
        status: status_of(&report.status),
        reason: String::new(),
        trace: report
            .trace
            .iter()
            .map(|t| Point {
                time_s: t.time_s,
                iterations: t.iteration as u64,
                value: value(t),
                gap: gap(t),
            })
            .collect(),
    }
}
