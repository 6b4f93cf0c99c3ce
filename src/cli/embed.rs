//! `solvent embed`: sentence embeddings of a BERT-family model directory (mean pooling and
//! normalisation, as sentence-transformers computes them), written as JSON.

use super::{check_output_path, write_json, CliError};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `solvent embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A BERT-family model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Text, one sentence per line.
    #[arg(long)]
    pub text: PathBuf,
    /// Write `{"sentences": […], "embeddings": [[…], …]}` here.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `solvent embed`.
pub fn run(args: &EmbedArgs) -> Result<ExitCode, CliError> {
    check_output_path(&args.out, "the embeddings")?;
    super::check_files(
        &[(Some(args.text.as_path()), "the text")],
        &[(Some(args.out.as_path()), "the embeddings")],
    )?;
    let model = solvent_nn::ModelDir::open(&args.model)?;
    let sentences = solvent_nn::read_sentences(&args.text)?;
    let embeddings = model.embed(&sentences)?;
    write_json(
        &args.out,
        &serde_json::json!({"sentences": sentences, "embeddings": embeddings}),
    )?;
    Ok(ExitCode::SUCCESS)
}
