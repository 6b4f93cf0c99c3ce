//! File formats users already have: Matrix Market (`.mtx`), NumPy `.npy` and `.npz`, LIBSVM, dense CSV.
//!
//! Readers report malformed input as [`crate::LinalgError::Format`] with the
//! file and 1-based line, strip a UTF-8 byte-order mark, and size what they allocate by
//! what they read, not by what a header declares; writers go through [`atomic_write`]
//! ([`output`]), so a failed or interrupted write never leaves a half-written file under
//! the final name and never replaces a device, a FIFO or a link.

pub mod dense_csv;
pub mod matrix_market;
pub mod npy;
pub mod npz;
pub mod svmlight;

pub mod output;

pub use output::{atomic_write, check_distinct, same_file, OutputFile};

/// A UTF-8 byte-order mark, which some editors put at the start of text files.
pub const BOM: char = '\u{feff}';

/// A text file's contents without a leading byte-order mark (readers share it, so a
/// file saved with one parses like one saved without).
pub fn read_text(path: &std::path::Path) -> crate::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::LinalgError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// A design matrix and its labels from a file, by extension: a dense table for `.csv` and
/// `.tsv` ([`dense_csv::read_with`], the label in column `label`, `header` as there), an
/// svmlight/LIBSVM file otherwise ([`svmlight::read`]).
pub fn read_design(
    path: &std::path::Path,
    label: dense_csv::LabelColumn,
    header: Option<bool>,
) -> crate::Result<(crate::CsrMatrix, Vec<f64>)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" => dense_csv::read_with(path, label, header),
        _ => svmlight::read(path, None),
    }
}
