//! `solvent prune-eval`: every allocation method (uniform, global magnitude, ERK, LAMP,
//! OWL, the DP on output-distortion curves, the DP refined by evolutionary search) at
//! several global sparsities on a BERT-family model, measured on held-out sentences (mean
//! cosine to the dense embeddings, top-10 retrieval overlap), with the additivity check;
//! written as JSON and markdown.

use super::allocate::{calibration_sentences, parse_target, prepare_curves, progress_bar};
use super::{check_output_path, write_json, CliError};
use clap::Args;
use solvent_nn::{Method, Score};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `solvent prune-eval`.
#[derive(Debug, Args)]
pub struct PruneEvalArgs {
    /// A BERT-family model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Calibration text, one sentence per line (default: the set that ships with Solvent).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Use the first N calibration sentences.
    #[arg(long, default_value_t = 256)]
    pub calibration_sentences: usize,
    /// Held-out text, one sentence per line (default: the held-out set that ships with
    /// Solvent, disjoint from the calibration set).
    #[arg(long)]
    pub heldout: Option<PathBuf>,
    /// Global sparsities in percent of the encoder's linear weights.
    #[arg(long, value_delimiter = ',', default_value = "30,50,70")]
    pub sparsities: Vec<f64>,
    /// Methods (uniform, global, erk, lamp, owl, dp, evolve).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "uniform,global,erk,lamp,owl,dp,evolve"
    )]
    pub methods: Vec<String>,
    /// Sparsity levels of the curves (0%, 1/(K−1), …, 100%).
    #[arg(long, default_value_t = 21)]
    pub levels: usize,
    /// The order weights are pruned in inside a layer: magnitude or wanda.
    #[arg(long, default_value = "magnitude")]
    pub score: String,
    /// The distortion the DP and the search minimise: embedding or hidden.
    #[arg(long, default_value = "embedding")]
    pub target: String,
    /// Random allocations in the additivity check (0: skip it).
    #[arg(long, default_value_t = 24)]
    pub additivity: usize,
    /// evolve: generations.
    #[arg(long, default_value_t = 8)]
    pub generations: usize,
    /// evolve: children per generation.
    #[arg(long, default_value_t = 16)]
    pub offspring: usize,
    /// evolve: calibration sentences of the screening stage.
    #[arg(long, default_value_t = 64)]
    pub screen: usize,
    /// OWL's outlier threshold M (× the block's mean Wanda score).
    #[arg(long, default_value_t = 5.0)]
    pub owl_m: f64,
    /// OWL's spread λ of block densities around the global one.
    #[arg(long, default_value_t = 0.08)]
    pub owl_lambda: f64,
    /// Seed (the search, the additivity sample).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where curves are cached (default: $XDG_CACHE_HOME/solvent, else ~/.cache/solvent).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Measure the curves even when cached, and do not store them.
    #[arg(long)]
    pub no_cache: bool,
    /// Write the results (JSON) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the table (markdown) here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// No progress and no table on standard output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `solvent prune-eval`.
pub fn run(args: &PruneEvalArgs) -> Result<ExitCode, CliError> {
    for (p, what) in [(&args.json, "the results"), (&args.markdown, "the table")] {
        if let Some(p) = p {
            check_output_path(p, what)?;
        }
    }
    let mut inputs: Vec<(Option<&std::path::Path>, &str)> = vec![
        (args.calibration.as_deref(), "the calibration text"),
        (args.heldout.as_deref(), "the held-out text"),
    ];
    let model_files = super::allocate::model_dir_inputs(&args.model);
    inputs.extend(
        model_files
            .iter()
            .map(|p| (Some(p.as_path()), "a file of the model")),
    );
    super::check_files(
        &inputs,
        &[
            (args.json.as_deref(), "the results"),
            (args.markdown.as_deref(), "the table"),
        ],
    )?;
    for (flag, v, ok) in [
        ("--owl-m", args.owl_m, args.owl_m > 0.0),
        ("--owl-lambda", args.owl_lambda, args.owl_lambda >= 0.0),
    ] {
        if !(ok && v.is_finite()) {
            return Err(CliError::Usage(format!(
                "{flag} must be a finite {}, got {v}",
                if flag == "--owl-m" {
                    "positive number"
                } else {
                    "non-negative number"
                }
            )));
        }
    }
    let methods: Vec<Method> = args
        .methods
        .iter()
        .map(|m| m.parse().map_err(CliError::Usage))
        .collect::<Result<_, _>>()?;
    let sparsities: Vec<f64> = args
        .sparsities
        .iter()
        .map(|&s| {
            if (0.0..100.0).contains(&s) {
                Ok(s / 100.0)
            } else {
                Err(CliError::Usage(format!(
                    "--sparsities are percentages in [0, 100), got {s}"
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    let score: Score = args.score.parse().map_err(CliError::Usage)?;
    let target = parse_target(&args.target)?;
    let t0 = Instant::now();
    let sentences = calibration_sentences(args.calibration.as_deref(), args.calibration_sentences)?;
    let heldout = match &args.heldout {
        Some(p) => solvent_nn::read_sentences(p)?,
        None => solvent_nn::sentences(solvent_nn::HELDOUT_TEXT),
    };
    let p = prepare_curves(
        &args.model,
        &sentences,
        &solvent_nn::CurveSpec {
            levels: args.levels,
            score,
        },
        args.cache_dir.as_deref(),
        args.no_cache,
        args.quiet,
    )?;
    let ctx = solvent_nn::Context {
        cal: &p.cal,
        layers: &p.layers,
        curves: &p.curves,
        target,
        owl: solvent_nn::OwlSettings {
            m: args.owl_m,
            lambda: args.owl_lambda,
        },
        evolve: solvent_solvers::allocation::EvolveSettings {
            generations: args.generations,
            offspring: args.offspring,
            survivors: vec![4],
            seed: args.seed,
            ..Default::default()
        },
        evolve_screen: args.screen,
    };
    let additivity = if args.additivity > 0 {
        let bar = progress_bar(args.quiet, "additivity check");
        let a = solvent_nn::additivity(
            &p.cal,
            &p.layers,
            &p.curves,
            target,
            args.additivity,
            args.seed,
            &mut |d, n| {
                bar.set_length(n as u64);
                bar.set_position(d as u64);
            },
        );
        bar.finish_and_clear();
        Some(a?)
    } else {
        None
    };
    let bar = progress_bar(args.quiet, "evaluating");
    bar.set_length((methods.len() * sparsities.len()) as u64);
    let table = solvent_nn::evaluate(&p.model, &ctx, &heldout, &methods, &sparsities, &mut |what| {
        bar.set_message(what.to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let table = table?;
    let mut md = table.markdown();
    if let Some(a) = &additivity {
        md.push_str(&format!(
            "\nAdditivity ({} random allocations, {:?} distortion): joint vs summed per-layer \
             distortion, Pearson {:.4}, Spearman {:.4}, joint/sum mean {:.3} (min {:.3}, max {:.3}).\n",
            a.samples.len(),
            a.target,
            a.pearson,
            a.spearman,
            a.ratio_mean,
            a.ratio_min,
            a.ratio_max
        ));
    }
    if let Some(path) = &args.json {
        write_json(
            path,
            &serde_json::json!({
                "command": "prune-eval",
                "model": args.model,
                "calibration": args.calibration.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in".into()),
                "calibration_sentences": p.cal.sentences,
                "heldout": table.heldout,
                "levels": args.levels,
                "score": score.as_str(),
                "target": target,
                "curves_cached": p.cached,
                "curves_s": p.curves_s,
                "additivity": additivity,
                "rows": table.rows,
                "wall_s": t0.elapsed().as_secs_f64(),
            }),
        )?;
    }
    if let Some(path) = &args.markdown {
        solvent_linalg::io::atomic_write(path, |w| w.write_all(md.as_bytes()))?;
    }
    if !args.quiet {
        crate::outln!("{md}");
    }
    Ok(ExitCode::SUCCESS)
}
