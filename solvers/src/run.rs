//! The one run loop every solver goes through.

use crate::error::Result;
use crate::metrics::Metrics;
use crate::observer::Observer;
use crate::options::{Options, TraceSchedule};
use crate::report::{Report, TraceSample};
use crate::solver::{Solver, Step};
use crate::status::Status;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The final state (holding the solution) and the report of a run.
#[derive(Debug)]
pub struct RunOutput<S> {
    /// The solver state at the end; the iterate is up to date.
    pub state: S,
    /// What happened.
    pub report: Report,
}

/// Runs `solver` on `problem` under `options`, without observers.
pub fn run<P: ?Sized, S: Solver<P>>(
    problem: &P,
    solver: &mut S,
    options: &Options,
) -> Result<RunOutput<S::State>> {
    run_observed(problem, solver, options, &mut [])
}

/// Clock that separates solver time from time spent measuring.
struct Clock {
    start: Instant,
    excluded: Duration,
}

impl Clock {
    fn solver_time(&self) -> Duration {
        self.start.elapsed().saturating_sub(self.excluded)
    }
    fn measure<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let v = f();
        self.excluded += t.elapsed();
        v
    }
}

/// Decides which iterations are sampled into the trace.
struct Sampler {
    schedule: TraceSchedule,
    next: f64,
}

impl Sampler {
    fn due(&mut self, it: usize) -> bool {
        match self.schedule {
            TraceSchedule::Off => false,
            TraceSchedule::Every(k) => it.is_multiple_of(k),
            TraceSchedule::Geometric(f) => {
                if it <= 10 {
                    return true;
                }
                if it as f64 >= self.next {
                    self.next = (it as f64 * f).max(it as f64 + 1.0);
                    return true;
                }
                false
            }
        }
    }
}

/// Runs `solver` on `problem`, reporting to `observers`.
///
/// Stopping rules, in order each iteration: interruption, iteration limit,
/// time limit, then after the step: breakdown, divergence (non-finite or
/// `divergence_factor` × the starting measure), stall, and convergence. A
/// cheap estimate at or below the tolerance is verified with
/// [`Solver::metrics`]; if the true measure disagrees, the estimate threshold
/// is tightened by the observed ratio so verification stays rare.
pub fn run_observed<P: ?Sized, S: Solver<P>>(
    problem: &P,
    solver: &mut S,
    options: &Options,
    observers: &mut [&mut dyn Observer],
) -> Result<RunOutput<S::State>> {
    options.validate()?;
    let wall = Instant::now();
    let name = solver.name();
    for o in observers.iter_mut() {
        o.on_start(&name, options);
    }
    let mut clock = Clock {
        start: Instant::now(),
        excluded: Duration::ZERO,
    };
    let mut state = solver.init(problem)?;
    let mut trace = Vec::new();
    let mut sampler = Sampler {
        schedule: options.trace,
        next: 11.0,
    };

    let record = |it: usize,
                  m: &Metrics,
                  clock: &Clock,
                  trace: &mut Vec<TraceSample>,
                  obs: &mut [&mut dyn Observer]| {
        let s = TraceSample {
            iteration: it,
            time_s: clock.solver_time().as_secs_f64(),
            metrics: m.clone(),
        };
        for o in obs.iter_mut() {
            o.on_sample(&s);
        }
        trace.push(s);
    };

    let m0 = clock.measure(|| solver.metrics(problem, &state));
    record(0, &m0, &clock, &mut trace, observers);
    let tol = options.tol;
    let initial = m0.value;
    let mut threshold = tol;
    let (mut best, mut best_iter) = (initial, 0usize);
    let mut iters = 0usize;
    let converged = |m: &Metrics| Status::Converged {
        criterion: m.criterion,
        value: m.value,
        tol,
    };

    let status = if initial <= tol {
        converged(&m0)
    } else if !initial.is_finite() {
        Status::Diverged { value: initial }
    } else {
        loop {
            if options
                .interrupt
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
            {
                break Status::Interrupted;
            }
            if iters >= options.max_iters {
                break Status::IterationLimit {
                    limit: options.max_iters,
                };
            }
            if let Some(limit) = options.time_limit {
                if clock.solver_time() >= limit {
                    break Status::TimeLimit {
                        limit_s: limit.as_secs_f64(),
                    };
                }
            }
            let step = solver.step(problem, &mut state)?;
            iters += 1;
            match step {
                Step::Breakdown(reason) => break Status::Breakdown { reason },
                Step::Finished => {
                    let m = clock.measure(|| solver.metrics(problem, &state));
                    record(iters, &m, &clock, &mut trace, observers);
                    break if m.value <= tol {
                        converged(&m)
                    } else if !m.value.is_finite() {
                        Status::Diverged { value: m.value }
                    } else {
                        Status::Stalled {
                            detail: "the solver finished above the tolerance".into(),
                        }
                    };
                }
                step @ (Step::Continue { .. } | Step::Advanced { .. }) => {
                    let (estimate, always_sample) = match step {
                        Step::Advanced { iterations, estimate } => {
                            iters += iterations.max(1) - 1;
                            (estimate, true)
                        }
                        Step::Continue { estimate } => (estimate, false),
                        _ => unreachable!("matched above"),
                    };
                    for o in observers.iter_mut() {
                        o.on_iteration(iters, estimate);
                    }
                    let sampled =
                        if sampler.due(iters) || (always_sample && options.trace != TraceSchedule::Off) {
                            let m = clock.measure(|| solver.metrics(problem, &state));
                            record(iters, &m, &clock, &mut trace, observers);
                            Some(m)
                        } else {
                            None
                        };
                    let current = estimate.or(sampled.as_ref().map(|m| m.value));
                    let Some(e) = current else { continue };
                    if !e.is_finite() || e > options.divergence_factor * initial {
                        break Status::Diverged { value: e };
                    }
                    if e < best {
                        best = e;
                        best_iter = iters;
                    } else if options.stall_iters.is_some_and(|k| iters - best_iter >= k) {
                        break Status::Stalled {
                            detail: format!("no new best measure in {} iterations", iters - best_iter),
                        };
                    }
                    if e <= threshold {
                        let m = match sampled {
                            Some(m) => m,
                            None => clock.measure(|| solver.metrics(problem, &state)),
                        };
                        if m.value <= tol {
                            break converged(&m);
                        }
                        // the estimate is optimistic by m.value / e: aim lower
                        threshold = (threshold * e / m.value).min(threshold * 0.5);
                    }
                }
            }
        }
    };
    solver.finalize(problem, &mut state)?;
    let elapsed = clock.solver_time();
    let final_metrics = clock.measure(|| solver.metrics(problem, &state));
    if trace.last().map(|s| s.iteration) != Some(iters) {
        record(iters, &final_metrics, &clock, &mut trace, observers);
    }
    let report = Report {
        solver: name,
        settings: solver.settings(),
        status,
        iterations: iters,
        elapsed_s: elapsed.as_secs_f64(),
        wall_s: wall.elapsed().as_secs_f64(),
        metrics: final_metrics,
        trace,
    };
    for o in observers.iter_mut() {
        o.on_finish(&report);
    }
    Ok(RunOutput { state, report })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Criterion;
    use crate::SolverError;

    /// x ← x/2 towards 0; the estimate lies by a factor `lie` (optimistic).
    struct Halving {
        lie: f64,
        finish_at: Option<usize>,
        breakdown_at: Option<usize>,
    }
    struct St {
        x: f64,
        k: usize,
    }
    impl Solver<()> for Halving {
        type State = St;
        fn name(&self) -> String {
            "halving".into()
        }
        fn init(&mut self, _: &()) -> Result<St> {
            Ok(St { x: 1.0, k: 0 })
        }
        fn step(&mut self, _: &(), s: &mut St) -> Result<Step> {
            s.k += 1;
            if Some(s.k) == self.breakdown_at {
                return Ok(Step::Breakdown("test".into()));
            }
            s.x *= 0.5;
            if Some(s.k) == self.finish_at {
                return Ok(Step::Finished);
            }
            Ok(Step::Continue {
                estimate: Some(s.x / self.lie),
            })
        }
        fn metrics(&self, _: &(), s: &St) -> Metrics {
            Metrics::new(Criterion::RelativeChange, s.x)
        }
    }

    #[test]
    fn converges_at_the_true_measure_even_when_the_estimate_lies() {
        for lie in [1.0, 8.0] {
            let mut s = Halving {
                lie,
                finish_at: None,
                breakdown_at: None,
            };
            let out = run(&(), &mut s, &Options::default().tol(1e-3)).unwrap();
            assert!(out.report.status.is_converged());
            // 2^-10 < 1e-3 < 2^-9
            assert_eq!(out.report.iterations, 10, "lie {lie}");
            assert!(out.report.metrics.value <= 1e-3);
        }
    }

    #[test]
    fn limits_and_breakdowns_are_reported() {
        let mut s = Halving {
            lie: 1.0,
            finish_at: None,
            breakdown_at: None,
        };
        let out = run(&(), &mut s, &Options::default().tol(1e-12).max_iters(5)).unwrap();
        assert_eq!(out.report.status, Status::IterationLimit { limit: 5 });
        assert_eq!(out.report.iterations, 5);
        assert_eq!(out.report.trace.first().unwrap().iteration, 0);
        assert_eq!(out.report.trace.last().unwrap().iteration, 5);
        let mut s = Halving {
            lie: 1.0,
            finish_at: None,
            breakdown_at: Some(3),
        };
        let out = run(&(), &mut s, &Options::default()).unwrap();
        assert!(matches!(out.report.status, Status::Breakdown { .. }));
        let mut s = Halving {
            lie: 1.0,
            finish_at: Some(2),
            breakdown_at: None,
        };
        let out = run(&(), &mut s, &Options::default()).unwrap();
        assert!(matches!(out.report.status, Status::Stalled { .. }));
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let out = run(&(), &mut s, &Options::default().interrupt(flag)).unwrap();
        assert_eq!(out.report.status, Status::Interrupted);
        assert!(matches!(
            run(&(), &mut s, &Options::default().tol(-1.0)),
            Err(SolverError::InvalidSetting { .. })
        ));
    }

    /// Estimate multiplied by `factor` each step; each step sleeps `sleep_ms`.
    struct Geometric {
        factor: f64,
        sleep_ms: u64,
    }
    impl Solver<()> for Geometric {
        type State = f64;
        fn name(&self) -> String {
            "geometric".into()
        }
        fn init(&mut self, _: &()) -> Result<f64> {
            Ok(1.0)
        }
        fn step(&mut self, _: &(), s: &mut f64) -> Result<Step> {
            std::thread::sleep(Duration::from_millis(self.sleep_ms));
            *s *= self.factor;
            Ok(Step::Continue { estimate: Some(*s) })
        }
        fn metrics(&self, _: &(), s: &f64) -> Metrics {
            Metrics::new(Criterion::RelativeChange, *s)
        }
    }

    #[test]
    fn stall_divergence_and_time_limit() {
        let out = run(
            &(),
            &mut Geometric {
                factor: 1.0,
                sleep_ms: 0,
            },
            &Options::default().stall_iters(7),
        )
        .unwrap();
        assert!(
            matches!(out.report.status, Status::Stalled { .. }),
            "{:?}",
            out.report.status
        );
        assert_eq!(out.report.iterations, 7);
        let out = run(
            &(),
            &mut Geometric {
                factor: 10.0,
                sleep_ms: 0,
            },
            &Options::default(),
        )
        .unwrap();
        assert!(matches!(out.report.status, Status::Diverged { .. }));
        assert_eq!(
            out.report.iterations, 11,
            "1e11 is the first value above 1e10 × 1"
        );
        let opts = Options::default()
            .time_limit(Duration::from_millis(30))
            .trace(TraceSchedule::Off);
        let out = run(
            &(),
            &mut Geometric {
                factor: 0.999,
                sleep_ms: 5,
            },
            &opts,
        )
        .unwrap();
        assert!(matches!(out.report.status, Status::TimeLimit { .. }));
        assert!(out.report.iterations >= 6 && out.report.elapsed_s >= 0.03);
    }

    #[test]
    fn trace_time_excludes_metric_cost() {
        struct Slow;
        impl Solver<()> for Slow {
            type State = usize;
            fn name(&self) -> String {
                "slow-metrics".into()
            }
            fn init(&mut self, _: &()) -> Result<usize> {
                Ok(0)
            }
            fn step(&mut self, _: &(), s: &mut usize) -> Result<Step> {
                *s += 1;
                Ok(Step::Continue { estimate: None })
            }
            fn metrics(&self, _: &(), s: &usize) -> Metrics {
                std::thread::sleep(Duration::from_millis(20));
                Metrics::new(Criterion::RelativeChange, 1.0 / (*s as f64 + 1.0))
            }
        }
        let out = run(
            &(),
            &mut Slow,
            &Options::default().tol(0.15).trace(TraceSchedule::Every(1)),
        )
        .unwrap();
        assert!(out.report.status.is_converged());
        assert_eq!(out.report.iterations, 6);
        // six 20 ms metric evaluations happened, none charged to the solver
        assert!(out.report.wall_s >= 0.12);
        assert!(out.report.elapsed_s < 0.05, "elapsed {}", out.report.elapsed_s);
        assert!(out.report.trace.windows(2).all(|w| w[0].time_s <= w[1].time_s));
    }
}
