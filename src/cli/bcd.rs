//! `solvent bcd`: block coordinate descent with greedy rules, message passing and active sets,
//! on svmlight / CSV data, edge-list graphs, or the built-in generators.

use super::{check_output_path, named, run_options, run_with_progress, write_json, CliError};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::json;
use solvent_linalg::io::dense_csv::LabelColumn;
use solvent_linalg::io::{npy, read_design, svmlight};
use solvent_problems::bcd::{
    CoordinateProblem, Graph, LabelPropagation, Loss, SyntheticConfig, SyntheticKind,
};
use solvent_solvers::bcd::{
    build_glm, Bcd, BcdChoices, BcdState, GlmSpec, Partition, Phase, ProblemKind, Rule, Update,
};
use solvent_solvers::{Envelope, Outcome, Report, TraceSchedule};
use std::path::PathBuf;
use std::process::ExitCode;

/// Built-in data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// The paper's synthetic least-squares set (--samples × --features).
    Ls,
    /// The paper's synthetic logistic set (labels sign(Aw), 10% flipped).
    Logistic,
    /// A --side × --side lattice with a --labelled fraction of nodes labelled ±1.
    Lattice,
    /// Two moons, k-nearest-neighbour graph, --labelled-per-class points labelled per moon.
    Moons,
}

/// Arguments of `solvent bcd`.
#[derive(Debug, Args)]
pub struct BcdArgs {
    /// Data: LIBSVM/svmlight (.svm, .libsvm, .txt…), dense table (.csv, .tsv), or for
    /// labelprop a weighted edge list (`i j [w]` lines) with --labels.
    #[arg(long, conflicts_with = "generate")]
    pub data: Option<PathBuf>,
    /// Built-in data instead of --data (default: the problem's natural generator).
    #[arg(long, value_enum)]
    pub generate: Option<Generated>,
    /// The problem: ls (least squares, + (λ/2)‖w‖² with --lambda), logistic and softmax
    /// (L2-regularised, λ default 1/n), lasso and l1-logistic (λ‖w‖₁), nnls (w ≥ 0),
    /// labelprop (graph label propagation).
    #[arg(long, value_parser = named::<ProblemKind>(), default_value = "lasso")]
    pub problem: ProblemKind,
    /// Regularisation weight: L1 weight for lasso/l1-logistic and for nnls (non-negative
    /// least squares with an L1 penalty, as in the BCD paper), L2 weight for
    /// ls/logistic/softmax.
    #[arg(long, conflicts_with = "lambda_ratio")]
    pub lambda: Option<f64>,
    /// L1 weight as a fraction of λ_max (lasso, l1-logistic, nnls; default 0.1 for the L1
    /// problems, none for nnls).
    #[arg(long)]
    pub lambda_ratio: Option<f64>,
    /// A ridge weight added to lasso, l1-logistic or nnls: the elastic net
    /// (λ₂/2)‖w‖² + λ‖w‖₁.
    #[arg(long)]
    pub l2: Option<f64>,
    /// Fit an unpenalised intercept (one per class for softmax); it is reported, and the
    /// `--out` file holds the weights only.
    #[arg(long)]
    pub intercept: bool,
    /// Label column of a dense table.
    #[arg(long, value_parser = named::<LabelColumn>(), default_value = "last")]
    pub label_column: LabelColumn,
    /// Whether a dense table's first line is a header: auto (a header when none of its
    /// fields is a number; a first line mixing numbers and text is an error), yes, no.
    #[arg(long, value_enum, default_value = "auto")]
    pub header: HeaderArg,
    /// labelprop with --data: `node value` lines.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Generated sets: samples.
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Generated sets: features.
    #[arg(long, default_value_t = 10000)]
    pub features: usize,
    /// Generated sets: density of the design (default 10·ln(p)/p).
    #[arg(long)]
    pub density: Option<f64>,
    /// Lattice side.
    #[arg(long, default_value_t = 50)]
    pub side: usize,
    /// Lattice: fraction of nodes labelled.
    #[arg(long, default_value_t = 0.05)]
    pub labelled: f64,
    /// Moons: points.
    #[arg(long, default_value_t = 1000)]
    pub points: usize,
    /// Moons: neighbours per point.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Moons: labelled points per moon.
    #[arg(long, default_value_t = 5)]
    pub labelled_per_class: usize,
    /// Block partition (default: variable for greedy rules, greedy-tree for labelprop).
    #[arg(long, value_parser = named::<Partition>())]
    pub partition: Option<Partition>,
    /// Selection rule (default: gs-q for L1/bounds, gsq otherwise, gs for labelprop).
    #[arg(long, value_parser = named::<Rule>())]
    pub rule: Option<Rule>,
    /// Coordinates per block (default 50, or the problem's coordinates when fewer; for
    /// labelprop's greedy trees, no cap).
    #[arg(long)]
    pub block_size: Option<usize>,
    /// Update (default: exact for labelprop, matrix for least squares, newton otherwise).
    #[arg(long, value_parser = named::<Update>())]
    pub update: Option<Update>,
    /// Variable blocks: iterations between full scans of the greedy scores; in between, the
    /// rule picks among the 10·block-size best of the last scan. A departure from the paper
    /// for speed (default 10; 1: a full scan every time, the paper's rule; see --paper).
    #[arg(long, default_value_t = 10)]
    pub rescan: usize,
    /// The paper's exact method: a full scan of the greedy scores every iteration
    /// (--rescan 1) and no active-set Newton phase (--no-active-set). The defaults depart
    /// from it for speed (measured in docs/bcd.md).
    #[arg(long)]
    pub paper: bool,
    /// Record no trace: convergence is then judged only by the solver's own gap checks, which
    /// count in its time (for timing comparisons).
    #[arg(long)]
    pub no_trace: bool,
    /// No active-set phase (L1 and bounds). By default, once the active set is stable the
    /// solver takes Newton steps on the free coordinates (a departure from the paper's
    /// updates, for speed; finite termination on quadratics).
    #[arg(long)]
    pub no_active_set: bool,
    /// Most iterations (block updates).
    #[arg(long, default_value_t = 100_000)]
    pub max_iters: usize,
    /// Tolerance on the duality gap (or KKT residual where there is no gap).
    #[arg(long, default_value_t = 1e-6)]
    pub tol: f64,
    /// Stop after this many seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Seed (generators, random rules).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the solution here (.npy: weights; features × classes for softmax; node values for
    /// labelprop).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write `--out` even when the run did not converge (the last iterate; by default
    /// nothing is written then, as `solve` does).
    #[arg(long)]
    pub keep_unconverged: bool,
    /// Write the report (settings, status, objective trace) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the (generated or read) design and labels in svmlight format, to run other
    /// solvers on the same data.
    #[arg(long)]
    pub save_data: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Whether a dense table has a header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HeaderArg {
    /// Detected (unambiguous cases only).
    Auto,
    /// The first line is a header.
    Yes,
    /// No header.
    No,
}

/// The method the flags ask for on a problem of `dim` coordinates (defaults:
/// [`Bcd::default_for`]).
fn settings(args: &BcdArgs, dim: usize) -> Bcd {
    let choices = BcdChoices {
        rule: args.rule,
        update: args.update,
        partition: args.partition,
        block_size: args.block_size,
    };
    Bcd::default_for(args.problem, dim, &choices)
        .active_set(!(args.no_active_set || args.paper))
        .rescan(if args.paper { 1 } else { args.rescan })
        .seed(args.seed)
}

fn solve<P: CoordinateProblem>(p: &P, bcd: &mut Bcd, args: &BcdArgs) -> Result<(BcdState, Report), CliError> {
    let mut options = run_options(args.tol, args.max_iters, args.time_limit)?;
    if args.no_trace {
        options = options.trace(TraceSchedule::Off);
    }
    let out = run_with_progress(p, bcd, &options, args.quiet)?;
    Ok((out.state, out.report))
}

#[derive(Serialize)]
struct Inputs {
    data: Option<String>,
    generate: Option<String>,
    problem: ProblemKind,
}

#[derive(Serialize)]
struct Body<'a> {
    problem: ProblemKind,
    dimension: usize,
    nonzeros: usize,
    coordinate_updates: u64,
    newton_steps: usize,
    newton_since: Option<usize>,
    details: &'a serde_json::Map<String, serde_json::Value>,
    report: &'a Report,
}

/// Runs `solvent bcd`.
pub fn run(args: &BcdArgs) -> Result<ExitCode, CliError> {
    for (p, what) in [
        (&args.out, "the solution"),
        (&args.json, "the report"),
        (&args.save_data, "the data"),
    ] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    super::check_files(
        &[
            (args.data.as_deref(), "the data"),
            (args.labels.as_deref(), "the labels"),
        ],
        &[
            (args.out.as_deref(), "the solution"),
            (args.json.as_deref(), "the report"),
            (args.save_data.as_deref(), "the data written"),
        ],
    )?;
    for (flag, v) in [("--lambda", args.lambda), ("--lambda-ratio", args.lambda_ratio)] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(CliError::Usage(format!(
                    "{flag} must be a finite number ≥ 0, got {v}"
                )));
            }
        }
    }
    if args.lambda_ratio.is_some() && !args.problem.is_l1() && args.problem != ProblemKind::Nnls {
        return Err(CliError::Usage(
            "--lambda-ratio applies to the L1 problems (lasso, l1-logistic) and nnls".into(),
        ));
    }
    if args.l2.is_some() && !args.problem.is_l1() && args.problem != ProblemKind::Nnls {
        return Err(CliError::Usage(
            "--l2 adds a ridge to lasso, l1-logistic or nnls (the others take it as --lambda)".into(),
        ));
    }
    let mut details = serde_json::Map::new();
    if args.intercept && args.problem == ProblemKind::Labelprop {
        return Err(CliError::Usage(
            "--intercept applies to the regression problems, not labelprop".into(),
        ));
    }
    if args.save_data.is_some() && args.problem == ProblemKind::Labelprop {
        return Err(CliError::Usage(
            "--save-data writes a design matrix: not for labelprop".into(),
        ));
    }
    let (solution, shape, state, report) = if args.problem == ProblemKind::Labelprop {
        let lp = match (&args.data, args.generate) {
            (Some(path), _) => {
                let graph = Graph::read_edge_list(path, None)?;
                let Some(lpath) = &args.labels else {
                    return Err(CliError::Usage(
                        "labelprop with --data needs --labels FILE (`node value` lines)".into(),
                    ));
                };
                LabelPropagation::new(&graph, &LabelPropagation::read_labels(lpath)?)?
            }
            (None, Some(Generated::Moons)) => {
                let (pts, moon) = Graph::two_moons(args.points, 0.1, args.seed);
                let graph = Graph::knn(&pts, args.k)?;
                let mut labels = Vec::new();
                for m in 0..2 {
                    labels.extend(
                        (0..pts.len())
                            .filter(|&i| moon[i] == m)
                            .take(args.labelled_per_class)
                            .map(|i| (i, if m == 0 { -1.0 } else { 1.0 })),
                    );
                }
                let lp = LabelPropagation::new(&graph, &labels)?;
                details.insert("moons_truth".into(), json!(moon));
                lp
            }
            (None, None | Some(Generated::Lattice)) => {
                LabelPropagation::lattice(args.side, args.labelled, args.seed)?
            }
            (None, Some(g)) => {
                return Err(CliError::Usage(format!(
                "labelprop needs a graph: --generate lattice|moons or --data EDGES --labels FILE, not {g:?}"
            )))
            }
        };
        let mut bcd = settings(args, lp.problem.dim());
        let (state, report) = solve(&lp.problem, &mut bcd, args)?;
        let values = lp.node_values(&state.x);
        if let Some(truth) = details.remove("moons_truth") {
            let truth: Vec<usize> = serde_json::from_value(truth).unwrap_or_default();
            let right = values
                .iter()
                .zip(&truth)
                .filter(|(v, &m)| (**v > 0.0) == (m == 1))
                .count();
            details.insert(
                "moons_accuracy".into(),
                json!(right as f64 / truth.len().max(1) as f64),
            );
        }
        let n = values.len();
        (values, vec![n], state, report)
    } else {
        let (x, y) = match (&args.data, args.generate) {
            (Some(path), _) => read_design(
                path,
                args.label_column,
                match args.header {
                    HeaderArg::Auto => None,
                    HeaderArg::Yes => Some(true),
                    HeaderArg::No => Some(false),
                },
            )?,
            (None, g) => {
                let kind = match (g, args.problem) {
                    (Some(Generated::Ls), _) => SyntheticKind::LeastSquares,
                    (Some(Generated::Logistic), _) => SyntheticKind::Logistic,
                    (Some(other), _) => {
                        return Err(CliError::Usage(format!(
                            "--generate {other:?} makes a graph: use it with --problem labelprop"
                        )))
                    }
                    (None, ProblemKind::Logistic | ProblemKind::L1Logistic | ProblemKind::Softmax) => {
                        SyntheticKind::Logistic
                    }
                    (None, _) => SyntheticKind::LeastSquares,
                };
                let mut c = SyntheticConfig::paper(args.samples, args.features, kind, args.seed);
                c.density = args.density;
                let (a, y, _) = c.generate()?;
                (a, y)
            }
        };
        if let Some(path) = &args.save_data {
            svmlight::write(path, &x, &y)?;
        }
        let built = build_glm(
            x,
            y,
            &GlmSpec {
                kind: args.problem,
                lambda: args.lambda,
                lambda_ratio: args.lambda_ratio,
                intercept: args.intercept,
                l2: args.l2,
            },
        )?;
        if let Some(lmax) = built.lambda_max {
            details.insert("lambda_max".into(), json!(lmax));
        }
        details.insert("lambda".into(), json!(built.lambda));
        let glm = built.glm;
        let loss = args.problem.loss().unwrap_or(Loss::Squared);
        let mut bcd = settings(args, glm.dim());
        let (state, report) = solve(&glm, &mut bcd, args)?;
        let c = glm.classes();
        let features = glm.design().ncols() - usize::from(args.intercept);
        let shape = if c > 1 { vec![features, c] } else { vec![features] };
        if args.intercept {
            details.insert("intercept".into(), json!(state.x[features * c..].to_vec()));
        }
        if c > 1 || loss == Loss::Logistic {
            details.insert("class_labels".into(), json!(glm.class_labels()));
        }
        (state.x[..features * c].to_vec(), shape, state, report)
    };
    let converged = report.status.is_converged();
    let write_out = converged || args.keep_unconverged;
    if let Some(path) = args.out.as_ref().filter(|_| write_out) {
        npy::write_f64(path, &shape, &solution)?;
    }
    let nnz = solution.iter().filter(|v| **v != 0.0).count();
    if let Some(path) = &args.json {
        let envelope = Envelope::new(
            "bcd",
            Inputs {
                data: args.data.as_ref().map(|p| p.display().to_string()),
                generate: args.generate.map(|g| format!("{g:?}").to_lowercase()),
                problem: args.problem,
            },
            Outcome::of(&report.status, report.metrics.value),
            Body {
                problem: args.problem,
                dimension: solution.len(),
                nonzeros: nnz,
                coordinate_updates: state.coordinate_updates,
                newton_steps: state.newton_steps,
                newton_since: state.newton_since,
                details: &details,
                report: &report,
            },
        )
        .timing("wall_s", report.wall_s)
        .timing("solve_s", report.elapsed_s);
        write_json(path, &envelope)?;
    }
    if !args.quiet {
        crate::outln!("{}", report.summary());
        crate::outln!(
            "objective {:.10e}, {} {:.3e}, {} of {} entries non-zero, {} coordinate updates{}",
            report.metrics.objective.unwrap_or(f64::NAN),
            report.metrics.criterion.describe(),
            report.metrics.value,
            nnz,
            solution.len(),
            state.coordinate_updates,
            match (state.newton_since, state.phase) {
                (Some(k), Phase::Newton) => format!(", active set identified at iteration {k}, then Newton"),
                (Some(k), _) => format!(", Newton phase entered at iteration {k}"),
                _ => String::new(),
            }
        );
        for (k, v) in &details {
            crate::outln!("{k}: {v}");
        }
    }
    Ok(super::converged_exit(
        &report,
        converged,
        args.out.as_deref(),
        write_out,
    ))
}
