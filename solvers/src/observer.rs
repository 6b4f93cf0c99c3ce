//! Observers: progress display and trace writers, fed by the run loop.

use crate::error::{Result, SolverError};
use crate::options::Options;
use crate::report::{Report, TraceSample};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

/// Receives events from the run loop. Every method has an empty default.
pub trait Observer {
    /// The run begins.
    fn on_start(&mut self, _solver: &str, _options: &Options) {}
    /// An iteration finished, with the solver's cheap estimate.
    fn on_iteration(&mut self, _iteration: usize, _estimate: Option<f64>) {}
    /// A trace sample was taken.
    fn on_sample(&mut self, _sample: &TraceSample) {}
    /// The run ended.
    fn on_finish(&mut self, _report: &Report) {}
}

/// An indicatif progress bar on standard error (hidden when standard error
/// is not a terminal), showing iterations and the latest measure.
pub struct ProgressObserver {
    bar: ProgressBar,
}

impl ProgressObserver {
    /// A bar that draws only when standard error is a terminal.
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{elapsed_precise}] {pos}/{len} it  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { bar }
    }
}

impl Default for ProgressObserver {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for ProgressObserver {
    fn on_start(&mut self, solver: &str, options: &Options) {
        self.bar.set_prefix(solver.to_string());
        self.bar.set_length(options.get_max_iters() as u64);
    }
    fn on_iteration(&mut self, iteration: usize, estimate: Option<f64>) {
        if iteration.is_multiple_of(16) {
            self.bar.set_position(iteration as u64);
            if let Some(e) = estimate {
                self.bar.set_message(format!("measure {e:.2e}"));
            }
        }
    }
    fn on_finish(&mut self, _report: &Report) {
        self.bar.finish_and_clear();
    }
}

/// Writes each trace sample as one JSON line (`{"event":"sample",…}`) and
/// the report as a final line (`{"event":"finish",…}`). Write errors do not
/// stop the solve; the first is kept and returned by [`Self::finish`].
pub struct JsonLinesObserver<W: Write> {
    out: W,
    error: Option<std::io::Error>,
}

impl<W: Write> JsonLinesObserver<W> {
    /// Wraps a writer (buffer it: one line per sample).
    pub fn new(out: W) -> Self {
        Self { out, error: None }
    }
    fn line(&mut self, value: serde_json::Value) {
        if self.error.is_some() {
            return;
        }
        let r = serde_json::to_writer(&mut self.out, &value)
            .map_err(std::io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
        if let Err(e) = r {
            self.error = Some(e);
        }
    }
    /// Flushes and returns the writer, or the first write error.
    pub fn finish(mut self) -> Result<W> {
        if let Some(e) = self.error.take() {
            return Err(SolverError::Io {
                what: "JSON-lines trace".into(),
                source: e,
            });
        }
        self.out.flush().map_err(|e| SolverError::Io {
            what: "JSON-lines trace".into(),
            source: e,
        })?;
        Ok(self.out)
    }
}

impl<W: Write> Observer for JsonLinesObserver<W> {
    fn on_start(&mut self, solver: &str, options: &Options) {
        self.line(serde_json::json!({"event": "start", "solver": solver, "tol": options.get_tol()}));
    }
    fn on_sample(&mut self, sample: &TraceSample) {
        let mut v = serde_json::to_value(sample).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("event".into(), "sample".into());
        }
        self.line(v);
    }
    fn on_finish(&mut self, report: &Report) {
        let mut v = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("trace");
            o.insert("event".into(), "finish".into());
        }
        self.line(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::krylov::Cg;
    use crate::{run_observed, Options, TraceSchedule};
    use solvent_problems::{generators::poisson2d, LinearSystemProblem};

    #[test]
    fn json_lines_trace_holds_every_sample_and_the_report() {
        let p = LinearSystemProblem::with_ones_solution(poisson2d(16).unwrap()).unwrap();
        let mut obs = JsonLinesObserver::new(Vec::new());
        let mut bar = ProgressObserver::new();
        let out = run_observed(
            &p,
            &mut Cg::new(),
            &Options::default().tol(1e-10).trace(TraceSchedule::Every(3)),
            &mut [&mut obs, &mut bar],
        )
        .unwrap();
        let text = String::from_utf8(obs.finish().unwrap()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.first().unwrap()["event"], "start");
        let last = lines.last().unwrap();
        assert_eq!(last["event"], "finish");
        assert_eq!(last["iterations"], out.report.iterations);
        let samples: Vec<_> = lines.iter().filter(|l| l["event"] == "sample").collect();
        assert_eq!(samples.len(), out.report.trace.len());
        for (s, t) in samples.iter().zip(&out.report.trace) {
            assert_eq!(s["iteration"], t.iteration);
            // serde_json parses floats to within one ulp
            let v = s["metrics"]["value"].as_f64().unwrap();
            assert!((v - t.metrics.value).abs() <= 1e-15 * t.metrics.value.abs());
        }
        // every third iteration plus start and end
        assert!(out
            .report
            .trace
            .iter()
            .skip(1)
            .rev()
            .skip(1)
            .all(|s| s.iteration % 3 == 0));
    }
}
