//! A whole sequence in one NumPy `.npz` archive of CSR arrays sharing one sparsity
//! pattern — what a Python pipeline hands over instead of 2·K Matrix Market files:
//!
//! | member | shape | meaning |
//! |---|---|---|
//! | `indptr` | (n + 1,) integers | row pointers (SciPy's `A.indptr`) |
//! | `indices` | (nnz,) integers | column indices (SciPy's `A.indices`; unsorted rows are accepted) |
//! | `data` | (K, nnz) floats, or (nnz,) | one row of values per system; a single row is one matrix for all |
//! | `b` | (K, n) floats, or (n,) | right-hand sides; a single row is one for all |
//! | `features` or `params` | (K, F) or (K,), optional | ordering features |
//! | `shape` | (2,) integers, optional | (n, n); checked against `indptr` |
//!
//! Integer members may be int32 or int64, float members float64 or float32. Rows whose
//! column indices are not increasing (SciPy's `has_sorted_indices == False`) are sorted
//! once on opening, the values of every system following them; a column repeated
//! within a row is summed, as SciPy's `sum_duplicates` does. Everything is checked on
//! opening and every error names the member and the index ([`NpzSequenceError`]).
//!
//! The archive is read once; the values (K × nnz) are held once, and each system's
//! matrix is formed when the solver asks for it. Without `features`/`params` the
//! sequence is ordered by its right-hand sides, as [`super::DirectorySource`] is
//! without `params_` files; when the right-hand side is shared, by the matrix values
//! (at most [`MAX_VALUE_FEATURES`] of them, evenly spaced).

use super::source::SystemSource;
use super::{plan_sequence, solve_sequence, SequenceConfig, SequenceReport, SystemRecord};
use crate::{Options, Result, SolverError};
use solvent_linalg::io::npy::NpyArray;
use solvent_linalg::io::npz::{self, NpzMember, NpzWriter};
use solvent_linalg::CsrMatrix;
use std::path::{Path, PathBuf};

/// At most this many matrix values (evenly spaced through a system's `data` row) serve
/// as its ordering features when the archive has neither features nor per-system
/// right-hand sides.
pub const MAX_VALUE_FEATURES: usize = 4096;

/// What is wrong with an `.npz` sequence; each names the member and the index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NpzSequenceError {
    /// A required member is absent.
    #[error("member '{0}' is missing (a sequence needs indptr, indices, data and b)")]
    Missing(&'static str),
    /// A member is a string where numbers are expected.
    #[error("member '{0}' is text, not a numeric array")]
    NotNumeric(String),
    /// Both `features` and `params` are present.
    #[error("both 'features' and 'params' are present: keep one (they mean the same)")]
    BothFeatures,
    /// A member has the wrong number of dimensions or the wrong length.
    #[error("member '{member}' has shape {found:?}, expected {expected}")]
    Shape {
        /// The member.
        member: String,
        /// Its shape.
        found: Vec<usize>,
        /// What it should be.
        expected: String,
    },
    /// An integer member holds something else (negative, fractional, too large).
    #[error("{member}[{index}] = {value} is not an integer in 0..=4294967295")]
    NotIndex {
        /// The member.
        member: &'static str,
        /// The flat index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// `indptr` does not start at 0.
    #[error("indptr[0] = {0}: row pointers must start at 0")]
    IndptrStart(usize),
    /// `indptr` decreases.
    #[error("indptr is not monotone: indptr[{index}] = {value} < indptr[{}] = {previous}", index - 1)]
    IndptrNotMonotone {
        /// The first index where it decreases.
        index: usize,
        /// `indptr[index]`.
        value: usize,
        /// `indptr[index - 1]`.
        previous: usize,
    },
    /// `indptr` does not end at the number of column indices.
    #[error("indptr ends at {last}, but indices has {nnz} entries")]
    IndptrEnd {
        /// `indptr[n]`.
        last: usize,
        /// `indices.len()`.
        nnz: usize,
    },
    /// A column index outside the matrix.
    #[error("indices[{index}] = {value} (row {row}) is outside the {ncols} columns")]
    IndexOutOfRange {
        /// Position in `indices`.
        index: usize,
        /// The row it belongs to.
        row: usize,
        /// The column index.
        value: usize,
        /// Number of columns.
        ncols: usize,
    },
    /// `shape` disagrees with `indptr` or is not square.
    #[error("shape is ({rows}, {cols}), but {reason}")]
    BadShape {
        /// Declared rows.
        rows: usize,
        /// Declared columns.
        cols: usize,
        /// What is wrong.
        reason: String,
    },
    /// Members disagree on the number of systems K.
    #[error("member '{member}' has {rows} rows, but the sequence has {k} systems ({source_of_k})")]
    Count {
        /// The member.
        member: &'static str,
        /// Its number of rows.
        rows: usize,
        /// K.
        k: usize,
        /// Which member set K.
        source_of_k: String,
    },
    /// No systems (a member with zero rows).
    #[error("member '{0}' has no rows: no systems to solve")]
    Empty(&'static str),
    /// A NaN or infinity.
    #[error("{member}[{system}, {entry}] is {value} (system {system}): values must be finite")]
    NonFinite {
        /// The member.
        member: &'static str,
        /// The system (row of the member; 0 for a shared one).
        system: usize,
        /// The entry within the row.
        entry: usize,
        /// The value.
        value: f64,
    },
    /// More stored entries than 32-bit indices address.
    #[error("{0} exceeds the 2³²−1 entries a matrix may hold")]
    TooLarge(&'static str),
}

/// Where the ordering features come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpzOrdering {
    /// The `features` member.
    Features,
    /// The `params` member.
    Params,
    /// The right-hand sides (no features in the archive).
    RightHandSides,
    /// The matrix values (no features, one right-hand side for all).
    MatrixValues,
}

impl NpzOrdering {
    /// For reports: `"features"`, `"params"`, `"right-hand sides"`, `"matrix values"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Features => "features",
            Self::Params => "params",
            Self::RightHandSides => "right-hand sides",
            Self::MatrixValues => "matrix values",
        }
    }
}

/// The systems of one `.npz` archive (layout in the [module docs](self)), validated on
/// opening.
///
/// ```no_run
/// use solvent_solvers::sequence::{solve_npz, NpzSequenceSource, SequenceConfig};
/// use solvent_solvers::Options;
/// let source = NpzSequenceSource::open("systems.npz")?;
/// println!("{} systems of size {}", source.len(), source.n());
/// let (report, x) = solve_npz("systems.npz", &SequenceConfig::default(), &Options::default().tol(1e-10))?;
/// println!("{}; x_0[0] = {}", report.summary(), x.x(0)[0]);
/// x.write_npz("systems.solutions.npz")?;
/// # Ok::<(), solvent_solvers::SolverError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NpzSequenceSource {
    path: PathBuf,
    n: usize,
    k: usize,
    /// The canonical pattern: rows sorted, duplicates merged.
    row_ptr: Vec<u32>,
    col_idx: Vec<u32>,
    /// Where each stored entry of the file goes in the canonical pattern; `None` when
    /// the file's pattern is already canonical.
    scatter: Option<Vec<u32>>,
    /// Entries per `data` row as stored in the file.
    nnz_file: usize,
    /// `data`, one row per system (or one row shared).
    data: Vec<f64>,
    data_rows: usize,
    b: Vec<f64>,
    b_rows: usize,
    /// K × F ordering features, when the archive has them.
    features: Option<(Vec<f64>, usize)>,
    ordering: NpzOrdering,
    duplicates: usize,
    unsorted_rows: usize,
}

fn shape_err(member: &str, found: &[usize], expected: String) -> NpzSequenceError {
    NpzSequenceError::Shape {
        member: member.to_string(),
        found: found.to_vec(),
        expected,
    }
}

/// The values of an integer member as `u32`.
fn indices_of(member: &'static str, data: &[f64]) -> std::result::Result<Vec<u32>, NpzSequenceError> {
    data.iter()
        .enumerate()
        .map(|(index, &value)| {
            if value >= 0.0 && value <= u32::MAX as f64 && value.fract() == 0.0 {
                Ok(value as u32)
            } else {
                Err(NpzSequenceError::NotIndex { member, index, value })
            }
        })
        .collect()
}

/// Rows of a 1-D (shared: 1 row) or 2-D member whose rows have `width` entries.
fn rows_of(
    member: &'static str,
    a: &NpyArray,
    width: usize,
    width_name: &str,
) -> std::result::Result<usize, NpzSequenceError> {
    match a.shape.as_slice() {
        [w] if *w == width => Ok(1),
        [r, w] if *w == width => {
            if *r == 0 {
                Err(NpzSequenceError::Empty(member))
            } else {
                Ok(*r)
            }
        }
        s => Err(shape_err(
            member,
            s,
            format!("({width_name},) for one shared row or (K, {width_name}) with {width_name} = {width}"),
        )),
    }
}

fn check_finite(
    member: &'static str,
    data: &[f64],
    width: usize,
) -> std::result::Result<(), NpzSequenceError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(NpzSequenceError::NonFinite {
            member,
            system: p / width.max(1),
            entry: p % width.max(1),
            value: data[p],
        }),
    }
}

impl NpzSequenceSource {
    /// Reads and checks `path`. A file that cannot be read or is not an `.npz` archive
    /// is a [`SolverError::Linalg`] error; a layout error is a
    /// [`SolverError::NpzSequence`] naming the member and index.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let members = npz::read(&path)?;
        Self::from_members(&path, members).map_err(|error| SolverError::NpzSequence { path, error })
    }

    fn from_members(
        path: &Path,
        members: Vec<(String, NpzMember)>,
    ) -> std::result::Result<Self, NpzSequenceError> {
        // members by name (a zip archive could repeat a name; the first one counts)
        let mut arrays: Vec<(String, NpyArray)> = Vec::new();
        for (name, m) in members {
            match m {
                NpzMember::Array(a) => arrays.push((name, a)),
                NpzMember::Text(_) => {
                    if ["indptr", "indices", "data", "b", "features", "params", "shape"]
                        .contains(&name.as_str())
                    {
                        return Err(NpzSequenceError::NotNumeric(name));
                    }
                }
            }
        }
        let mut get = |name: &str| {
            arrays
                .iter()
                .position(|(n, _)| n == name)
                .map(|p| arrays.remove(p).1)
        };
        let indptr = get("indptr").ok_or(NpzSequenceError::Missing("indptr"))?;
        let indices = get("indices").ok_or(NpzSequenceError::Missing("indices"))?;
        let data = get("data").ok_or(NpzSequenceError::Missing("data"))?;
        let b = get("b").ok_or(NpzSequenceError::Missing("b"))?;
        let (features, params) = (get("features"), get("params"));
        let shape = get("shape");

        // the pattern
        let [np1] = indptr.shape[..] else {
            return Err(shape_err("indptr", &indptr.shape, "(n + 1,)".into()));
        };
        if np1 < 2 {
            return Err(shape_err(
                "indptr",
                &indptr.shape,
                "(n + 1,) with n ≥ 1 rows".into(),
            ));
        }
        let n = np1 - 1;
        let ptr = indices_of("indptr", &indptr.data)?;
        drop(indptr);
        if ptr[0] != 0 {
            return Err(NpzSequenceError::IndptrStart(ptr[0] as usize));
        }
        if let Some(i) = (1..=n).find(|&i| ptr[i] < ptr[i - 1]) {
            return Err(NpzSequenceError::IndptrNotMonotone {
                index: i,
                value: ptr[i] as usize,
                previous: ptr[i - 1] as usize,
            });
        }
        let [nnz] = indices.shape[..] else {
            return Err(shape_err("indices", &indices.shape, "(nnz,)".into()));
        };
        if ptr[n] as usize != nnz {
            return Err(NpzSequenceError::IndptrEnd {
                last: ptr[n] as usize,
                nnz,
            });
        }
        if nnz >= u32::MAX as usize {
            return Err(NpzSequenceError::TooLarge("indices"));
        }
        let ncols = match shape {
            None => n,
            Some(s) => {
                let dims = indices_of("shape", &s.data)?;
                let [rows, cols] = dims[..] else {
                    return Err(shape_err("shape", &s.shape, "(2,): (n, n)".into()));
                };
                let (rows, cols) = (rows as usize, cols as usize);
                if rows != n {
                    return Err(NpzSequenceError::BadShape {
                        rows,
                        cols,
                        reason: format!("indptr has {np1} entries ({n} rows)"),
                    });
                }
                if cols != rows {
                    return Err(NpzSequenceError::BadShape {
                        rows,
                        cols,
                        reason: "the matrices of linear systems must be square".into(),
                    });
                }
                cols
            }
        };
        let cols = indices_of("indices", &indices.data)?;
        drop(indices);
        if let Some(index) = cols.iter().position(|&c| c as usize >= ncols) {
            // the row holding entry `index`: the last whose pointer is at or before it
            let row = ptr.partition_point(|&q| q as usize <= index) - 1;
            return Err(NpzSequenceError::IndexOutOfRange {
                index,
                row,
                value: cols[index] as usize,
                ncols,
            });
        }
        let (row_ptr, col_idx, scatter, duplicates, unsorted_rows) = canonical(&ptr, &cols);

        // the values and right-hand sides, and K
        let data_rows = rows_of("data", &data, nnz, "nnz")?;
        let b_rows = rows_of("b", &b, n, "n")?;
        let (k, source_of_k) = if data_rows > 1 {
            (data_rows, format!("data has {data_rows} rows"))
        } else if b_rows > 1 {
            (b_rows, format!("b has {b_rows} rows"))
        } else {
            (1, "data and b have one row each".into())
        };
        for (member, rows) in [("data", data_rows), ("b", b_rows)] {
            if rows != 1 && rows != k {
                return Err(NpzSequenceError::Count {
                    member,
                    rows,
                    k,
                    source_of_k: source_of_k.clone(),
                });
            }
        }
        check_finite("data", &data.data, nnz)?;
        check_finite("b", &b.data, n)?;
        let (features, ordering) = match (features, params) {
            (Some(_), Some(_)) => return Err(NpzSequenceError::BothFeatures),
            (Some(f), None) => (Some(("features", f)), NpzOrdering::Features),
            (None, Some(p)) => (Some(("params", p)), NpzOrdering::Params),
            (None, None) if b_rows == k || data_rows != k => (None, NpzOrdering::RightHandSides),
            (None, None) => (None, NpzOrdering::MatrixValues),
        };
        let features = match features {
            None => None,
            Some((member, f)) => {
                let width = match f.shape[..] {
                    [r] if r == k => 1,
                    [r, w] if r == k => w,
                    _ => {
                        return Err(shape_err(
                            member,
                            &f.shape,
                            format!("(K, F) or (K,) with K = {k} ({source_of_k})"),
                        ))
                    }
                };
                check_finite(member, &f.data, width)?;
                Some((f.data, width))
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            n,
            k,
            row_ptr,
            col_idx,
            scatter,
            nnz_file: nnz,
            data: data.data,
            data_rows,
            b: b.data,
            b_rows,
            features,
            ordering,
            duplicates,
            unsorted_rows,
        })
    }

    /// The archive.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Number of systems K (as [`SystemSource::len`]).
    pub fn len(&self) -> usize {
        self.k
    }
    /// Never true: an archive with no systems is refused on opening.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }
    /// Unknowns per system.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Stored entries of each matrix, after sorting and merging duplicates.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }
    /// Where the ordering features come from.
    pub fn ordering(&self) -> NpzOrdering {
        self.ordering
    }
    /// Entries that repeated a column earlier in their row and were summed into it.
    pub fn duplicates_merged(&self) -> usize {
        self.duplicates
    }
    /// Rows whose column indices were not increasing in the file (and were sorted).
    pub fn unsorted_rows(&self) -> usize {
        self.unsorted_rows
    }
    fn data_row(&self, i: usize) -> &[f64] {
        let r = if self.data_rows == 1 { 0 } else { i };
        &self.data[r * self.nnz_file..(r + 1) * self.nnz_file]
    }
    fn b_row(&self, i: usize) -> &[f64] {
        let r = if self.b_rows == 1 { 0 } else { i };
        &self.b[r * self.n..(r + 1) * self.n]
    }
}

/// The canonical form of a CSR pattern: each row's columns sorted and duplicates
/// merged. Returns the new row pointers and columns, the scatter map (file position →
/// canonical position; `None` when nothing moved), the number of merged duplicates and
/// of unsorted rows.
#[allow(clippy::type_complexity)]
fn canonical(ptr: &[u32], cols: &[u32]) -> (Vec<u32>, Vec<u32>, Option<Vec<u32>>, usize, usize) {
    let n = ptr.len() - 1;
    let already = (0..n).all(|i| {
        cols[ptr[i] as usize..ptr[i + 1] as usize]
            .windows(2)
            .all(|w| w[0] < w[1])
    });
    if already {
        return (ptr.to_vec(), cols.to_vec(), None, 0, 0);
    }
    let mut row_ptr = Vec::with_capacity(n + 1);
    let mut col_idx = Vec::with_capacity(cols.len());
    let mut scatter = vec![0u32; cols.len()];
    let (mut duplicates, mut unsorted) = (0, 0);
    let mut perm: Vec<usize> = Vec::new();
    row_ptr.push(0u32);
    for i in 0..n {
        let (s, e) = (ptr[i] as usize, ptr[i + 1] as usize);
        if cols[s..e].windows(2).any(|w| w[0] > w[1]) {
            unsorted += 1;
        }
        perm.clear();
        perm.extend(s..e);
        // stable: duplicates keep their file order (and are summed in it)
        perm.sort_by_key(|&p| cols[p]);
        let row_start = col_idx.len();
        for &p in &perm {
            if col_idx.len() > row_start && col_idx.last() == Some(&cols[p]) {
                duplicates += 1;
            } else {
                col_idx.push(cols[p]);
            }
            scatter[p] = (col_idx.len() - 1) as u32;
        }
        row_ptr.push(col_idx.len() as u32);
    }
    (row_ptr, col_idx, Some(scatter), duplicates, unsorted)
}

impl SystemSource for NpzSequenceSource {
    fn len(&self) -> usize {
        self.k
    }
    fn features(&self, i: usize) -> Result<Vec<f64>> {
        Ok(match (&self.features, self.ordering) {
            (Some((f, w)), _) => f[i * w..(i + 1) * w].to_vec(),
            (None, NpzOrdering::MatrixValues) => {
                let row = self.data_row(i);
                if row.len() <= MAX_VALUE_FEATURES {
                    row.to_vec()
                } else {
                    (0..MAX_VALUE_FEATURES)
                        .map(|j| row[j * row.len() / MAX_VALUE_FEATURES])
                        .collect()
                }
            }
            (None, _) => self.b_row(i).to_vec(),
        })
    }
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)> {
        let row = self.data_row(i);
        let values = match &self.scatter {
            None => row.to_vec(),
            Some(scatter) => {
                let mut v = vec![0.0; self.col_idx.len()];
                for (&to, &x) in scatter.iter().zip(row) {
                    v[to as usize] += x;
                }
                v
            }
        };
        let a = CsrMatrix::from_raw_parts(self.n, self.n, self.row_ptr.clone(), self.col_idx.clone(), values)
            .map_err(|e| SolverError::Sequence {
                system: self.label(i),
                message: e.to_string(),
            })?;
        Ok((a, self.b_row(i).to_vec()))
    }
    fn label(&self, i: usize) -> String {
        format!("{} system {i}", self.path.display())
    }
    fn matrix_is_constant(&self) -> Option<bool> {
        Some(self.data_rows == 1)
    }
}

/// The solutions of a K-system sequence, in the original order, with what the run
/// said of each: what [`solve_npz`] returns and `solvent solve-seq FILE.npz` writes.
/// A system that did not converge (or was not reached) has a row of NaN.
#[derive(Clone, Debug)]
pub struct SequenceSolutions {
    n: usize,
    x: Vec<f64>,
    iterations: Vec<i64>,
    relres: Vec<f64>,
    converged: Vec<bool>,
}

impl SequenceSolutions {
    /// K rows of n NaN, none converged.
    pub fn new(k: usize, n: usize) -> Self {
        Self {
            n,
            x: vec![f64::NAN; k * n],
            iterations: vec![0; k],
            relres: vec![f64::NAN; k],
            converged: vec![false; k],
        }
    }
    /// Records system `rec.index`'s outcome; its solution `x` is kept when it converged.
    /// (The shape of an [`super::OnDone`] callback.)
    pub fn record(&mut self, rec: &SystemRecord, x: &[f64]) -> Result<()> {
        let i = rec.index;
        if i >= self.converged.len() || x.len() != self.n {
            return Err(SolverError::Sequence {
                system: format!("system {i}"),
                message: format!(
                    "a solution of {} entries for system {i} of {} with {} unknowns",
                    x.len(),
                    self.converged.len(),
                    self.n
                ),
            });
        }
        self.iterations[i] = rec.iterations as i64;
        self.relres[i] = rec.relres;
        self.converged[i] = rec.converged;
        let row = &mut self.x[i * self.n..(i + 1) * self.n];
        if rec.converged {
            row.copy_from_slice(x);
        } else {
            row.fill(f64::NAN);
        }
        Ok(())
    }
    /// Number of systems K.
    pub fn len(&self) -> usize {
        self.converged.len()
    }
    /// True when K = 0.
    pub fn is_empty(&self) -> bool {
        self.converged.is_empty()
    }
    /// The solution of system `i` (NaN when it did not converge).
    pub fn x(&self, i: usize) -> &[f64] {
        &self.x[i * self.n..(i + 1) * self.n]
    }
    /// Whether system `i` converged.
    pub fn converged(&self, i: usize) -> bool {
        self.converged[i]
    }
    /// Systems that converged.
    pub fn converged_count(&self) -> usize {
        self.converged.iter().filter(|&&c| c).count()
    }
    /// Writes `x` (K, n) float64, `iterations` (K,) int64, `relres` (K,) float64 and
    /// `converged` (K,) bool to `path`, atomically (a temporary file in the same
    /// directory, renamed when complete).
    pub fn write_npz(&self, path: impl AsRef<Path>) -> Result<()> {
        let k = self.len();
        let mut w = NpzWriter::new();
        w.add("x", &[k, self.n], &self.x)?;
        w.add("iterations", &[k], &self.iterations)?;
        w.add("relres", &[k], &self.relres)?;
        w.add("converged", &[k], &self.converged)?;
        w.write(path)?;
        Ok(())
    }
}

/// Opens the archive at `path` ([`NpzSequenceSource::open`]), plans its sequence under
/// `config` ([`plan_sequence`]) and solves it ([`solve_sequence`]): the report and the
/// solutions in the archive's order.
pub fn solve_npz(
    path: impl AsRef<Path>,
    config: &SequenceConfig,
    options: &Options,
) -> Result<(SequenceReport, SequenceSolutions)> {
    let source = NpzSequenceSource::open(path)?;
    let plan = plan_sequence(&source, config)?;
    let mut solutions = SequenceSolutions::new(source.len(), source.n());
    let report = solve_sequence(&source, &plan, options, &mut |rec, x| solutions.record(rec, x))?;
    Ok((report, solutions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::Strategy;
    use faer::linalg::solvers::Solve;

    const N: usize = 12;
    const K: usize = 5;

    /// A shared pattern (tridiagonal plus a coupling 3 columns away), rows sorted.
    fn pattern() -> (Vec<i64>, Vec<i64>) {
        let (mut ptr, mut idx) = (vec![0i64], Vec::new());
        for i in 0..N {
            for j in [i.wrapping_sub(3), i.wrapping_sub(1), i, i + 1, i + 3] {
                if j < N {
                    idx.push(j as i64);
                }
            }
            ptr.push(idx.len() as i64);
        }
        (ptr, idx)
    }

    /// The value of entry (i, j) of system s: symmetric positive definite, or
    /// nonsymmetric (and diagonally dominant).
    fn value(nonsym: bool, s: usize, i: usize, j: usize) -> f64 {
        if i == j {
            return 6.0 + 0.5 * s as f64 + 0.1 * i as f64;
        }
        let sym = -1.0 - 0.05 * (i + j) as f64 - 0.1 * s as f64;
        if !nonsym || i > j {
            sym
        } else {
            sym * 0.3 + 0.7
        }
    }

    fn rhs(s: usize) -> Vec<f64> {
        (0..N).map(|i| ((i + 1) as f64 * (s + 2) as f64).sin()).collect()
    }

    /// Writes an archive with the given pattern (in file order); `data` values from
    /// [`value`]; `b` per system.
    fn write(path: &Path, nonsym: bool, ptr: &[i64], idx: &[i64]) {
        let mut data = Vec::new();
        for s in 0..K {
            for i in 0..N {
                for &j in &idx[ptr[i] as usize..ptr[i + 1] as usize] {
                    data.push(value(nonsym, s, i, j as usize));
                }
            }
        }
        let b: Vec<f64> = (0..K).flat_map(rhs).collect();
        let mut w = NpzWriter::new();
        w.add("indptr", &[N + 1], ptr).unwrap();
        w.add("indices", &[idx.len()], idx).unwrap();
        w.add("data", &[K, idx.len()], &data).unwrap();
        w.add("b", &[K, N], &b).unwrap();
        w.write(path).unwrap();
    }

    fn dense_solve(nonsym: bool, s: usize) -> Vec<f64> {
        let a = faer::Mat::<f64>::from_fn(N, N, |i, j| {
            let (ptr, idx) = pattern();
            if idx[ptr[i] as usize..ptr[i + 1] as usize].contains(&(j as i64)) {
                value(nonsym, s, i, j)
            } else {
                0.0
            }
        });
        let b = rhs(s);
        let rhs = faer::Mat::<f64>::from_fn(N, 1, |i, _| b[i]);
        let x = a.partial_piv_lu().solve(&rhs);
        (0..N).map(|i| x[(i, 0)]).collect()
    }

    fn check_against_dense(nonsym: bool, x: &SequenceSolutions) {
        assert_eq!(x.len(), K);
        for s in 0..K {
            assert!(x.converged(s), "system {s}");
            let want = dense_solve(nonsym, s);
            let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
            for (i, (a, b)) in x.x(s).iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 1e-8 * scale, "system {s} entry {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn solutions_match_a_dense_direct_solve() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.npz");
        let (ptr, idx) = pattern();
        for (nonsym, strategy) in [false, true]
            .into_iter()
            .flat_map(|u| [Strategy::Auto, Strategy::Skr, Strategy::Independent].map(|s| (u, s)))
        {
            write(&p, nonsym, &ptr, &idx);
            let source = NpzSequenceSource::open(&p).unwrap();
            assert_eq!((source.len(), source.n(), source.nnz()), (K, N, idx.len()));
            assert_eq!(source.ordering(), NpzOrdering::RightHandSides);
            assert_eq!(source.matrix_is_constant(), Some(false));
            assert_eq!(source.features(2).unwrap(), rhs(2));
            let config = SequenceConfig {
                strategy,
                ..SequenceConfig::default()
            };
            let (report, x) = solve_npz(&p, &config, &Options::default().tol(1e-13)).unwrap();
            assert!(report.failed.is_empty(), "{strategy:?}: {:?}", report.systems);
            check_against_dense(nonsym, &x);
            // written and read back
            let out = d.path().join("x.npz");
            x.write_npz(&out).unwrap();
            let m = npz::read(&out).unwrap();
            let NpzMember::Array(xa) = &m.iter().find(|(n, _)| n == "x").unwrap().1 else {
                panic!("x is an array")
            };
            assert_eq!(xa.shape, vec![K, N]);
            assert_eq!(&xa.data[3 * N..4 * N], x.x(3));
            let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["x", "iterations", "relres", "converged"]);
        }
    }

    #[test]
    fn unsorted_rows_and_duplicates_give_the_sorted_answer() {
        let d = tempfile::tempdir().unwrap();
        let (ptr, idx) = pattern();
        let sorted = d.path().join("sorted.npz");
        write(&sorted, true, &ptr, &idx);
        // every row reversed (SciPy's has_sorted_indices == False); values follow
        let mut rev = idx.clone();
        for i in 0..N {
            rev[ptr[i] as usize..ptr[i + 1] as usize].reverse();
        }
        let unsorted = d.path().join("unsorted.npz");
        write(&unsorted, true, &ptr, &rev);
        let a = NpzSequenceSource::open(&sorted).unwrap();
        let b = NpzSequenceSource::open(&unsorted).unwrap();
        assert_eq!((a.unsorted_rows(), b.unsorted_rows()), (0, N));
        for s in 0..K {
            let (ma, ba) = a.system(s).unwrap();
            let (mb, bb) = b.system(s).unwrap();
            assert_eq!(ma.row_ptr(), mb.row_ptr());
            assert_eq!(ma.col_idx(), mb.col_idx());
            assert_eq!(ma.values(), mb.values(), "system {s}");
            assert_eq!(ba, bb);
        }
        let config = SequenceConfig::default();
        let options = Options::default().tol(1e-13);
        let (_, xa) = solve_npz(&sorted, &config, &options).unwrap();
        let (_, xb) = solve_npz(&unsorted, &config, &options).unwrap();
        check_against_dense(true, &xb);
        for s in 0..K {
            assert_eq!(xa.x(s), xb.x(s));
        }

        // a diagonal entry split in two (0.25 and 0.75 of it) is merged back
        let mut ptr2 = vec![0i64];
        let mut idx2 = Vec::new();
        let mut data = vec![Vec::new(); K];
        for i in 0..N {
            for &j in &idx[ptr[i] as usize..ptr[i + 1] as usize] {
                let j = j as usize;
                let parts: &[f64] = if j == i { &[0.25, 0.75] } else { &[1.0] };
                for &f in parts {
                    idx2.push(j as i64);
                    for (s, d) in data.iter_mut().enumerate() {
                        d.push(f * value(true, s, i, j));
                    }
                }
            }
            ptr2.push(idx2.len() as i64);
        }
        // put the duplicates apart: rotate each row by one
        for i in 0..N {
            let (s, e) = (ptr2[i] as usize, ptr2[i + 1] as usize);
            idx2[s..e].rotate_left(1);
            for d in &mut data {
                d[s..e].rotate_left(1);
            }
        }
        let dup = d.path().join("dup.npz");
        let mut w = NpzWriter::new();
        w.add("indptr", &[N + 1], &ptr2).unwrap();
        w.add("indices", &[idx2.len()], &idx2).unwrap();
        w.add("data", &[K, idx2.len()], &data.concat()).unwrap();
        w.add("b", &[K, N], &(0..K).flat_map(rhs).collect::<Vec<_>>())
            .unwrap();
        w.write(&dup).unwrap();
        let c = NpzSequenceSource::open(&dup).unwrap();
        assert_eq!(c.duplicates_merged(), N);
        assert_eq!(c.nnz(), idx.len());
        for s in 0..K {
            let (ma, _) = a.system(s).unwrap();
            let (mc, _) = c.system(s).unwrap();
            assert_eq!(ma.col_idx(), mc.col_idx());
            for (x, y) in ma.values().iter().zip(mc.values()) {
                assert!((x - y).abs() <= 1e-15 * x.abs(), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn shared_rhs_features_float32_and_int32() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.npz");
        let (ptr, idx) = pattern();
        let ptr32: Vec<i32> = ptr.iter().map(|&v| v as i32).collect();
        let idx32: Vec<i32> = idx.iter().map(|&v| v as i32).collect();
        let nnz = idx.len();
        let data: Vec<f32> = (0..K)
            .flat_map(|s| {
                (0..N).flat_map(move |i| {
                    let (ptr, idx) = pattern();
                    (ptr[i] as usize..ptr[i + 1] as usize)
                        .map(move |q| value(false, s, i, idx[q] as usize) as f32)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut w = NpzWriter::new();
        w.add("indptr", &[N + 1], &ptr32).unwrap();
        w.add("indices", &[nnz], &idx32).unwrap();
        w.add("data", &[K, nnz], &data).unwrap();
        w.add("b", &[N], &rhs(0)).unwrap();
        w.add("shape", &[2], &[N as i64, N as i64]).unwrap();
        w.write(&p).unwrap();
        let s = NpzSequenceSource::open(&p).unwrap();
        assert_eq!(s.len(), K);
        assert_eq!(s.ordering(), NpzOrdering::MatrixValues);
        assert_eq!(s.features(1).unwrap().len(), nnz);
        let (a, b) = s.system(4).unwrap();
        assert_eq!(b, rhs(0));
        assert_eq!(a.values()[0], value(false, 4, 0, 0) as f32 as f64);
        // with features: ordered by them
        let mut w = NpzWriter::new();
        w.add("indptr", &[N + 1], &ptr32).unwrap();
        w.add("indices", &[nnz], &idx32).unwrap();
        w.add("data", &[nnz], &data[..nnz]).unwrap();
        w.add("b", &[K, N], &(0..K).flat_map(rhs).collect::<Vec<_>>())
            .unwrap();
        w.add("params", &[K], &[3.0, 1.0, 4.0, 1.5, 9.0]).unwrap();
        w.write(&p).unwrap();
        let s = NpzSequenceSource::open(&p).unwrap();
        assert_eq!(s.ordering(), NpzOrdering::Params);
        assert_eq!(s.matrix_is_constant(), Some(true));
        assert_eq!(s.features(2).unwrap(), vec![4.0]);
        let (report, x) = solve_npz(&p, &SequenceConfig::default(), &Options::default().tol(1e-12)).unwrap();
        assert!(report.failed.is_empty());
        for k in 0..K {
            let (a, b) = s.system(k).unwrap();
            assert!(solvent_linalg::vector::relative_residual(&a, x.x(k), &b) <= 1e-12);
        }
    }

    /// Opens an archive built from the base members with `edit` applied.
    fn open_edited(edit: impl FnOnce(&mut Vec<(&'static str, Vec<usize>, Vec<f64>)>)) -> SolverError {
        let (ptr, idx) = pattern();
        let nnz = idx.len();
        let mut members: Vec<(&'static str, Vec<usize>, Vec<f64>)> = vec![
            ("indptr", vec![N + 1], ptr.iter().map(|&v| v as f64).collect()),
            ("indices", vec![nnz], idx.iter().map(|&v| v as f64).collect()),
            ("data", vec![K, nnz], vec![1.0; K * nnz]),
            ("b", vec![K, N], vec![1.0; K * N]),
        ];
        edit(&mut members);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bad.npz");
        let mut w = NpzWriter::new();
        for (name, shape, data) in &members {
            if *name == "indptr" || *name == "indices" || *name == "shape" {
                let ints: Vec<i64> = data.iter().map(|&v| v as i64).collect();
                w.add(name, shape, &ints).unwrap();
            } else {
                w.add(name, shape, data).unwrap();
            }
        }
        w.write(&p).unwrap();
        NpzSequenceSource::open(&p).unwrap_err()
    }

    fn kind(e: SolverError) -> NpzSequenceError {
        match e {
            SolverError::NpzSequence { error, path } => {
                assert!(path.ends_with("bad.npz"));
                error
            }
            other => panic!("not an npz sequence error: {other}"),
        }
    }

    fn set(
        m: &mut [(&'static str, Vec<usize>, Vec<f64>)],
        name: &str,
        f: impl FnOnce(&mut Vec<usize>, &mut Vec<f64>),
    ) {
        let e = m.iter_mut().find(|e| e.0 == name).unwrap();
        f(&mut e.1, &mut e.2);
    }

    #[test]
    fn bad_archives_give_named_errors() {
        // indptr not monotone
        let e = kind(open_edited(|m| set(m, "indptr", |_, d| d.swap(3, 4))));
        assert!(
            matches!(e, NpzSequenceError::IndptrNotMonotone { index: 4, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("indptr[4]"), "{e}");
        // indptr not starting at 0, or not ending at nnz
        let e = kind(open_edited(|m| set(m, "indptr", |_, d| d[0] = 1.0)));
        assert_eq!(e, NpzSequenceError::IndptrStart(1));
        let e = kind(open_edited(|m| {
            set(m, "indices", |s, d| {
                d.pop();
                s[0] -= 1;
            })
        }));
        assert!(matches!(e, NpzSequenceError::IndptrEnd { .. }), "{e:?}");
        // a column index out of range, a negative one
        let e = kind(open_edited(|m| set(m, "indices", |_, d| d[7] = N as f64)));
        assert!(
            matches!(
                e,
                NpzSequenceError::IndexOutOfRange {
                    index: 7,
                    row: 2,
                    value: N,
                    ncols: N
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("indices[7] = 12 (row 2)"), "{e}");
        let e = kind(open_edited(|m| set(m, "indices", |_, d| d[2] = -1.0)));
        assert!(
            matches!(
                e,
                NpzSequenceError::NotIndex {
                    member: "indices",
                    index: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // data of the wrong length
        let e = kind(open_edited(|m| {
            set(m, "data", |s, d| {
                s[1] -= 1;
                d.truncate(s[0] * s[1]);
            })
        }));
        assert!(
            matches!(&e, NpzSequenceError::Shape { member, .. } if member == "data"),
            "{e:?}"
        );
        // b of the wrong shape: wrong n, then wrong K
        let e = kind(open_edited(|m| {
            set(m, "b", |s, d| {
                s[1] += 1;
                d.resize(s[0] * s[1], 1.0);
            })
        }));
        assert!(
            matches!(&e, NpzSequenceError::Shape { member, .. } if member == "b"),
            "{e:?}"
        );
        let e = kind(open_edited(|m| {
            set(m, "b", |s, d| {
                s[0] = 3;
                d.truncate(3 * N);
            })
        }));
        assert!(
            matches!(
                e,
                NpzSequenceError::Count {
                    member: "b",
                    rows: 3,
                    k: K,
                    ..
                }
            ),
            "{e:?}"
        );
        // NaN in data: system and entry named
        let nnz = pattern().1.len();
        let e = kind(open_edited(|m| set(m, "data", |_, d| d[3 * nnz + 5] = f64::NAN)));
        assert!(
            matches!(
                e,
                NpzSequenceError::NonFinite {
                    member: "data",
                    system: 3,
                    entry: 5,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("data[3, 5] is NaN (system 3)"), "{e}");
        let e = kind(open_edited(|m| set(m, "b", |_, d| d[N + 2] = f64::INFINITY)));
        assert!(
            matches!(
                e,
                NpzSequenceError::NonFinite {
                    member: "b",
                    system: 1,
                    entry: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // missing members, a non-square shape, features of the wrong length, both kinds
        let e = kind(open_edited(|m| m.retain(|e| e.0 != "b")));
        assert_eq!(e, NpzSequenceError::Missing("b"));
        let e = kind(open_edited(|m| {
            m.push(("shape", vec![2], vec![N as f64, N as f64 + 1.0]))
        }));
        assert!(matches!(e, NpzSequenceError::BadShape { .. }), "{e:?}");
        let e = kind(open_edited(|m| {
            m.push(("features", vec![K - 1, 2], vec![0.0; 2 * K - 2]))
        }));
        assert!(
            matches!(&e, NpzSequenceError::Shape { member, .. } if member == "features"),
            "{e:?}"
        );
        let e = kind(open_edited(|m| {
            m.push(("features", vec![K], vec![0.0; K]));
            m.push(("params", vec![K], vec![0.0; K]));
        }));
        assert_eq!(e, NpzSequenceError::BothFeatures);
        // not an archive at all: the reader's error
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.npz");
        std::fs::write(&p, b"not a zip").unwrap();
        assert!(matches!(NpzSequenceSource::open(&p), Err(SolverError::Linalg(_))));
    }
}
