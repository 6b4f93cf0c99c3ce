//! The results of a suite: one record per run (with its trace), the metrics computed
//! across runs (suboptimality against the best value any solver reached on the same
//! problem and seed, benchopt's convention; time to the target), and the files
//! `results.csv` (one row per run) and `results.jsonl` (one line per run and trace
//! point), which `--resume` reads back.

use super::trace::{Point, RunStatus, RunTrace};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One run and what it recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// `problem/solver-label/seed/rep`: the key `--resume` skips by.
    pub id: String,
    /// The problem's name.
    pub problem: String,
    /// Its kind.
    pub kind: String,
    /// The solver configuration's label (`bcd[rule=gsq]`).
    pub solver: String,
    /// Its parameters, as text.
    pub params: String,
    /// The seed the problem was made with.
    pub seed: u64,
    /// The repetition.
    pub rep: usize,
    /// What it ran and reported.
    pub run: RunTrace,
    /// Seconds the harness measured around the run (making the problem excluded; for the
    /// first external run on a problem, writing its file included).
    pub outer_s: f64,
}

/// The metrics of one run, computed against the other runs on its problem.
#[derive(Clone, Debug, Serialize)]
pub struct Scored {
    /// Per trace point, the suboptimality: (value − best) / |best| for the objectives
    /// and the test RMSE, the relative residual itself for sequences.
    pub subopt: Vec<f64>,
    /// Seconds until the suboptimality first reached the target (sequences: the time of
    /// the whole sequence, when every system reached its tolerance).
    pub time_to_target: Option<f64>,
    /// Iterations at that point.
    pub iterations_to_target: Option<u64>,
}

/// The best value reached on each (problem, seed), over every run and trace point (for
/// bilevel problems, over the runs' final points).
pub fn best_values(records: &[RunRecord]) -> HashMap<(String, u64), f64> {
    let mut best: HashMap<(String, u64), f64> = HashMap::new();
    for r in records {
        // a bilevel run's upper objective along the way is taken at inexact lower-level
        // solutions and may dip below the optimum: only the runs' final values count
        let points = if r.kind == "bilevel" {
            &r.run.trace[r.run.trace.len().saturating_sub(1)..]
        } else {
            &r.run.trace[..]
        };
        for p in points {
            if p.value.is_finite() {
                let e = best.entry((r.problem.clone(), r.seed)).or_insert(f64::INFINITY);
                *e = e.min(p.value);
            }
        }
    }
    best
}

/// Scores a run against `best` (its problem's best value) with the suite's `target`;
/// `sequence` is a sequence problem's (tolerance, number of systems).
pub fn score(r: &RunRecord, best: Option<f64>, target: f64, sequence: Option<(f64, usize)>) -> Scored {
    let t = &r.run.trace;
    if r.kind == "sequence" {
        let (tol, count) = sequence.unwrap_or((target, t.len()));
        // every system solved, each to the tolerance (a run that stopped early did not)
        let done = r.run.status == RunStatus::Ok && t.len() == count && t.iter().all(|p| p.value <= tol);
        return Scored {
            subopt: t.iter().map(|p| p.value).collect(),
            time_to_target: done.then(|| t.last().map_or(0.0, |p| p.time_s)),
            iterations_to_target: done.then(|| t.last().map_or(0, |p| p.iterations)),
        };
    }
    let subopt: Vec<f64> = match best {
        Some(b) => t
            .iter()
            .map(|p| (p.value - b).max(0.0) / b.abs().max(1e-300))
            .collect(),
        None => vec![f64::NAN; t.len()],
    };
    let hit = subopt.iter().position(|&s| s <= target);
    Scored {
        time_to_target: hit.map(|i| t[i].time_s),
        iterations_to_target: hit.map(|i| t[i].iterations),
        subopt,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:e}"))
}

/// The machine and versions every row carries.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Host name.
    pub host: String,
    /// CPU model and logical cores.
    pub cpu: String,
    /// Solvent's version.
    pub solvent: String,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        Self {
            host: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            cpu: format!("{model}, {cores} cores"),
            solvent: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Writes `results.csv` (one row per run) and `results.jsonl` (per run, a line with the
/// whole record, then one line per trace point) in `dir`, atomically.
pub fn write(
    dir: &Path,
    records: &[RunRecord],
    scores: &[Scored],
    machine: &Machine,
) -> Result<(), solvent_linalg::LinalgError> {
    solvent_linalg::io::atomic_write(&dir.join("results.csv"), |w| {
        writeln!(
            w,
            "id,problem,kind,solver,params,seed,rep,status,reason,peer,peer_version,time_s,outer_s,iterations,value,gap,final_subopt,time_to_target_s,iterations_to_target,host,cpu,solvent"
        )?;
        for (r, s) in records.iter().zip(scores) {
            let last: Option<&Point> = r.run.trace.last();
            let fields = [
                r.id.clone(),
                r.problem.clone(),
                r.kind.clone(),
                r.solver.clone(),
                r.params.clone(),
                r.seed.to_string(),
                r.rep.to_string(),
                r.run.status.as_str().to_string(),
                r.run.reason.clone(),
                r.run.solver.clone(),
                r.run.version.clone(),
                opt(last.map(|p| p.time_s)),
                format!("{:e}", r.outer_s),
                last.map_or(String::new(), |p| p.iterations.to_string()),
                opt(last.map(|p| p.value)),
                opt(last.and_then(|p| p.gap)),
                opt(s.subopt.last().copied()),
                opt(s.time_to_target),
                s.iterations_to_target.map_or(String::new(), |i| i.to_string()),
                machine.host.clone(),
                machine.cpu.clone(),
                machine.solvent.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            writeln!(w, "{}", line.join(","))?;
        }
        Ok(())
    })?;
    solvent_linalg::io::atomic_write(&dir.join("results.jsonl"), |w| {
        for (r, s) in records.iter().zip(scores) {
            // the record (with its whole trace) first, for --resume…
            serde_json::to_writer(&mut *w, &serde_json::json!({ "record": r }))?;
            writeln!(w)?;
            // …then one flat line per point
            for (p, sub) in r.run.trace.iter().zip(&s.subopt) {
                let row = serde_json::json!({
                    "id": r.id, "problem": r.problem, "solver": r.solver, "seed": r.seed, "rep": r.rep,
                    "status": r.run.status.as_str(), "time_s": p.time_s, "iterations": p.iterations,
                    "value": p.value, "gap": p.gap, "subopt": sub,
                    "host": machine.host, "cpu": machine.cpu, "solvent": machine.solvent,
                });
                serde_json::to_writer(&mut *w, &row)?;
                writeln!(w)?;
            }
        }
        Ok(())
    })
}

/// The runs recorded in `dir/results.jsonl` by an earlier invocation (for `--resume`);
/// none when there is no such file.
pub fn read_previous(dir: &Path) -> Vec<RunRecord> {
    let Ok(text) = std::fs::read_to_string(dir.join("results.jsonl")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("record").cloned())
        .filter_map(|r| serde_json::from_value(r).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence_run(values: &[f64], status: RunStatus) -> RunRecord {
        RunRecord {
            id: "p/s/seed0/rep0".into(),
            problem: "p".into(),
            kind: "sequence".into(),
            solver: "s".into(),
            params: String::new(),
            seed: 0,
            rep: 0,
            run: RunTrace {
                solver: String::new(),
                version: String::new(),
                status,
                reason: String::new(),
                trace: values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| Point {
                        time_s: (i + 1) as f64,
                        iterations: 10 * (i as u64 + 1),
                        value: v,
                        gap: None,
                    })
                    .collect(),
            },
            outer_s: 0.0,
        }
    }

    #[test]
    fn a_sequence_reaches_its_target_only_with_every_system_solved() {
        let all = sequence_run(&[1e-9, 1e-9, 1e-9], RunStatus::Ok);
        let s = score(&all, None, 1e-6, Some((1e-8, 3)));
        assert_eq!((s.time_to_target, s.iterations_to_target), (Some(3.0), Some(30)));
        // two of three systems: not done, whatever its residuals
        let short = sequence_run(&[1e-9, 1e-9], RunStatus::Ok);
        assert_eq!(score(&short, None, 1e-6, Some((1e-8, 3))).time_to_target, None);
        // one system above the tolerance
        let bad = sequence_run(&[1e-9, 1e-7, 1e-9], RunStatus::Ok);
        assert_eq!(score(&bad, None, 1e-6, Some((1e-8, 3))).time_to_target, None);
    }

    #[test]
    fn suboptimality_is_relative_to_the_best_and_nan_survives_the_round_trip() {
        let mut r = sequence_run(&[2.0, 1.5, 1.0 + 1e-7], RunStatus::Ok);
        r.kind = "lasso".into();
        let s = score(&r, Some(1.0), 1e-6, None);
        assert!((s.subopt[0] - 1.0).abs() < 1e-15 && s.subopt[2] < 1e-6);
        assert_eq!(s.time_to_target, Some(3.0));
        r.run.trace[0].value = f64::NAN;
        let text = serde_json::to_string(&r).unwrap();
        let back: RunRecord = serde_json::from_str(&text).unwrap();
        assert!(back.run.trace[0].value.is_nan());
    }
}
