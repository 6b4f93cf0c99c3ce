//! The error type of the numerical core.

use std::path::PathBuf;

/// Result alias for the numerical core.
pub type Result<T> = std::result::Result<T, LinalgError>;

/// Everything that can go wrong in `solvent-linalg`, each variant naming what
/// and where.
#[derive(Debug, thiserror::Error)]
pub enum LinalgError {
    /// Two objects that must agree in size do not.
    #[error("dimension mismatch: {what} (expected {expected}, found {found})")]
    DimensionMismatch {
        /// What was being compared.
        what: String,
        /// The size that was required.
        expected: usize,
        /// The size that was given.
        found: usize,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value {value} in {what} at index {index}")]
    NonFinite {
        /// Which object holds the value.
        what: String,
        /// Position of the offending entry (flat index or row).
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// A structurally invalid matrix (index out of range, unsorted or
    /// duplicate entries in compressed storage, too many entries for `u32`).
    #[error("invalid matrix: {0}")]
    InvalidMatrix(String),
    /// An input that must not be empty is empty.
    #[error("empty input: {0}")]
    Empty(String),
    /// A factorization met a zero (or tiny) pivot.
    #[error(
        "{method}: zero pivot at row {row} (pivot {pivot:e}); the matrix may be singular or need pivoting"
    )]
    ZeroPivot {
        /// The factorization that failed.
        method: &'static str,
        /// The row where it failed.
        row: usize,
        /// The pivot value met.
        pivot: f64,
    },
    /// A factorization that needs positive definiteness met a non-positive pivot.
    #[error("{method}: matrix is not positive definite (pivot {pivot:e} at row {row})")]
    NotPositiveDefinite {
        /// The factorization that failed.
        method: &'static str,
        /// The row where it failed (when known).
        row: usize,
        /// The non-positive pivot value (when known; NaN otherwise).
        pivot: f64,
    },
    /// The matrix is singular (detected by a direct factorization).
    #[error("matrix is singular: {0}")]
    Singular(String),
    /// The operation needs something this operator cannot do.
    #[error("unsupported operation: {0}")]
    Unsupported(String),
    /// An output that would destroy data or cannot be written as asked (it names an
    /// input, a directory, a dangling link).
    #[error("{}: {message}", path.display())]
    Output {
        /// The output path.
        path: std::path::PathBuf,
        /// Why it is refused.
        message: String,
    },
    /// Work predicted to need more memory than the process may have.
    #[error("{what} needs about {} but only {} are available (memory and the address-space limit)", crate::mem::human(*needed), crate::mem::human(*available))]
    Memory {
        /// What would be allocated.
        what: String,
        /// The estimate, in bytes.
        needed: f64,
        /// What is available, in bytes.
        available: f64,
    },
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is malformed.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Format {
        /// The file involved.
        path: PathBuf,
        /// The 1-based line number of the offending line, when it has one.
        line: Option<usize>,
        /// What is wrong with it.
        message: String,
    },
}

impl LinalgError {
    /// Shorthand for a [`LinalgError::DimensionMismatch`].
    pub fn dims(what: impl Into<String>, expected: usize, found: usize) -> Self {
        Self::DimensionMismatch {
            what: what.into(),
            expected,
            found,
        }
    }
}

/// Checks that every entry of `values` is finite, naming `what` otherwise.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(LinalgError::NonFinite {
            what: what.to_string(),
            index,
            value: values[index],
        }),
    }
}
