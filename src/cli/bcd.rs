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
    build_weighted_glm, lambda_grid, BcdChoices, GlmSpec, Inner, Method, Partition, ProblemKind, Ranking,
    Rule, Solved, Strategy, Update,
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
    /// How to solve: auto (the working-set solver for lasso, l1-logistic and nnls — unless a
    /// greedy setting such as --rule is given — and the greedy rules otherwise), working-set
    /// (working sets ranked by KKT violation, cyclic coordinate descent with Anderson
    /// extrapolation, gap-safe screening, the active-set Newton step), or greedy (the
    /// paper's rules, partitions and updates: --rule, --update, --partition, --block-size).
    #[arg(long, value_parser = named::<Strategy>(), default_value = "auto")]
    pub strategy: Strategy,
    /// Working sets: how coordinates outside the support are ranked — kkt (distance of −∇f to
    /// the penalty's subdifferential, skglm's rule) or score (the greedy GS-q decrease).
    #[arg(long, value_parser = named::<Ranking>(), default_value = "kkt")]
    pub ranking: Ranking,
    /// Working sets: the inner solver — cyclic coordinate descent, or greedy (each epoch in
    /// decreasing order of the last measured KKT violations).
    #[arg(long, value_parser = named::<Inner>(), default_value = "cyclic")]
    pub inner: Inner,
    /// Working sets: iterates combined by Anderson extrapolation (0: none).
    #[arg(long, default_value_t = 5)]
    pub anderson: usize,
    /// Working sets: no gap-safe screening.
    #[arg(long)]
    pub no_screening: bool,
    /// Working sets, logistic losses: coordinate epochs with the Lipschitz bound instead of
    /// proximal Newton steps on the set.
    #[arg(long)]
    pub no_prox_newton: bool,
    /// A regularisation path (L1 problems): K weights from λ_max down to the --lambda /
    /// --lambda-ratio weight, evenly spaced in log scale, each solve warm-started (and, with
    /// working sets, seeded by the strong rule). `--out` then holds one row per weight.
    #[arg(long, value_name = "K")]
    pub path: Option<usize>,
    /// Sample weights: a file with one non-negative number per sample (text, one per line, or
    /// .npy). They are rescaled to sum to the number of samples, as scikit-learn's Lasso does.
    #[arg(long)]
    pub sample_weights: Option<PathBuf>,
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
/// [`Method::resolve`]).
fn settings(args: &BcdArgs, dim: usize) -> Result<Method, CliError> {
    let choices = BcdChoices {
        rule: args.rule,
        update: args.update,
        partition: args.partition,
        block_size: args.block_size,
    };
    let greedy_flags = choices.rule.is_some()
        || choices.update.is_some()
        || choices.partition.is_some()
        || choices.block_size.is_some()
        || args.paper;
    if args.strategy == Strategy::WorkingSet && greedy_flags {
        return Err(CliError::Usage(
            "--rule, --update, --partition, --block-size and --paper set the greedy solver: use them \
             with --strategy greedy (or auto)"
                .into(),
        ));
    }
    let strategy = if args.paper {
        Strategy::Greedy
    } else {
        args.strategy
    };
    let mut method = Method::resolve(strategy, args.problem, dim, &choices);
    match &mut method {
        Method::WorkingSet(w) => {
            w.ranking = args.ranking;
            w.inner = args.inner;
            w.anderson = args.anderson;
            w.screening = !args.no_screening;
            w.prox_newton = !args.no_prox_newton;
            w.newton = !args.no_active_set;
        }
        Method::Greedy(b) => {
            b.active_set = !(args.no_active_set || args.paper);
            b.rescan = if args.paper { 1 } else { args.rescan };
            b.seed = args.seed;
        }
    }
    Ok(method)
}

fn options(args: &BcdArgs) -> Result<solvent_solvers::Options, CliError> {
    let mut options = run_options(args.tol, args.max_iters, args.time_limit)?;
    if args.no_trace {
        options = options.trace(TraceSchedule::Off);
    }
    Ok(options)
}

fn solve<P: CoordinateProblem>(p: &P, method: &mut Method, args: &BcdArgs) -> Result<Solved, CliError> {
    let options = options(args)?;
    Ok(match method {
        Method::WorkingSet(w) => run_with_progress(p, w, &options, args.quiet)?.into(),
        Method::Greedy(b) => run_with_progress(p, b, &options, args.quiet)?.into(),
    })
}

/// Reads sample weights: `.npy`, or text with one number per line (blank lines and `#`
/// comments skipped).
fn read_weights(path: &std::path::Path) -> Result<Vec<f64>, CliError> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy")) {
        return Ok(npy::read(path)?.data);
    }
    let text = solvent_linalg::io::read_text(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        out.push(t.parse::<f64>().map_err(|_| {
            CliError::Usage(format!(
                "{} line {}: `{t}` is not a number (sample weights: one number per line)",
                path.display(),
                n + 1
            ))
        })?);
    }
    Ok(out)
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
    method: String,
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
            (args.sample_weights.as_deref(), "the sample weights"),
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
    if args.path.is_some() && args.problem == ProblemKind::Labelprop {
        return Err(CliError::Usage(
            "--path applies to the L1 regression problems".into(),
        ));
    }
    // points of a path that did not converge: the path converged only if every point did
    let mut path_unconverged = 0;
    let (solution, shape, solved, method_name) = if args.problem == ProblemKind::Labelprop {
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
        let mut method = settings(args, lp.problem.dim())?;
        let solved = solve(&lp.problem, &mut method, args)?;
        let values = lp.node_values(&solved.x);
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
        let name = method.name::<solvent_problems::bcd::QuadraticProblem>();
        (values, vec![n], solved, name)
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
        let weights = args.sample_weights.as_deref().map(read_weights).transpose()?;
        let built = build_weighted_glm(
            x,
            y,
            &GlmSpec {
                kind: args.problem,
                lambda: args.lambda,
                lambda_ratio: args.lambda_ratio,
                intercept: args.intercept,
                l2: args.l2,
            },
            weights,
        )?;
        if let Some(lmax) = built.lambda_max {
            details.insert("lambda_max".into(), json!(lmax));
        }
        details.insert("lambda".into(), json!(built.lambda));
        let glm = built.glm;
        let loss = args.problem.loss().unwrap_or(Loss::Squared);
        let mut method = settings(args, glm.dim())?;
        let name = method.name::<solvent_problems::bcd::Glm>();
        let c = glm.classes();
        let features = glm.design().ncols() - usize::from(args.intercept);
        let mut shape = if c > 1 { vec![features, c] } else { vec![features] };
        let solved = match args.path {
            None => solve(&glm, &mut method, args)?,
            Some(k) => {
                let (Some(lmax), true) = (built.lambda_max, k >= 1) else {
                    return Err(CliError::Usage(if k == 0 {
                        "--path needs at least one weight".into()
                    } else {
                        "--path applies to the L1 problems (lasso, l1-logistic, nnls with an L1 weight)"
                            .into()
                    }));
                };
                let lambdas = lambda_grid(lmax, built.lambda, k);
                let points = solvent_solvers::bcd::glm_path(&glm, &lambdas, &method, &options(args)?)?;
                let mut rows = Vec::with_capacity(k * features * c);
                let mut table = Vec::new();
                for p in &points {
                    rows.extend_from_slice(&p.solved.x[..features * c]);
                    table.push(json!({
                        "lambda": p.lambda,
                        "status": p.solved.report.status,
                        "objective": p.solved.report.metrics.objective,
                        "gap": p.solved.report.metrics.value,
                        "nonzeros": p.solved.x[..features * c].iter().filter(|v| **v != 0.0).count(),
                        "iterations": p.solved.report.iterations,
                        "solve_s": p.solved.report.elapsed_s,
                        "strong_set": p.strong_set,
                    }));
                }
                let total: f64 = points.iter().map(|p| p.solved.report.elapsed_s).sum();
                let unconverged = points
                    .iter()
                    .filter(|p| !p.solved.report.status.is_converged())
                    .count();
                details.insert("path".into(), json!(table));
                details.insert("path_solve_s".into(), json!(total));
                details.insert("path_unconverged".into(), json!(unconverged));
                path_unconverged = unconverged;
                let mut last = points.into_iter().last().expect("k ≥ 1").solved;
                shape.insert(0, k);
                last.x = rows
                    .into_iter()
                    .chain(last.x[features * c..].iter().copied())
                    .collect();
                last
            }
        };
        if args.intercept {
            let from = solved.x.len() - c;
            details.insert("intercept".into(), json!(solved.x[from..].to_vec()));
        }
        if c > 1 || loss == Loss::Logistic {
            details.insert("class_labels".into(), json!(glm.class_labels()));
        }
        let size: usize = shape.iter().product();
        (solved.x[..size].to_vec(), shape, solved, name)
    };
    let report = &solved.report;
    let converged = report.status.is_converged() && path_unconverged == 0;
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
                coordinate_updates: solved.coordinate_updates,
                newton_steps: solved.newton_steps,
                newton_since: solved.newton_since,
                method: method_name.clone(),
                details: &details,
                report,
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
            solved.coordinate_updates,
            match (solved.newton_since, solved.newton_phase, solved.working_set) {
                (Some(k), true, _) => format!(", active set identified at iteration {k}, then Newton"),
                (Some(k), false, _) => format!(", Newton phase entered at iteration {k}"),
                (_, _, Some((outer, set, screened))) => format!(
                    ", {outer} working sets (last {set} coordinates), {screened} screened, {} Newton steps",
                    solved.newton_steps
                ),
                _ => String::new(),
            }
        );
        crate::outln!("method: {method_name}");
        for (k, v) in &details {
            crate::outln!("{k}: {v}");
        }
    }
    Ok(super::converged_exit(
        report,
        converged,
        args.out.as_deref(),
        write_out,
    ))
}
