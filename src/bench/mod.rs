//! `solvent bench`: benchmark suites that put Solvent's solvers and other tools' on the
//! same problems, benchopt-style. A suite ([`suite::Suite`], a TOML file) names problems
//! made from parameters and seeds ([`problems`]), Solvent's solvers with parameter grids
//! ([`runners`]) and external commands ([`external`]); every (problem, solver
//! configuration, seed, repetition) is one run with a time limit, the runs interleaved
//! (repetition by repetition, the solver order rotated each time) so that machine noise
//! does not favour one solver. Results ([`results`]): traces, suboptimality against the
//! best value any run reached, time to the target; outputs ([`report`]): `results.csv`,
//! `results.jsonl`, one SVG per problem and per time-to-target chart, `summary.md` and a
//! self-contained `index.html`.
//!
//! ```no_run
//! use solvent::bench::{run_suite, suite::Suite, BenchOptions};
//! let suite = Suite::read("bench/suites/lasso.toml".as_ref())?;
//! let out = run_suite(&suite, &BenchOptions::new("bench-out"))?;
//! println!("{}", out.markdown);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod external;
pub mod problems;
pub mod report;
pub mod results;
pub mod runners;
pub mod suite;
pub mod trace;

use results::{Machine, RunRecord, Scored};
use std::path::{Path, PathBuf};
use std::time::Instant;
use suite::{SolverConfig, Suite};
use trace::{RunStatus, RunTrace};

/// How to run a suite.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Output directory (created).
    pub out: PathBuf,
    /// Only the runs whose `problem/solver` contains this text.
    pub only: Option<String>,
    /// Repetitions (overrides the suite's).
    pub repeat: Option<usize>,
    /// Seconds per run (overrides the suite's).
    pub timeout: Option<f64>,
    /// Keep the runs already in `out/results.jsonl` and run only the others.
    pub resume: bool,
    /// A progress bar with the ETA on standard error.
    pub progress: bool,
    /// The command line, for the outputs.
    pub command: String,
    /// The directory external commands run in (default: the current directory).
    pub cwd: PathBuf,
}

impl BenchOptions {
    /// Defaults: write to `out`, the suite's repetitions and time limit, no progress bar.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            only: None,
            repeat: None,
            timeout: None,
            resume: false,
            progress: false,
            command: String::new(),
            cwd: PathBuf::from("."),
        }
    }
}

/// What a suite produced.
pub struct BenchOutcome {
    /// Every run, in the order run (resumed ones first).
    pub records: Vec<RunRecord>,
    /// Their scores.
    pub scores: Vec<Scored>,
    /// The summary rows.
    pub summary: Vec<report::SummaryRow>,
    /// `summary.md`'s text.
    pub markdown: String,
    /// Runs skipped because `--resume` found them.
    pub resumed: usize,
}

/// Why a suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The suite or the options are unusable.
    #[error("{0}")]
    Setup(String),
    /// Writing an output failed.
    #[error(transparent)]
    Io(#[from] solvent_linalg::LinalgError),
}

/// A problem made for one seed (and its file for external commands, once written), or
/// why it could not be made.
type MadeOnce = Result<(problems::Made, Option<PathBuf>), String>;

/// One planned run.
struct Planned<'a> {
    problem: usize,
    config: &'a SolverConfig,
    seed: u64,
    rep: usize,
    id: String,
}

/// Whether `config` applies to a problem of `kind`.
fn applies(config: &SolverConfig, kind: &str) -> bool {
    if !config.spec.kinds.is_empty() {
        return config.spec.kinds.iter().any(|k| k == kind);
    }
    match &config.spec.solver {
        Some(s) => runners::solvers_for(kind).contains(&s.as_str()),
        None => true,
    }
}

/// Runs `suite` as `opts` say and writes every output into `opts.out`.
pub fn run_suite(suite: &Suite, opts: &BenchOptions) -> Result<BenchOutcome, BenchError> {
    let repeat = opts.repeat.unwrap_or(suite.repeat).max(1);
    let timeout = opts.timeout.unwrap_or(suite.timeout);
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(BenchError::Setup(format!(
            "the time limit must be positive, got {timeout}"
        )));
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| BenchError::Setup(format!("cannot create {}: {e}", opts.out.display())))?;
    let configs = suite.configs();
    for c in &configs {
        if let Some(s) = &c.spec.solver {
            if !suite
                .problems
                .iter()
                .any(|p| runners::solvers_for(&p.kind).contains(&s.as_str()))
            {
                return Err(BenchError::Setup(format!(
                    "solver `{}`: Solvent has no `{s}` for any problem of the suite",
                    c.spec.name
                )));
            }
        }
    }
    // the plan: repetition → seed → problem → solvers, rotated by repetition
    let mut plan = Vec::new();
    for rep in 0..repeat {
        for &seed in &suite.seeds {
            for (pi, p) in suite.problems.iter().enumerate() {
                let mine: Vec<&SolverConfig> = configs.iter().filter(|c| applies(c, &p.kind)).collect();
                let k = mine.len().max(1);
                for j in 0..mine.len() {
                    let c = mine[(j + rep) % k];
                    let id = format!("{}/{}/seed{seed}/rep{rep}", p.name, c.label());
                    if opts
                        .only
                        .as_ref()
                        .is_some_and(|o| !format!("{}/{}", p.name, c.label()).contains(o.as_str()))
                    {
                        continue;
                    }
                    plan.push(Planned {
                        problem: pi,
                        config: c,
                        seed,
                        rep,
                        id,
                    });
                }
            }
        }
    }
    let mut records: Vec<RunRecord> = Vec::new();
    let mut resumed = 0;
    if opts.resume {
        // every earlier run of this suite's problems is kept (also those outside --only:
        // they stay in the results and in the best values)
        let problems: std::collections::HashSet<&str> =
            suite.problems.iter().map(|p| p.name.as_str()).collect();
        records = results::read_previous(&opts.out)
            .into_iter()
            .filter(|r| problems.contains(r.problem.as_str()))
            .collect();
        resumed = records.len();
    }
    let done: std::collections::HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
    let todo: Vec<&Planned> = plan.iter().filter(|p| !done.contains(&p.id)).collect();
    let bar = opts.progress.then(|| {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} runs, {elapsed} elapsed, ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    // problems are made once per (problem, seed) and kept while runs need them
    let mut made: std::collections::HashMap<(usize, u64), MadeOnce> = std::collections::HashMap::new();
    let work = opts.out.join("problems");
    for p in todo {
        let spec = &suite.problems[p.problem];
        if let Some(b) = &bar {
            b.set_message(p.id.clone());
        }
        let entry = made
            .entry((p.problem, p.seed))
            .or_insert_with(|| problems::make(spec, p.seed).map(|m| (m, None)));
        let t = Instant::now();
        let run = match entry {
            Err(e) => RunTrace::without_trace(RunStatus::Failed, e.clone()),
            Ok((m, file)) => match &p.config.spec.command {
                None => runners::run(p.config, m, suite.target, timeout),
                Some(template) => {
                    if file.is_none() {
                        let dir = work.join(format!("{}-seed{}", report::slug(&spec.name), p.seed));
                        match problems::write(m, &dir) {
                            Ok(path) => *file = Some(path),
                            Err(e) => {
                                records.push(record(
                                    suite,
                                    p,
                                    RunTrace::without_trace(RunStatus::Failed, e),
                                    0.0,
                                ));
                                continue;
                            }
                        }
                    }
                    let problem_file = file.clone().unwrap_or_default();
                    let out = opts
                        .out
                        .join("traces")
                        .join(format!("{}.json", report::slug(&p.id)));
                    let _ = std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")));
                    let tol = match m {
                        problems::Made::Sequence { tol, .. } => *tol,
                        _ => suite.target,
                    };
                    let cmd = external::fill(
                        template,
                        p.config,
                        &absolute(&problem_file),
                        &absolute(&out),
                        tol,
                        timeout,
                        p.seed,
                    );
                    external::run(&cmd, &opts.cwd, &out, timeout)
                }
            },
        };
        let outer = t.elapsed().as_secs_f64();
        records.push(record(suite, p, run, outer));
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // scores against the best value on each problem and seed
    let best = results::best_values(&records);
    let scores: Vec<Scored> = records
        .iter()
        .map(|r| {
            let spec = suite.problems.iter().find(|p| p.name == r.problem);
            let sequence = match spec.map(problems::make_sequence_size) {
                Some(Some(size)) if r.kind == "sequence" => Some(size),
                _ => None,
            };
            results::score(
                r,
                best.get(&(r.problem.clone(), r.seed)).copied(),
                suite.target,
                sequence,
            )
        })
        .collect();
    let machine = Machine::here();
    results::write(&opts.out, &records, &scores, &machine)?;
    let summary = report::summary(suite, &records, &scores);
    let limits = report::Limits { repeat, timeout };
    let markdown = report::markdown(suite, &summary, &machine, &opts.command, limits);
    solvent_linalg::io::atomic_write(&opts.out.join("summary.md"), |w| w.write_all(markdown.as_bytes()))?;
    let mut plots = Vec::new();
    for p in &suite.problems {
        let curves = format!("{}.svg", report::slug(&p.name));
        let bars = format!("{}-time-to-target.svg", report::slug(&p.name));
        report::plot_problem(&opts.out.join(&curves), &p.name, &p.kind, &records, &scores)
            .map_err(|e| BenchError::Setup(format!("plotting {curves}: {e}")))?;
        report::plot_bars(&opts.out.join(&bars), &p.name, &summary)
            .map_err(|e| BenchError::Setup(format!("plotting {bars}: {e}")))?;
        plots.push((p.name.clone(), curves, bars));
    }
    let page = report::html(
        &opts.out,
        suite,
        &summary,
        &machine,
        &opts.command,
        limits,
        &plots,
    );
    solvent_linalg::io::atomic_write(&opts.out.join("index.html"), |w| w.write_all(page.as_bytes()))?;
    Ok(BenchOutcome {
        records,
        scores,
        summary,
        markdown,
        resumed,
    })
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn record(suite: &Suite, p: &Planned<'_>, run: RunTrace, outer_s: f64) -> RunRecord {
    let spec = &suite.problems[p.problem];
    RunRecord {
        id: p.id.clone(),
        problem: spec.name.clone(),
        kind: spec.kind.clone(),
        solver: p.config.label(),
        params: p
            .config
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", suite::plain(v)))
            .collect::<Vec<_>>()
            .join(" "),
        seed: p.seed,
        rep: p.rep,
        run,
        outer_s,
    }
}
