//! Errors that stop a run before it can produce a report.

/// Result alias for solvers.
pub type Result<T> = std::result::Result<T, SolverError>;

/// Why a solve could not run. (A solve that runs but does not converge is
/// not an error: it ends with a [`crate::Status`] in its report.)
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// From the numerical core: factorization failures, bad files, sizes.
    #[error(transparent)]
    Linalg(#[from] solvent_linalg::LinalgError),
    /// From problem construction.
    #[error(transparent)]
    Problem(#[from] solvent_problems::ProblemError),
    /// From the GPU back end (no adapter, device limits, bad data).
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] solvent_gpu::GpuError),
    /// A setting outside its valid range.
    #[error("invalid setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting.
        name: &'static str,
        /// Its value, as given.
        value: String,
        /// What it must be.
        reason: String,
    },
    /// The solver cannot handle this problem (e.g. no assembled matrix for a
    /// direct solve).
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The constraints cannot be met (a budget below the least achievable), with what the
    /// least achievable is.
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// One system of a sequence is unusable (wrong size, unreadable).
    #[error("{system}: {message}")]
    Sequence {
        /// Which system (a file name or index).
        system: String,
        /// What is wrong.
        message: String,
    },
    /// An `.npz` sequence archive whose layout is wrong (a missing member, a shape, an
    /// index or value out of range), naming the member and the index.
    #[error("{}: {error}", path.display())]
    NpzSequence {
        /// The archive.
        path: std::path::PathBuf,
        /// What is wrong, and where.
        #[source]
        error: crate::sequence::NpzSequenceError,
    },
    /// An output file could not be written.
    #[error("{}: {message}", path.display())]
    Output {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Writing a trace or report failed.
    #[error("writing {what}: {source}")]
    Io {
        /// What was being written.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl SolverError {
    /// Shorthand for [`SolverError::InvalidSetting`].
    pub fn setting(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Self::InvalidSetting {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
