//! `solvent bcd`: block coordinate descent with greedy rules, message passing and active sets,
//! on svmlight / CSV data, edge-list graphs, or the built-in generators.

use super::{check_output_path, run_options, run_with_progress, write_json, CliError};
use clap::{Args, ValueEnum};
use serde_json::json;
use solvent_linalg::io::dense_csv::{self, LabelColumn};
use solvent_linalg::io::{npy, svmlight};
use solvent_linalg::CsrMatrix;
use solvent_problems::bcd::{
    CoordinateProblem, Glm, Graph, LabelPropagation, Loss, Penalty, SyntheticConfig, SyntheticKind,
};
use solvent_solvers::bcd::{Bcd, BcdState, Partition, Phase, Rule, Update};
use solvent_solvers::{Report, TraceSchedule};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The problem to solve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BcdProblem {
    /// Least squares (1/2n)‖y − Xw‖² (+ (λ/2)‖w‖² with --lambda).
    Ls,
    /// L2-regularised logistic regression (λ default 1/n).
    Logistic,
    /// Multinomial logistic regression, L2-regularised (λ default 1/n).
    Softmax,
    /// Lasso (1/2n)‖y − Xw‖² + λ‖w‖₁.
    Lasso,
    /// L1-regularised logistic regression.
    L1Logistic,
    /// Non-negative least squares.
    Nnls,
    /// Graph label propagation.
    Labelprop,
}

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

/// Block partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PartitionArg {
    /// Fixed contiguous blocks.
    Order,
    /// Fixed blocks sorted by Lipschitz constant.
    Sort,
    /// Fixed blocks mixing small and large constants.
    Avg,
    /// Variable blocks chosen by the rule each iteration.
    Variable,
    /// Colour classes of the graph (quadratics).
    RedBlack,
    /// Forests of the graph (quadratics).
    Tree,
    /// Greedy forests grown from the largest gradients (quadratics).
    GreedyTree,
}

/// Selection rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuleArg {
    /// Blocks in turn.
    Cyclic,
    /// Uniformly random.
    Random,
    /// Random ∝ Lipschitz constant.
    Lipschitz,
    /// Gauss–Southwell.
    Gs,
    /// Gauss–Southwell–Lipschitz.
    Gsl,
    /// Gauss–Southwell with a diagonal bound.
    Gsd,
    /// Gauss–Southwell with the block Hessian bound.
    Gsq,
    /// Proximal: minimum-norm subgradient.
    GsS,
    /// Proximal: largest proximal step.
    GsR,
    /// Proximal: largest model decrease.
    GsQ,
}

/// Updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum UpdateArg {
    /// Gradient step 1/L_b.
    Gradient,
    /// Step with the constant Hessian bound.
    Matrix,
    /// Newton with line search.
    Newton,
    /// Exact block minimisation (quadratics).
    Exact,
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
    /// The problem.
    #[arg(long, value_enum, default_value = "lasso")]
    pub problem: BcdProblem,
    /// Regularisation weight: L1 weight for lasso/l1-logistic, L2 weight for ls/logistic/softmax.
    #[arg(long, conflicts_with = "lambda_ratio")]
    pub lambda: Option<f64>,
    /// L1 weight as a fraction of λ_max (lasso, l1-logistic; default 0.1).
    #[arg(long)]
    pub lambda_ratio: Option<f64>,
    /// Fit an unpenalised intercept (one per class for softmax); it is reported, and the
    /// `--out` file holds the weights only.
    #[arg(long)]
    pub intercept: bool,
    /// Label column of a dense table.
    #[arg(long, value_enum, default_value = "last")]
    pub label_column: LabelColumnArg,
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
    #[arg(long, value_enum)]
    pub partition: Option<PartitionArg>,
    /// Selection rule (default: gs-q for L1/bounds, gsq otherwise, gs for labelprop).
    #[arg(long, value_enum)]
    pub rule: Option<RuleArg>,
    /// Coordinates per block (default 50; for labelprop's greedy trees, no cap).
    #[arg(long)]
    pub block_size: Option<usize>,
    /// Update (default: exact for labelprop, matrix for least squares, newton otherwise).
    #[arg(long, value_enum)]
    pub update: Option<UpdateArg>,
    /// Variable blocks: iterations between full scans of the greedy scores; in between, the
    /// rule picks among the 10·block-size best of the last scan (1: a full scan every time).
    #[arg(long, default_value_t = 10)]
    pub rescan: usize,
    /// Record no trace: convergence is then judged only by the solver's own gap checks, which
    /// count in its time (for timing comparisons).
    #[arg(long)]
    pub no_trace: bool,
    /// No active-set phase (L1 and bounds).
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

/// Label column of a dense table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LabelColumnArg {
    /// First column.
    First,
    /// Last column.
    Last,
}

fn read_design(path: &Path, col: LabelColumnArg) -> Result<(CsrMatrix, Vec<f64>), CliError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(match ext.as_str() {
        "csv" | "tsv" => dense_csv::read(
            path,
            match col {
                LabelColumnArg::First => LabelColumn::First,
                LabelColumnArg::Last => LabelColumn::Last,
            },
        )?,
        _ => svmlight::read(path, None)?,
    })
}

fn unif(state: &mut u64) -> f64 {
    // splitmix64: the lattice's labelled nodes, reproducible from --seed
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// The lattice label-propagation problem of the bench: a `side × side` lattice, each node
/// labelled with probability `fraction`, labels ±1 at random.
pub fn lattice_problem(side: usize, fraction: f64, seed: u64) -> Result<LabelPropagation, CliError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(CliError::Usage(format!(
            "--labelled must lie in (0, 1), got {fraction}"
        )));
    }
    let g = Graph::lattice(side, side)?;
    let mut s = seed ^ 0x1a77;
    let mut labels = Vec::new();
    for i in 0..side * side {
        if unif(&mut s) < fraction {
            labels.push((i, if unif(&mut s) < 0.5 { -1.0 } else { 1.0 }));
        }
    }
    if labels.is_empty() {
        labels.push((0, 1.0));
    }
    Ok(LabelPropagation::new(&g, &labels)?)
}

fn settings(args: &BcdArgs, smooth: bool, labelprop: bool, least_squares: bool) -> Bcd {
    let rule = match args.rule {
        Some(r) => match r {
            RuleArg::Cyclic => Rule::Cyclic,
            RuleArg::Random => Rule::Random,
            RuleArg::Lipschitz => Rule::Lipschitz,
            RuleArg::Gs => Rule::Gs,
            RuleArg::Gsl => Rule::Gsl,
            RuleArg::Gsd => Rule::Gsd,
            RuleArg::Gsq => Rule::Gsq,
            RuleArg::GsS => Rule::GsS,
            RuleArg::GsR => Rule::GsR,
            RuleArg::GsQ => Rule::GsQ,
        },
        None if labelprop => Rule::Gs,
        None if smooth => Rule::Gsq,
        None => Rule::GsQ,
    };
    let update = match args.update {
        Some(UpdateArg::Gradient) => Update::Gradient,
        Some(UpdateArg::Matrix) => Update::Matrix,
        Some(UpdateArg::Newton) => Update::Newton,
        Some(UpdateArg::Exact) => Update::Exact,
        None if labelprop => Update::Exact,
        None if least_squares => Update::Matrix,
        None => Update::Newton,
    };
    let mut bcd = Bcd::new(rule, update)
        .block_size(args.block_size.unwrap_or(if labelprop { usize::MAX } else { 50 }))
        .active_set(!args.no_active_set)
        .rescan(args.rescan)
        .seed(args.seed);
    bcd.partition = match args.partition {
        Some(PartitionArg::Order) => Partition::Order,
        Some(PartitionArg::Sort) => Partition::Sort,
        Some(PartitionArg::Avg) => Partition::Avg,
        Some(PartitionArg::Variable) => Partition::Variable,
        Some(PartitionArg::RedBlack) => Partition::RedBlack,
        Some(PartitionArg::Tree) => Partition::Tree,
        Some(PartitionArg::GreedyTree) => Partition::GreedyTree,
        None if labelprop && rule.is_greedy() => Partition::GreedyTree,
        None => bcd.partition,
    };
    bcd
}

fn solve<P: CoordinateProblem>(p: &P, bcd: &mut Bcd, args: &BcdArgs) -> Result<(BcdState, Report), CliError> {
    let mut options = run_options(args.tol, args.max_iters, args.time_limit)?;
    if args.no_trace {
        options = options.trace(TraceSchedule::Off);
    }
    let out = run_with_progress(p, bcd, &options, args.quiet)?;
    Ok((out.state, out.report))
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
    if let Some(l) = args.lambda {
        if !(l.is_finite() && l >= 0.0) {
            return Err(CliError::Usage(format!(
                "--lambda must be a finite number ≥ 0, got {l}"
            )));
        }
    }
    if let Some(r) = args.lambda_ratio {
        if !(r.is_finite() && r >= 0.0) {
            return Err(CliError::Usage(format!(
                "--lambda-ratio must be a finite number ≥ 0, got {r}"
            )));
        }
    }
    let mut details = serde_json::Map::new();
    if args.intercept && args.problem == BcdProblem::Labelprop {
        return Err(CliError::Usage(
            "--intercept applies to the regression problems, not labelprop".into(),
        ));
    }
    if args.save_data.is_some() && args.problem == BcdProblem::Labelprop {
        return Err(CliError::Usage(
            "--save-data writes a design matrix: not for labelprop".into(),
        ));
    }
    let (solution, shape, state, report) = if args.problem == BcdProblem::Labelprop {
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
            (None, None | Some(Generated::Lattice)) => lattice_problem(args.side, args.labelled, args.seed)?,
            (None, Some(g)) => {
                return Err(CliError::Usage(format!(
                "labelprop needs a graph: --generate lattice|moons or --data EDGES --labels FILE, not {g:?}"
            )))
            }
        };
        let mut bcd = settings(args, true, true, false);
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
            (Some(path), _) => read_design(path, args.label_column)?,
            (None, g) => {
                let kind = match (g, args.problem) {
                    (Some(Generated::Ls), _) => SyntheticKind::LeastSquares,
                    (Some(Generated::Logistic), _) => SyntheticKind::Logistic,
                    (Some(other), _) => {
                        return Err(CliError::Usage(format!(
                            "--generate {other:?} makes a graph: use it with --problem labelprop"
                        )))
                    }
                    (None, BcdProblem::Logistic | BcdProblem::L1Logistic | BcdProblem::Softmax) => {
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
        let n = x.nrows() as f64;
        let (loss, smooth_l2, l1) = match args.problem {
            BcdProblem::Ls => (Loss::Squared, args.lambda.unwrap_or(0.0), false),
            BcdProblem::Nnls => (Loss::Squared, args.lambda.unwrap_or(0.0), false),
            BcdProblem::Logistic => (Loss::Logistic, args.lambda.unwrap_or(1.0 / n), false),
            BcdProblem::Softmax => (Loss::Softmax, args.lambda.unwrap_or(1.0 / n), false),
            BcdProblem::Lasso => (Loss::Squared, 0.0, true),
            BcdProblem::L1Logistic => (Loss::Logistic, 0.0, true),
            BcdProblem::Labelprop => unreachable!("handled above"),
        };
        let pen0 = if args.problem == BcdProblem::Nnls {
            Penalty::NonNegative
        } else {
            Penalty::None
        };
        let glm = if args.intercept {
            Glm::with_intercept(x, y, loss, smooth_l2, pen0)?
        } else {
            Glm::new(x, y, loss, smooth_l2, pen0)?
        };
        let glm = if l1 {
            let lmax = glm.lambda_max();
            let lam = args.lambda.unwrap_or(args.lambda_ratio.unwrap_or(0.1) * lmax);
            details.insert("lambda_max".into(), json!(lmax));
            details.insert("lambda".into(), json!(lam));
            glm.with_penalty(Penalty::L1(lam))?
        } else {
            if args.lambda_ratio.is_some() {
                return Err(CliError::Usage(
                    "--lambda-ratio applies to the L1 problems (lasso, l1-logistic)".into(),
                ));
            }
            details.insert("lambda".into(), json!(smooth_l2));
            glm
        };
        let mut bcd = settings(args, !l1 && pen0 == Penalty::None, false, loss == Loss::Squared);
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
    if let Some(path) = &args.out {
        npy::write_f64(path, &shape, &solution)?;
    }
    let nnz = solution.iter().filter(|v| **v != 0.0).count();
    if let Some(path) = &args.json {
        write_json(
            path,
            &json!({"command": "bcd", "problem": format!("{:?}", args.problem).to_lowercase(),
                    "dimension": solution.len(), "nonzeros": nnz,
                    "coordinate_updates": state.coordinate_updates, "newton_steps": state.newton_steps,
                    "newton_since": state.newton_since,
                    "details": details, "report": report}),
        )?;
    }
    if !args.quiet {
        println!("{}", report.summary());
        println!(
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
            println!("{k}: {v}");
        }
    }
    Ok(if report.status.is_converged() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
