//! `solvent allocate`: choose one compression level per layer to minimise the summed
//! distortion under a global budget.
//!
//! Input: an options table (`--table`, JSON or CSV; schema in
//! `solvent_problems::allocation::load`), a safetensors model whose curves are measured here
//! (`--model`, optionally `--calib DIR`), or a built-in synthetic table (`--generate LxK`, the
//! default: 1000 layers × 101 levels). Output: the allocation (`--out`), the report (`--json`)
//! and, for a model, the pruned model (`--write-pruned`).

use super::{check_output_path, named, write_json, CliError};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use solvent_problems::allocation::{read_table, synthetic_table, CurveSpec, Model, SyntheticTable};
use solvent_solvers::allocation::{
    allocate, AllocateRequest, Allocation, AllocationMethod, Budget, CommandEvaluator, EvolveRequest,
    EvolveSettings,
};
use solvent_solvers::{Envelope, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The files of a model directory the runner reads (outputs must not overwrite them).
pub(crate) const MODEL_DIR_FILES: [&str; 4] = [
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "sentence_bert_config.json",
];

/// The files of the model directory `dir`, the inputs no output may overwrite
/// (none when `dir` is not a directory).
pub(crate) fn model_dir_inputs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    MODEL_DIR_FILES.iter().map(|f| dir.join(f)).collect()
}

/// What `--model` curves measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DistortionKind {
    /// Each layer's own weight-space error.
    Weight,
    /// The network's output (needs the `nn` feature).
    Output,
}

/// Arguments of `solvent allocate`.
#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// Options table (.json or .csv).
    #[arg(long, conflicts_with_all = ["model", "generate"])]
    pub table: Option<PathBuf>,
    /// A model. With `--distortion weight` (the default): a safetensors file, curves measured
    /// by magnitude pruning of each selected tensor as the layer's own weight-space error
    /// ‖W − Ŵ‖²_F (‖(W − Ŵ)X‖²_F with --calib; in weight space global magnitude pruning is
    /// already near-optimal, so the exact DP adds little). With `--distortion output`: a
    /// BERT-family model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long, conflicts_with = "generate")]
    pub model: Option<PathBuf>,
    /// What a layer's distortion is: `weight` (its own weight-space error) or `output` (the
    /// network's output: each encoder linear layer pruned alone to each level, the model run
    /// on the calibration sentences from that layer onward, the mean squared change of the
    /// normalised pooled embeddings; needs the `nn` feature; curves are cached).
    #[arg(long, value_enum, default_value = "weight", requires = "model")]
    pub distortion: DistortionKind,
    /// --distortion output: calibration text, one sentence per line (default: the 300
    /// sentences that ship with Solvent).
    #[arg(long, requires = "model")]
    pub calibration: Option<PathBuf>,
    /// --distortion output: use the first N calibration sentences [default: 256].
    #[arg(long)]
    pub calibration_sentences: Option<usize>,
    /// --distortion output: the order weights are pruned in inside a layer: magnitude |W|,
    /// or wanda |W|·‖X‖ (input-feature norms over the calibration tokens) [default: magnitude].
    #[arg(long)]
    pub score: Option<String>,
    /// --distortion output: which output's change is the distortion: embedding (the
    /// normalised pooled sentence embedding) or hidden (the last hidden states) [default:
    /// embedding].
    #[arg(long)]
    pub target: Option<String>,
    /// --distortion output: where curves are cached (default: $XDG_CACHE_HOME/solvent, else
    /// ~/.cache/solvent).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// --distortion output: measure the curves even when cached, and do not store them.
    #[arg(long)]
    pub no_cache: bool,
    /// Calibration inputs for --model: `DIR/<tensor name>.npy` of shape (samples, in_features);
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
    /// Sparsity levels for --model (0%, 1/(K−1), …, 100%); default 101 for weight-space
    /// curves, 21 (5% steps) for output curves (each point is a run of the network).
    #[arg(long)]
    pub levels: Option<usize>,
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
    /// Method: dp (exact), lagrange (convex hull + greedy), evolve (DP then evolutionary
    /// refinement under --evaluator), uniform, global (one magnitude threshold; needs
    /// --model), erk, lamp (needs --model).
    #[arg(long, value_parser = named::<AllocationMethod>(), default_value = "dp")]
    pub method: AllocationMethod,
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

/// The budget the flags ask for (half the dense total when none is given).
fn budget(frac: Option<f64>, abs: Option<u64>) -> Budget {
    match (frac, abs) {
        (_, Some(b)) => Budget::Units(b),
        (f, None) => Budget::Fraction(f.unwrap_or(0.5)),
    }
}

#[derive(Serialize)]
struct Inputs {
    source: serde_json::Value,
    layers: usize,
    options: usize,
}

#[derive(Serialize)]
struct Body<'a> {
    source: &'a serde_json::Value,
    options: usize,
    seconds: Seconds,
    #[serde(flatten)]
    allocation: &'a Allocation,
}

#[derive(Serialize)]
struct Seconds {
    curves: f64,
    solve: f64,
}

/// What `--out` holds: the allocation's layers and totals.
#[derive(Serialize)]
struct AllocationFile<'a> {
    layers: &'a [solvent_solvers::allocation::LayerChoice],
    method: AllocationMethod,
    resource: &'a str,
    budget: u64,
    total_cost: &'a std::collections::BTreeMap<String, u64>,
    total_distortion: f64,
    lower_bound: f64,
    gap: f64,
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
    // A model directory's files are inputs too (--write-pruned DIR/model.safetensors would
    // overwrite the model).
    let model_files = args.model.as_deref().map(model_dir_inputs).unwrap_or_default();
    let mut inputs = vec![
        (args.table.as_deref(), "the table"),
        (args.model.as_deref(), "the model"),
        (args.calibration.as_deref(), "the calibration text"),
    ];
    inputs.extend(
        model_files
            .iter()
            .map(|p| (Some(p.as_path()), "a file of the model")),
    );
    super::check_files(
        &inputs,
        &[
            (args.out.as_deref(), "the allocation"),
            (args.json.as_deref(), "the report"),
            (args.write_pruned.as_deref(), "the pruned model"),
            (args.save_table.as_deref(), "the table written"),
        ],
    )?;
    if args.model.is_none() {
        for (flag, given) in [
            ("--write-pruned", args.write_pruned.is_some()),
            ("--calib", args.calib.is_some()),
            ("--include", !args.include.is_empty()),
            ("--exclude", !args.exclude.is_empty()),
        ] {
            if given {
                return Err(CliError::Usage(format!(
                    "{flag} applies to --model (a safetensors model)"
                )));
            }
        }
    }
    let output = args.distortion == DistortionKind::Output;
    for (flag, given, applies) in [
        ("--calib", args.calib.is_some(), !output),
        ("--include", !args.include.is_empty(), !output),
        ("--exclude", !args.exclude.is_empty(), !output),
        ("--calibration", args.calibration.is_some(), output),
        (
            "--calibration-sentences",
            args.calibration_sentences.is_some(),
            output,
        ),
        ("--score", args.score.is_some(), output),
        ("--target", args.target.is_some(), output),
        ("--cache-dir", args.cache_dir.is_some(), output),
        ("--no-cache", args.no_cache, output),
    ] {
        if given && !applies {
            return Err(CliError::Usage(format!(
                "{flag} does not apply with --distortion {}",
                if output {
                    "output (every encoder linear layer is measured on --calibration)"
                } else {
                    "weight"
                }
            )));
        }
    }
    if matches!(args.method, AllocationMethod::Global | AllocationMethod::Lamp) && args.model.is_none() {
        return Err(CliError::Usage(format!(
            "--method {} ranks individual weights: it needs --model",
            args.method
        )));
    }
    let t0 = Instant::now();
    // The table (and, for a model, the weights for the magnitude baselines).
    let mut model = None;
    let mut sorted_sq = None;
    let mut prepared: Option<OutputCurves> = None;
    let (table, source) = if let Some(path) = &args.table {
        (read_table(path)?, serde_json::json!({"table": path}))
    } else if let (Some(path), DistortionKind::Output) = (&args.model, args.distortion) {
        let (p, source) = output_curves(args, path)?;
        let table = p.table()?;
        sorted_sq = Some(p.sorted_squares());
        prepared = Some(p);
        (table, source)
    } else if let Some(path) = &args.model {
        let levels = args.levels.unwrap_or(101);
        let bar = spinner(args.quiet, "measuring pruning curves");
        let m = Model::open(path)?;
        let curves = m.curves(&CurveSpec {
            levels,
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
            serde_json::json!({"model": path, "calib": args.calib, "levels": levels}),
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
        (
            t,
            serde_json::json!({"generate": args.generate, "seed": args.seed}),
        )
    };
    let curves_s = t0.elapsed().as_secs_f64();
    if let Some(p) = &args.save_table {
        solvent_problems::allocation::write_json(&table, p)?;
    }
    let mut command;
    #[cfg(feature = "nn")]
    let mut joint;
    let evaluator: Option<&mut dyn solvent_solvers::allocation::Evaluator> =
        match (&args.evaluator, &prepared) {
            (Some(cmd), _) => {
                command = CommandEvaluator {
                    command: cmd.clone(),
                    stages: args.eval_stages.max(1),
                    table: &table,
                };
                Some(&mut command)
            }
            #[cfg(feature = "nn")]
            (None, Some(p)) => {
                // The true joint distortion: screened on 64 sentences, decided on all.
                joint = solvent_nn::JointEvaluator::new(
                    &p.prepared.cal,
                    &p.prepared.layers,
                    &p.prepared.curves,
                    p.target,
                    64,
                );
                Some(&mut joint)
            }
            _ => None,
        };
    if let Some(t) = args.time_limit {
        if !(t > 0.0 && t.is_finite()) {
            return Err(CliError::Usage(format!("--time-limit must be positive, got {t}")));
        }
    }
    let request = AllocateRequest {
        method: args.method,
        resource: args.cost.clone(),
        budget: budget(args.budget_frac, args.budget),
        second: args
            .second_cost
            .clone()
            .map(|c| (c, budget(args.second_budget_frac, args.second_budget))),
        resolution: args.resolution,
        sorted_sq: sorted_sq.as_deref(),
        evolve: EvolveRequest {
            settings: EvolveSettings {
                generations: args.generations,
                offspring: args.offspring,
                seed: args.seed,
                ..EvolveSettings::default()
            },
            time_limit: args.time_limit.map(std::time::Duration::from_secs_f64),
            stall: args.stall,
            evaluator,
        },
        compare: args.compare,
    };
    let bar = spinner(
        args.quiet || args.method != AllocationMethod::Evolve,
        "evolutionary search",
    );
    let alloc = allocate(&table, request);
    bar.finish_and_clear();
    let alloc = alloc?;
    if let Some(path) = &args.out {
        write_json(
            path,
            &AllocationFile {
                layers: &alloc.layers,
                method: alloc.method,
                resource: &alloc.resource,
                budget: alloc.budget,
                total_cost: &alloc.total_cost,
                total_distortion: alloc.total_distortion,
                lower_bound: alloc.lower_bound,
                gap: alloc.gap,
            },
        )?;
    }
    if let (Some(out), Some(m)) = (&args.write_pruned, &model) {
        m.write_pruned(&alloc.pruned_counts(&table), out)?;
    }
    if let (Some(out), Some(p)) = (&args.write_pruned, &prepared) {
        p.write_pruned(&alloc.pruned_counts(&table), out)?;
    }
    let options = table.layers.iter().map(|l| l.options.len()).sum::<usize>();
    if let Some(path) = &args.json {
        let envelope = Envelope::new(
            "allocate",
            Inputs {
                source: source.clone(),
                layers: table.layers.len(),
                options,
            },
            Outcome {
                converged: true,
                summary: format!(
                    "distortion {:.6e}, {:.3}% above the lower bound",
                    alloc.total_distortion,
                    100.0 * alloc.relative_gap
                ),
            },
            Body {
                source: &source,
                options,
                seconds: Seconds {
                    curves: curves_s,
                    solve: alloc.solve_s,
                },
                allocation: &alloc,
            },
        )
        .timing("wall_s", t0.elapsed().as_secs_f64())
        .timing("curves_s", curves_s)
        .timing("solve_s", alloc.solve_s);
        write_json(path, &envelope)?;
    }
    if !args.quiet {
        let r = table.resource(&alloc.resource)?;
        crate::outln!(
            "{}: {} layers, budget {} {} of {} ({:.1}%): cost {}, distortion {:.6e}, lower bound {:.6e} \
             (gap {:.2e}, {:.3}%), scaling unit {:.3} (rounding ≤ {:.0}), solved in {:.3} s",
            alloc.method,
            table.layers.len(),
            alloc.budget,
            alloc.resource,
            alloc.dense_total,
            100.0 * alloc.budget as f64 / alloc.dense_total.max(1) as f64,
            table.total_cost(&alloc.choice, r),
            alloc.total_distortion,
            alloc.lower_bound,
            alloc.gap,
            100.0 * alloc.relative_gap,
            alloc.scaling.unit,
            alloc.scaling.cost_rounding,
            alloc.solve_s
        );
        for c in &alloc.compare {
            match (c.total_distortion, &c.error) {
                (Some(d), _) => crate::outln!("  {:<9} distortion {d:.6e}", c.method.as_str()),
                (_, Some(e)) => crate::outln!("  {:<9} n/a: {e}", c.method.as_str()),
                _ => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Output-distortion curves of a model directory and what the allocation needs of them.
#[cfg(feature = "nn")]
struct OutputCurves {
    prepared: solvent_nn::Prepared,
    target: solvent_nn::Target,
    score: solvent_nn::Score,
}

#[cfg(feature = "nn")]
impl OutputCurves {
    fn table(&self) -> Result<solvent_problems::allocation::OptionTable, CliError> {
        Ok(self.prepared.curves.table(self.target)?)
    }

    /// Each layer's squared weights in increasing order (the magnitude baselines).
    fn sorted_squares(&self) -> Vec<Vec<f64>> {
        self.prepared
            .layers
            .iter()
            .map(|l| {
                let mut sq: Vec<f64> = l.weights.iter().map(|&w| f64::from(w) * f64::from(w)).collect();
                sq.sort_unstable_by(f64::total_cmp);
                sq
            })
            .collect()
    }

    /// Writes the model's safetensors file with the allocation applied (magnitude order, as
    /// the curves were measured; every other tensor bit-identical).
    fn write_pruned(
        &self,
        counts: &std::collections::HashMap<String, usize>,
        out: &std::path::Path,
    ) -> Result<(), CliError> {
        if self.score != solvent_nn::Score::Magnitude {
            return Err(CliError::Usage(
                "--write-pruned writes magnitude-pruned weights; it does not support --score wanda yet"
                    .into(),
            ));
        }
        let m = Model::open(self.prepared.model.dir.join("model.safetensors"))?;
        // Checkpoints saved from BertForXxx name the tensors "bert.encoder…"; the runner
        // strips the prefix, the file keeps it.
        let names: std::collections::HashSet<String> = m.describe().into_iter().map(|(n, _, _)| n).collect();
        let counts: std::collections::HashMap<String, usize> = counts
            .iter()
            .map(|(n, &c)| {
                let prefixed = format!("bert.{n}");
                (
                    if !names.contains(n) && names.contains(&prefixed) {
                        prefixed
                    } else {
                        n.clone()
                    },
                    c,
                )
            })
            .collect();
        m.write_pruned(&counts, out)?;
        Ok(())
    }
}

/// Measures (or reads from the cache) the output-distortion curves `args` ask for.
#[cfg(feature = "nn")]
fn output_curves(
    args: &AllocateArgs,
    dir: &std::path::Path,
) -> Result<(OutputCurves, serde_json::Value), CliError> {
    let score: solvent_nn::Score = args
        .score
        .as_deref()
        .unwrap_or("magnitude")
        .parse()
        .map_err(CliError::Usage)?;
    let target = parse_target(args.target.as_deref().unwrap_or("embedding"))?;
    let levels = args.levels.unwrap_or(21);
    if args.write_pruned.is_some() && score != solvent_nn::Score::Magnitude {
        return Err(CliError::Usage(
            "--write-pruned writes magnitude-pruned weights; it does not support --score wanda yet".into(),
        ));
    }
    let sentences = calibration_sentences(
        args.calibration.as_deref(),
        args.calibration_sentences.unwrap_or(256),
    )?;
    let prepared = prepare_curves(
        dir,
        &sentences,
        &solvent_nn::CurveSpec { levels, score },
        args.cache_dir.as_deref(),
        args.no_cache,
        args.quiet,
    )?;
    let source = serde_json::json!({
        "model": dir,
        "distortion": "output",
        "calibration": args.calibration.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in".into()),
        "sentences": prepared.cal.sentences,
        "tokens": prepared.cal.tokens,
        "levels": levels,
        "score": score.as_str(),
        "target": target,
        "curves_cached": prepared.cached,
        "curves_stored": prepared.stored,
        "curves_s": prepared.curves_s,
    });
    if !args.quiet {
        match &prepared.cached {
            Some(p) => crate::errln!("curves read from the cache ({})", p.display()),
            None => crate::errln!(
                "curves: {} layers × {} levels on {} sentences in {:.1} s",
                prepared.layers.len(),
                levels,
                prepared.cal.sentences,
                prepared.curves_s
            ),
        }
    }
    Ok((
        OutputCurves {
            prepared,
            target,
            score,
        },
        source,
    ))
}

/// Opens the model, runs the calibration pass and reads the curves from the cache
/// (`cache_dir`, else the default one; none with `no_cache`) or measures them under a
/// progress bar; a cache that cannot be written is a warning.
#[cfg(feature = "nn")]
pub(crate) fn prepare_curves(
    dir: &std::path::Path,
    sentences: &[String],
    spec: &solvent_nn::CurveSpec,
    cache_dir: Option<&std::path::Path>,
    no_cache: bool,
    quiet: bool,
) -> Result<solvent_nn::Prepared, CliError> {
    let cache = if no_cache {
        None
    } else {
        cache_dir
            .map(std::path::Path::to_path_buf)
            .or_else(solvent_nn::curves::default_cache_dir)
    };
    let bar = progress_bar(quiet, "output-distortion curves");
    let prepared = solvent_nn::prepare(dir, sentences, spec, cache.as_deref(), &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let prepared = prepared?;
    if let Some(e) = &prepared.store_error {
        crate::errln!("warning: the curves were not cached: {e}");
    }
    Ok(prepared)
}

/// The calibration sentences: `path`'s lines, or the built-in set; the first `take`.
#[cfg(feature = "nn")]
pub(crate) fn calibration_sentences(
    path: Option<&std::path::Path>,
    take: usize,
) -> Result<Vec<String>, CliError> {
    if take == 0 {
        return Err(CliError::Usage(
            "--calibration-sentences must be at least 1".into(),
        ));
    }
    let mut s = match path {
        Some(p) => solvent_nn::read_sentences(p)?,
        None => solvent_nn::sentences(solvent_nn::CALIBRATION_TEXT),
    };
    s.truncate(take);
    Ok(s)
}

/// `embedding` or `hidden`.
#[cfg(feature = "nn")]
pub(crate) fn parse_target(s: &str) -> Result<solvent_nn::Target, CliError> {
    match s {
        "embedding" => Ok(solvent_nn::Target::Embedding),
        "hidden" => Ok(solvent_nn::Target::Hidden),
        _ => Err(CliError::Usage(format!(
            "--target must be embedding or hidden, got \"{s}\""
        ))),
    }
}

/// A progress bar with a count (hidden when `quiet`).
pub(crate) fn progress_bar(quiet: bool, msg: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(msg.to_string());
    bar
}

#[cfg(not(feature = "nn"))]
enum OutputCurves {}

#[cfg(not(feature = "nn"))]
impl OutputCurves {
    fn table(&self) -> Result<solvent_problems::allocation::OptionTable, CliError> {
        match *self {}
    }
    fn sorted_squares(&self) -> Vec<Vec<f64>> {
        match *self {}
    }
    fn write_pruned(
        &self,
        _: &std::collections::HashMap<String, usize>,
        _: &std::path::Path,
    ) -> Result<(), CliError> {
        match *self {}
    }
}

#[cfg(not(feature = "nn"))]
fn output_curves(
    _: &AllocateArgs,
    _: &std::path::Path,
) -> Result<(OutputCurves, serde_json::Value), CliError> {
    Err(CliError::Usage(
        "--distortion output runs the network: this solvent was built without the `nn` feature \
         (cargo build --features nn)"
            .into(),
    ))
}
