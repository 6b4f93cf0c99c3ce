//! Errors raised while building or validating a problem.

/// Result alias for problem construction.
pub type Result<T> = std::result::Result<T, ProblemError>;

/// A problem that cannot be built as asked.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    /// An error from the numerical core (file formats, matrix structure…).
    #[error(transparent)]
    Linalg(#[from] solvent_linalg::LinalgError),
    /// An invalid parameter or an inconsistent problem, with what and why.
    #[error("invalid problem: {0}")]
    Invalid(String),
}
