//! `solvent allocate`: choose one compression level per layer to minimise the summed
//! distortion under a global budget.
//!
//! Input: an options table (`--table`, JSON or CSV; schema in
//! `solvent_problems::allocation::load`), a safetensors model whose curves are measured here
//! (`--model`, optionally `--calib DIR`), or a built-in synthetic table (`--generate LxK`, the
//! default: 1000 layers × 101 levels). Output: the allocation (`--out`), the report (`--json`)
//! and, for a model, the pruned model (`--write-pruned`).

use super::{check_output_path, write_json, CliError};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use solvent_problems::allocation::{
    read_table, synthetic_table, CurveSpec, Model, OptionTable, SyntheticTable,
};
use solvent_solvers::allocation::{
    baselines, dp, hull, two_budget, Additive, Evaluator, EvolveSettings, EvolveSolver, ExactDpSolver, Mckp,
};
use solvent_solvers::{run as run_solver, Options, SolverError};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// How to allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AllocMethod {
    /// Exact dynamic programming (the default).
    Dp,
    /// Convex-hull / Lagrangian greedy (fast; its LP bound is the lower bound).
    Lagrange,
    /// DP, then evolutionary refinement under --evaluator (EvoPress-style level swaps).
    Evolve,
    /// One level for every layer.
    Uniform,
    /// One magnitude threshold over all weights (needs --model).
    Global,
    /// Erdős–Rényi-kernel densities (needs shapes).
    Erk,
    /// LAMP scores with one global threshold (needs --model).
    Lamp,
}

impl AllocMethod {
    fn name(self) -> &'static str {
        match self {
            Self::Dp => "dp",
            Self::Lagrange => "lagrange",
            Self::Evolve => "evolve",
            Self::Uniform => "uniform",
            Self::Global => "global",
            Self::Erk => "erk",
            Self::Lamp => "lamp",
        }
    }
}

/// Arguments of `solvent allocate`.
#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// Options table (.json or .csv).
    #[arg(long, conflicts_with_all = ["model", "generate"])]
    pub table: Option<PathBuf>,
    /// A safetensors model: curves are measured by magnitude pruning of each selected tensor.
    #[arg(long, conflicts_with = "generate")]
    pub model: Option<PathBuf>,
    /// Calibration inputs for --model: DIR/<tensor name>.npy of shape (samples, in_features);
    /// distortion becomes ‖(W − Ŵ)X‖²_F instead of ‖W − Ŵ‖²_F.
    #[arg(long, requires = "model")]
    pub calib: Option<PathBuf>,
    /// --model: prune only tensors matching this pattern (`*`, `?`; repeatable). Default: every
    /// ≥ 2-D floating-point tensor.
    #[arg(long, requires = "model")]
    pub include: Vec<String>,
    /// --model: skip tensors matching this pattern (repeatable).
    #[arg(long, requires = "model")]
    pub exclude: Vec<String>,
    /// Built-in synthetic table LAYERSxLEVELS (used when neither --table nor --model is given).
    #[arg(long, default_value = "1000x101")]
    pub generate: String,
    /// Sparsity levels for --model (0%, 1/(K−1), …, 100%).
    #[arg(long, default_value_t = 101)]
    pub levels: usize,
    /// Budget as a fraction of the dense total cost (0.5 keeps half: 50% global sparsity).
    #[arg(long, conflicts_with = "budget")]
    pub budget_frac: Option<f64>,
    /// Budget in cost units (e.g. kept parameters).
    #[arg(long)]
    pub budget: Option<u64>,
    /// The resource the budget is in (a cost name of the table: params, flops, …).
    #[arg(long, default_value = "params")]
    pub cost: String,
    /// A second budget's resource (solved by Lagrangian relaxation, --method dp only).
    #[arg(long)]
    pub second_cost: Option<String>,
    /// The second budget as a fraction of its dense total.
    #[arg(long, requires = "second_cost", conflicts_with = "second_budget")]
    pub second_budget_frac: Option<f64>,
    /// The second budget in its units.
    #[arg(long, requires = "second_cost")]
    pub second_budget: Option<u64>,
    /// Budget resolution: scale costs so the budget is about this many units, trading
    /// exactness (the rounding bound is reported) for speed and memory on huge instances.
    /// 0 (the default): exact costs.
    #[arg(long, default_value_t = 0)]
    pub resolution: u64,
    /// Method.
    #[arg(long, value_enum, default_value = "dp")]
    pub method: AllocMethod,
    /// Also run the baselines that apply and compare them in the summary and the report.
    #[arg(long)]
    pub compare: bool,
    /// --method evolve: a shell command that reads an allocation (JSON) on stdin and prints its
    /// distortion (the last line of stdout); the stage is in $SOLVENT_EVAL_STAGE. Default:
    /// the table's additive distortion.
    #[arg(long)]
    pub evaluator: Option<String>,
    /// --method evolve: selection stages the evaluator supports.
    #[arg(long, default_value_t = 1)]
    pub eval_stages: usize,
    /// --method evolve: generations.
    #[arg(long, default_value_t = 50)]
    pub generations: usize,
    /// --method evolve: stop after this many seconds of search.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// --method evolve: stop after this many generations without improvement.
    #[arg(long)]
    pub stall: Option<usize>,
    /// --method evolve: children per generation.
    #[arg(long, default_value_t = 64)]
    pub offspring: usize,
    /// Seed (synthetic tables, evolutionary search).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the allocation here (JSON).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// --model: write the pruned model here (safetensors).
    #[arg(long, requires = "model")]
    pub write_pruned: Option<PathBuf>,
    /// Write the options table used (e.g. the curves measured from --model) here (JSON).
    #[arg(long)]
    pub save_table: Option<PathBuf>,
    /// Write the report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress and no summary.
    #[arg(long)]
    pub quiet: bool,
}

fn spinner(quiet: bool, msg: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn budget_of(
    table: &OptionTable,
    r: usize,
    frac: Option<f64>,
    abs: Option<u64>,
    what: &str,
) -> Result<u64, CliError> {
    let dense = table.max_total(r);
    match (frac, abs) {
        (_, Some(b)) => Ok(b),
        (f, None) => {
            let f = f.unwrap_or(0.5);
            if !(f > 0.0 && f <= 1.0) {
                return Err(CliError::Usage(format!(
                    "{what} fraction must be in (0, 1], got {f}"
                )));
            }
            Ok((f * dense as f64).floor() as u64)
        }
    }
}

/// A shell command as the evaluator.
struct CommandEvaluator<'a> {
    command: String,
    stages: usize,
    table: &'a OptionTable,
}

impl Evaluator for CommandEvaluator<'_> {
    fn stages(&self) -> usize {
        self.stages
    }
    fn evaluate(&mut self, choice: &[usize], stage: usize) -> Result<f64, SolverError> {
        let fail = |m: String| SolverError::NotApplicable(format!("evaluator `{}`: {m}", self.command));
        let input = allocation_layers(self.table, choice).to_string();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("SOLVENT_EVAL_STAGE", stage.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // an evaluator may ignore its input and exit first: a closed pipe is not an error,
            // its output and exit status decide
            match stdin.write_all(input.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(fail(format!("writing stdin: {e}")))
                }
                _ => {}
            }
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(format!("exited with {}", out.status)));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        match last.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(fail(format!(
                "last line of its output, \"{last}\", is not a finite number"
            ))),
        }
    }
}

fn allocation_layers(table: &OptionTable, choice: &[usize]) -> Value {
    let layers: Vec<Value> = table
        .layers
        .iter()
        .zip(choice)
        .map(|(l, &k)| {
            let o = &l.options[k];
            let cost: serde_json::Map<String, Value> =
                table.resources.iter().zip(&o.cost).map(|(r, c)| (r.clone(), json!(c))).collect();
            json!({"name": l.name, "level": o.level, "sparsity": o.sparsity, "cost": cost, "distortion": o.distortion})
        })
        .collect();
    json!({ "layers": layers })
}

fn totals(table: &OptionTable, choice: &[usize]) -> serde_json::Map<String, Value> {
    table
        .resources
        .iter()
        .enumerate()
        .map(|(r, n)| (n.clone(), json!(table.total_cost(choice, r))))
        .collect()
}

/// Runs `solvent allocate`.
pub fn run(args: &AllocateArgs) -> Result<ExitCode, CliError> {
    for (p, what) in [
        (&args.out, "the allocation"),
        (&args.json, "the report"),
        (&args.write_pruned, "the pruned model"),
        (&args.save_table, "the table"),
    ] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    let t0 = Instant::now();
    // The table (and, for a model, the weights for the magnitude baselines).
    let mut model = None;
    let mut sorted_sq = None;
    let (table, source) = if let Some(path) = &args.table {
        (read_table(path)?, json!({"table": path}))
    } else if let Some(path) = &args.model {
        let bar = spinner(args.quiet, "measuring pruning curves");
        let m = Model::open(path)?;
        let curves = m.curves(&CurveSpec {
            levels: args.levels,
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            calib: args.calib.clone(),
        });
        bar.finish_and_clear();
        let curves = curves?;
        sorted_sq = Some(curves.sorted_sq);
        model = Some(m);
        (
            curves.table,
            json!({"model": path, "calib": args.calib, "levels": args.levels}),
        )
    } else {
        let (l, k) = args
            .generate
            .split_once('x')
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--generate wants LAYERSxLEVELS, got \"{}\"",
                    args.generate
                ))
            })?;
        let t = synthetic_table(&SyntheticTable {
            layers: l,
            levels: k,
            min_size: 10_000,
            max_size: 1_000_000,
            noise: 0.05,
            seed: args.seed,
        })?;
        (t, json!({"generate": args.generate, "seed": args.seed}))
    };
    let curves_s = t0.elapsed().as_secs_f64();
    if let Some(p) = &args.save_table {
        solvent_problems::allocation::write_json(&table, p)?;
    }
    let r = table.resource(&args.cost)?;
    let budget = budget_of(&table, r, args.budget_frac, args.budget, "--budget-frac")?;
    let p = Mckp::from_table(&table, r, budget)?;
    let (q, scaling) = p.scaled(args.resolution);
    let bound = hull::lagrange(&p); // LP on true costs: certifies every method
    let second = match &args.second_cost {
        Some(name) => {
            if args.method != AllocMethod::Dp {
                return Err(CliError::Usage(
                    "two budgets are solved by --method dp only".into(),
                ));
            }
            let r2 = table.resource(name)?;
            if r2 == r {
                return Err(CliError::Usage(format!(
                    "--second-cost {name} is the same resource as --cost"
                )));
            }
            let b2 = budget_of(
                &table,
                r2,
                args.second_budget_frac,
                args.second_budget,
                "--second-budget-frac",
            )?;
            Some((r2, b2))
        }
        None => None,
    };

    let t1 = Instant::now();
    let mut extra = serde_json::Map::new();
    let mut run_report: Option<Value> = None;
    let need_weights = |m: AllocMethod| -> Result<&Vec<Vec<f64>>, CliError> {
        sorted_sq.as_ref().ok_or_else(|| {
            CliError::Usage(format!(
                "--method {} ranks individual weights: it needs --model",
                m.name()
            ))
        })
    };
    let (choice, lower_bound) = match args.method {
        AllocMethod::Dp => match second {
            None => {
                // Through the shared run loop: the greedy is the start, the DP one step.
                let out = run_solver(
                    &q,
                    &mut ExactDpSolver::default(),
                    &Options::default().tol(1e-12).max_iters(1),
                )?;
                extra.insert(
                    "dp".into(),
                    serde_json::to_value(out.state.stats).unwrap_or(Value::Null),
                );
                run_report = Some(serde_json::to_value(&out.report).unwrap_or(Value::Null));
                let c = out.state.choice;
                // Scaled costs shrink the feasible set: never return worse than the exact-cost
                // greedy, and say so when it wins.
                if scaling.unit > 1.0 && bound.value < p.value_of(&c) {
                    extra.insert("scaled_dp_replaced_by_greedy".into(), json!(p.value_of(&c)));
                    (bound.choice.clone(), bound.lower_bound)
                } else {
                    (c, bound.lower_bound)
                }
            }
            Some((r2, b2)) => {
                let costs2: Vec<Vec<u64>> = table
                    .layers
                    .iter()
                    .map(|l| l.options.iter().map(|o| o.cost[r2]).collect())
                    .collect();
                let s = two_budget::solve(&q, &costs2, b2)?;
                extra.insert(
                    "second_budget".into(),
                    json!({"resource": table.resources[r2], "budget": b2, "cost": s.cost2, "mu": s.mu,
                           "dp_solves": s.dp_solves, "dual_bound": s.lower_bound}),
                );
                (s.choice, s.lower_bound)
            }
        },
        AllocMethod::Lagrange => {
            extra.insert("lambda".into(), json!(bound.lambda));
            (bound.choice.clone(), bound.lower_bound)
        }
        AllocMethod::Evolve => {
            let start = dp::solve(&q)?;
            let settings = EvolveSettings {
                offspring: args.offspring,
                seed: args.seed,
                ..EvolveSettings::default()
            };
            let mut options =
                super::run_options(f64::MIN_POSITIVE, args.generations.max(1), args.time_limit)?;
            if let Some(k) = args.stall {
                options = options.stall_iters(k);
            }
            let mut additive = Additive { values: &p.values };
            let mut command;
            let evaluator: &mut dyn Evaluator = match &args.evaluator {
                Some(cmd) => {
                    command = CommandEvaluator {
                        command: cmd.clone(),
                        stages: args.eval_stages.max(1),
                        table: &table,
                    };
                    &mut command
                }
                None => &mut additive,
            };
            let mut solver = EvolveSolver {
                start: start.choice.clone(),
                evaluator,
                settings,
            };
            let out = super::run_with_progress(&p, &mut solver, &options, args.quiet)?;
            let st = out.state;
            extra.insert(
                "evolve".into(),
                json!({"start_value": st.start_value, "value": st.value, "evaluations": st.evaluations,
                       "history": st.history, "evaluator": args.evaluator.as_deref().unwrap_or("additive")}),
            );
            run_report = Some(serde_json::to_value(&out.report).unwrap_or(Value::Null));
            (st.choice, bound.lower_bound)
        }
        AllocMethod::Uniform => (baselines::uniform(&table, r, budget)?, bound.lower_bound),
        AllocMethod::Erk => (baselines::erk(&table, r, budget)?, bound.lower_bound),
        AllocMethod::Global => (
            baselines::global_magnitude(&table, r, budget, need_weights(AllocMethod::Global)?)?,
            bound.lower_bound,
        ),
        AllocMethod::Lamp => (
            baselines::lamp(&table, r, budget, need_weights(AllocMethod::Lamp)?)?,
            bound.lower_bound,
        ),
    };
    let solve_s = t1.elapsed().as_secs_f64();
    let total_distortion = table.total_distortion(&choice);
    let total_cost = table.total_cost(&choice, r);

    // Comparison with the other methods.
    let mut compare = Vec::new();
    if args.compare {
        let mut add = |name: &str, c: Result<Vec<usize>, SolverError>| match c {
            Ok(c) => compare.push(
                json!({"method": name, "total_distortion": table.total_distortion(&c),
                                          "total_cost": table.total_cost(&c, r)}),
            ),
            Err(e) => compare.push(json!({"method": name, "error": e.to_string()})),
        };
        if args.method != AllocMethod::Dp || second.is_some() {
            add("dp", dp::solve(&q).map(|s| s.choice));
        }
        add("lagrange", Ok(bound.choice.clone()));
        add("uniform", baselines::uniform(&table, r, budget));
        add("erk", baselines::erk(&table, r, budget));
        if let Some(sq) = &sorted_sq {
            add("global", baselines::global_magnitude(&table, r, budget, sq));
            add("lamp", baselines::lamp(&table, r, budget, sq));
        }
    }

    let mut allocation = allocation_layers(&table, &choice);
    let gap = total_distortion - lower_bound;
    if let Value::Object(o) = &mut allocation {
        o.insert("method".into(), json!(args.method.name()));
        o.insert("resource".into(), json!(table.resources[r]));
        o.insert("budget".into(), json!(budget));
        o.insert("total_cost".into(), Value::Object(totals(&table, &choice)));
        o.insert("total_distortion".into(), json!(total_distortion));
        o.insert("lower_bound".into(), json!(lower_bound));
        o.insert("gap".into(), json!(gap));
    }
    if let Some(path) = &args.out {
        write_json(path, &allocation)?;
    }
    if let (Some(out), Some(m)) = (&args.write_pruned, &model) {
        // Pruned count = size − kept, exactly what the allocation's params cost says.
        let pruned: HashMap<String, usize> = table
            .layers
            .iter()
            .zip(&choice)
            .map(|(l, &k)| (l.name.clone(), (l.size() - l.options[k].cost[0]) as usize))
            .collect();
        m.write_pruned(&pruned, out)?;
    }
    let report = json!({
        "command": "allocate",
        "source": source,
        "method": args.method.name(),
        "layers": table.layers.len(),
        "options": table.layers.iter().map(|l| l.options.len()).sum::<usize>(),
        "resource": table.resources[r],
        "budget": budget,
        "dense_total": table.max_total(r),
        "total_cost": totals(&table, &choice),
        "total_distortion": total_distortion,
        "lower_bound": lower_bound,
        "gap": gap,
        "relative_gap": if total_distortion > 0.0 { gap / total_distortion } else { 0.0 },
        "lp_lambda": bound.lambda,
        "scaling": scaling,
        "seconds": {"curves": curves_s, "solve": solve_s},
        "details": Value::Object(extra),
        "compare": compare,
        "run": run_report,
    });
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if !args.quiet {
        println!(
            "{}: {} layers, budget {} {} of {} ({:.1}%): cost {}, distortion {:.6e}, lower bound {:.6e} \
             (gap {:.2e}, {:.3}%), scaling unit {:.3} (rounding ≤ {:.0}), solved in {:.3} s",
            args.method.name(),
            table.layers.len(),
            budget,
            table.resources[r],
            table.max_total(r),
            100.0 * budget as f64 / table.max_total(r).max(1) as f64,
            total_cost,
            total_distortion,
            lower_bound,
            gap,
            if total_distortion > 0.0 {
                100.0 * gap / total_distortion
            } else {
                0.0
            },
            scaling.unit,
            scaling.cost_rounding,
            solve_s
        );
        for c in &compare {
            match (c.get("total_distortion"), c.get("error")) {
                (Some(d), _) => println!(
                    "  {:<9} distortion {:.6e}",
                    c["method"].as_str().unwrap_or(""),
                    d.as_f64().unwrap_or(f64::NAN)
                ),
                (_, Some(e)) => println!(
                    "  {:<9} n/a: {}",
                    c["method"].as_str().unwrap_or(""),
                    e.as_str().unwrap_or("")
                ),
                _ => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
