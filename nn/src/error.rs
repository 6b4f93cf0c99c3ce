//! The errors of the model runner: each names the file, tensor or input it is about.

use std::path::PathBuf;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A model directory lacks a file or has one that does not parse.
    #[error("{path}: {msg}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// The tokenizer failed on a file or a sentence.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed (shape mismatch, missing tensor…).
    #[error("network: {0}")]
    Network(#[from] candle_core::Error),
    /// Bad input (an empty calibration set, a level out of range…).
    #[error("{0}")]
    Input(String),
    /// An options table was malformed.
    #[error(transparent)]
    Problem(#[from] solvent_problems::ProblemError),
    /// An allocation step failed.
    #[error(transparent)]
    Solver(#[from] solvent_solvers::SolverError),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, NnError>;

/// Reads a file, naming it on error.
pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })
}
