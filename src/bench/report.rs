//! The human side of a suite's results: per problem an SVG of the suboptimality (or
//! residual, or test-RMSE excess) against time, log scale, one colour per solver
//! configuration and one line per repetition and seed (their spread); an SVG of the
//! median time to the target per configuration; `summary.md` with the median, min and
//! max time and iterations to the target; and `index.html`, one self-contained page
//! that shows the plots and the tables.

use super::results::{Machine, RunRecord, Scored};
use super::suite::Suite;
use super::trace::RunStatus;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One row of the summary: a solver configuration on a problem.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SummaryRow {
    /// The problem.
    pub problem: String,
    /// The solver configuration.
    pub solver: String,
    /// Runs.
    pub runs: usize,
    /// Runs that reached the target.
    pub reached: usize,
    /// Runs by status (`ok`, `timeout`, `failed`, `skipped`), as text.
    pub statuses: String,
    /// Median, min and max seconds to the target (over the runs that reached it).
    pub time: Option<(f64, f64, f64)>,
    /// Median, min and max iterations to the target.
    pub iterations: Option<(f64, f64, f64)>,
    /// Median, min and max suboptimality of the runs' last points (how far a run that
    /// never reached the target stayed: an allocation baseline's gap to the optimum).
    pub final_subopt: Option<(f64, f64, f64)>,
}

fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let med = if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    };
    Some((med, v[0], v[v.len() - 1]))
}

/// The summary rows, problem by problem in suite order, solvers in first-run order.
pub fn summary(suite: &Suite, records: &[RunRecord], scores: &[Scored]) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for p in &suite.problems {
        let mut by_solver: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
        let mut first: Vec<String> = Vec::new();
        for (i, r) in records.iter().enumerate().filter(|(_, r)| r.problem == p.name) {
            if !first.contains(&r.solver) {
                first.push(r.solver.clone());
            }
            let pos = first.iter().position(|s| s == &r.solver).unwrap_or(0);
            by_solver.entry((pos, r.solver.clone())).or_default().push(i);
        }
        for ((_, solver), runs) in by_solver {
            let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in &runs {
                *statuses.entry(records[i].run.status.as_str()).or_default() += 1;
            }
            let hit: Vec<usize> = runs
                .iter()
                .copied()
                .filter(|&i| scores[i].time_to_target.is_some())
                .collect();
            rows.push(SummaryRow {
                problem: p.name.clone(),
                solver,
                runs: runs.len(),
                reached: hit.len(),
                statuses: statuses
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                time: spread(hit.iter().filter_map(|&i| scores[i].time_to_target).collect()),
                iterations: spread(
                    hit.iter()
                        .filter_map(|&i| scores[i].iterations_to_target.map(|x| x as f64))
                        .collect(),
                ),
                final_subopt: spread(
                    runs.iter()
                        .filter_map(|&i| scores[i].subopt.last().copied())
                        .filter(|v| v.is_finite())
                        .collect(),
                ),
            });
        }
    }
    rows
}

fn triple(t: Option<(f64, f64, f64)>, digits: usize) -> String {
    match t {
        Some((m, lo, hi)) => format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})"),
        None => "–".into(),
    }
}

fn triple_e(t: Option<(f64, f64, f64)>) -> String {
    match t {
        Some((m, lo, hi)) => format!("{m:.1e} ({lo:.1e}–{hi:.1e})"),
        None => "–".into(),
    }
}

/// The repetitions and time limit a suite ran with (the flags', or the suite's).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Repetitions.
    pub repeat: usize,
    /// Seconds per run.
    pub timeout: f64,
}

/// `summary.md`.
pub fn markdown(
    suite: &Suite,
    rows: &[SummaryRow],
    machine: &Machine,
    command: &str,
    limits: Limits,
) -> String {
    let mut s = format!("# {}\n\n{}\n\n", suite.name, suite.description);
    if !suite.reported.is_empty() {
        s.push_str(&format!("**Reported:** {}\n\n", suite.reported));
    }
    s.push_str(&format!(
        "Machine: {} ({}), solvent {}. Command: `{command}`. Target: {:e}; time limit {} s per run; {} repetition(s), seeds {:?}.\n\n",
        machine.cpu, machine.host, machine.solvent, suite.target, limits.timeout, limits.repeat, suite.seeds
    ));
    s.push_str("| problem | solver | runs | reached target | status | time to target s: median (min–max) | iterations to target: median (min–max) | final suboptimality: median (min–max) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.problem,
            r.solver,
            r.runs,
            r.reached,
            r.statuses,
            triple(r.time, 4),
            triple(r.iterations, 0),
            triple_e(r.final_subopt)
        ));
    }
    s
}

/// A file name made of a problem name.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// The curves of one problem: suboptimality (log) against time (log), one colour per
/// solver configuration.
pub fn plot_problem(
    path: &Path,
    problem: &str,
    kind: &str,
    records: &[RunRecord],
    scores: &[Scored],
) -> PlotResult {
    let ylabel = match kind {
        "sequence" => "relative residual of each system",
        "completion" => "test RMSE excess over the best",
        _ => "relative suboptimality",
    };
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (r, s) in records.iter().zip(scores).filter(|(r, _)| r.problem == problem) {
        let pts: Vec<(f64, f64)> = r
            .run
            .trace
            .iter()
            .zip(&s.subopt)
            .filter(|(p, v)| p.time_s.is_finite() && v.is_finite())
            .map(|(p, &v)| (p.time_s.max(1e-6), v.max(1e-16)))
            .collect();
        if !pts.is_empty() {
            lines.push((r.solver.clone(), pts));
        }
    }
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let all = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (1e-3, 1.0, 1e-16, 1.0);
    }
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{problem}: {ylabel} against time"), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x0 * 0.8..x1 * 1.25).log_scale(),
            (y0 * 0.5..y1 * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(ylabel)
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.2e}"))
        .draw()?;
    let mut names: Vec<String> = Vec::new();
    for (name, _) in &lines {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    for (c, name) in names.iter().enumerate() {
        let color = Palette99::pick(c).to_rgba();
        let mut labelled = false;
        for (_, pts) in lines.iter().filter(|(n, _)| n == name) {
            let series = chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
            if !labelled {
                series
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                labelled = true;
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Bars of the median time to the target per solver configuration of one problem.
pub fn plot_bars(path: &Path, problem: &str, rows: &[SummaryRow]) -> PlotResult {
    let rows: Vec<&SummaryRow> = rows.iter().filter(|r| r.problem == problem).collect();
    let root = SVGBackend::new(path, (800, 60 + 40 * rows.len().max(1) as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = rows
        .iter()
        .filter_map(|r| r.time.map(|t| t.2))
        .fold(0.0f64, f64::max)
        .max(1e-6);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{problem}: time to target (median, min–max)"),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..top * 1.1, 0..rows.len().max(1))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|i| rows.get(*i).map(|r| r.solver.clone()).unwrap_or_default())
        .x_desc("seconds")
        .draw()?;
    for (i, r) in rows.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        if let Some((m, lo, hi)) = r.time {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, i), (m, i + 1)],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(lo, i), (hi, i)],
                BLACK.stroke_width(2),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `index.html`: the summary and the plots, inline (the page stands alone) and linked
/// to their SVG files in `dir`.
pub fn html(
    dir: &Path,
    suite: &Suite,
    rows: &[SummaryRow],
    machine: &Machine,
    command: &str,
    limits: Limits,
    plots: &[(String, String, String)],
) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:3px 8px}}img{{max-width:100%}}</style></head><body>\n<h1>{0}</h1>\n<p>{1}</p>\n",
        escape(&suite.name),
        escape(&suite.description)
    );
    if !suite.reported.is_empty() {
        s.push_str(&format!("<p><b>Reported:</b> {}</p>\n", escape(&suite.reported)));
    }
    s.push_str(&format!(
        "<p>Machine: {} ({}), solvent {}. Command: <code>{}</code>. Target {:e}, time limit {} s per run. Data: <a href=\"results.csv\">results.csv</a>, <a href=\"results.jsonl\">results.jsonl</a>, <a href=\"summary.md\">summary.md</a>.</p>\n",
        escape(&machine.cpu),
        escape(&machine.host),
        machine.solvent,
        escape(command),
        suite.target,
        limits.timeout
    ));
    s.push_str("<table><tr><th>problem</th><th>solver</th><th>runs</th><th>reached</th><th>status</th><th>time to target s</th><th>iterations to target</th><th>final suboptimality</th></tr>\n");
    for r in rows {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&r.problem),
            escape(&r.solver),
            r.runs,
            r.reached,
            r.statuses,
            triple(r.time, 4),
            triple(r.iterations, 0),
            triple_e(r.final_subopt)
        ));
    }
    s.push_str("</table>\n");
    let inline = |file: &str| {
        let svg = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        match svg.find("<svg") {
            Some(i) => svg[i..].to_string(),
            None => String::new(),
        }
    };
    for (problem, curves, bars) in plots {
        s.push_str(&format!(
            "<h2>{}</h2>\n<div>{}</div>\n<p><a href=\"{curves}\">{curves}</a></p>\n<div>{}</div>\n<p><a href=\"{bars}\">{bars}</a></p>\n",
            escape(problem),
            inline(curves),
            inline(bars)
        ));
    }
    s.push_str("</body></html>\n");
    s
}

/// Whether a run's status counts as a run that did its work.
pub fn ran(status: RunStatus) -> bool {
    matches!(status, RunStatus::Ok | RunStatus::Timeout)
}
