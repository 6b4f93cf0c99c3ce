//! Matrix Market exchange format (NIST): `coordinate` (real, integer,
//! pattern; general, symmetric, skew-symmetric) and `array` (real, integer;
//! general, symmetric, skew-symmetric).
//!
//! The reader is our own rather than sprs's: it names the file and line of
//! every problem, rejects NaN/Inf and truncated or over-long data, and reads
//! the dense `array` layout used for right-hand sides and solutions.

use crate::error::{LinalgError, Result};
use crate::io::atomic_write;
use crate::CsrMatrix;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Storage layout declared in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Sparse `i j value` triplets.
    Coordinate,
    /// Dense column-major values.
    Array,
}

/// Entry type declared in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Floating-point values.
    Real,
    /// Integer values (read as f64).
    Integer,
    /// No values: every listed entry is 1.
    Pattern,
}

/// Symmetry declared in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symmetry {
    /// All entries stored.
    General,
    /// Lower triangle stored; `a_ji = a_ij`.
    Symmetric,
    /// Strict lower triangle stored; `a_ji = −a_ij`.
    SkewSymmetric,
}

/// The parsed header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Sparse or dense layout.
    pub layout: Layout,
    /// Entry type.
    pub field: Field,
    /// Symmetry.
    pub symmetry: Symmetry,
}

/// Everything a Matrix Market file holds, before it becomes a matrix or a vector.
#[derive(Clone, Debug)]
pub struct MmData {
    /// The header.
    pub header: Header,
    /// Rows.
    pub nrows: usize,
    /// Columns.
    pub ncols: usize,
    /// Entries as 0-based `(row, col, value)`, symmetry already expanded.
    pub triplets: Vec<(usize, usize, f64)>,
}

struct Lines<R> {
    reader: R,
    buf: String,
    line: usize,
}

impl<R: BufRead> Lines<R> {
    /// Next line that is neither blank nor a comment; `None` at end of file.
    fn next_data(&mut self, path: &Path) -> Result<Option<(usize, &str)>> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|source| LinalgError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let t = self.buf.trim();
            if !t.is_empty() && !t.starts_with('%') {
                return Ok(Some((self.line, self.buf.trim())));
            }
        }
    }
}

fn fmt_err(path: &Path, line: Option<usize>, message: impl Into<String>) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn parse_header(line: &str, path: &Path) -> Result<Header> {
    let lower = line.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words.first() != Some(&"%%matrixmarket") {
        return Err(fmt_err(
            path,
            Some(1),
            "missing '%%MatrixMarket' header: not a Matrix Market file",
        ));
    }
    if words.len() != 5 {
        return Err(fmt_err(
            path,
            Some(1),
            format!(
                "header must be '%%MatrixMarket matrix <format> <field> <symmetry>', found '{}'",
                line.trim()
            ),
        ));
    }
    if words[1] != "matrix" {
        return Err(fmt_err(
            path,
            Some(1),
            format!("unsupported object '{}' (only 'matrix')", words[1]),
        ));
    }
    let layout = match words[2] {
        "coordinate" => Layout::Coordinate,
        "array" => Layout::Array,
        f => {
            return Err(fmt_err(
                path,
                Some(1),
                format!("unknown format '{f}' (coordinate or array)"),
            ))
        }
    };
    let field = match words[3] {
        "real" | "double" => Field::Real,
        "integer" => Field::Integer,
        "pattern" if layout == Layout::Coordinate => Field::Pattern,
        "complex" => {
            return Err(fmt_err(
                path,
                Some(1),
                "complex matrices are not supported (real, integer, pattern)",
            ))
        }
        f => {
            return Err(fmt_err(
                path,
                Some(1),
                format!("unsupported field '{f}' for {} layout", words[2]),
            ))
        }
    };
    let symmetry = match words[4] {
        "general" => Symmetry::General,
        // a real Hermitian matrix is symmetric
        "symmetric" | "hermitian" => Symmetry::Symmetric,
        "skew-symmetric" => Symmetry::SkewSymmetric,
        s => return Err(fmt_err(path, Some(1), format!("unknown symmetry '{s}'"))),
    };
    Ok(Header {
        layout,
        field,
        symmetry,
    })
}

fn parse_usize(tok: Option<&str>, what: &str, path: &Path, line: usize) -> Result<usize> {
    let tok = tok.ok_or_else(|| fmt_err(path, Some(line), format!("missing {what}")))?;
    tok.parse::<usize>().map_err(|_| {
        fmt_err(
            path,
            Some(line),
            format!("{what} '{tok}' is not a non-negative integer"),
        )
    })
}

fn parse_value(tok: Option<&str>, field: Field, path: &Path, line: usize) -> Result<f64> {
    let tok = tok.ok_or_else(|| fmt_err(path, Some(line), "missing value"))?;
    let v = match field {
        Field::Integer => tok
            .parse::<i64>()
            .map(|v| v as f64)
            .map_err(|_| fmt_err(path, Some(line), format!("value '{tok}' is not an integer")))?,
        _ => tok
            .parse::<f64>()
            .map_err(|_| fmt_err(path, Some(line), format!("value '{tok}' is not a number")))?,
    };
    if !v.is_finite() {
        return Err(fmt_err(path, Some(line), format!("value '{tok}' is not finite")));
    }
    Ok(v)
}

/// Parses Matrix Market data from any reader; `path` names it in errors.
pub fn parse(reader: impl Read, path: &Path) -> Result<MmData> {
    let mut lines = Lines {
        reader: BufReader::with_capacity(1 << 20, reader),
        buf: String::new(),
        line: 0,
    };
    // header: the very first line
    let n = lines
        .reader
        .read_line(&mut lines.buf)
        .map_err(|source| LinalgError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if n == 0 {
        return Err(fmt_err(path, None, "empty file: no Matrix Market header"));
    }
    lines.line = 1;
    let header = parse_header(lines.buf.trim_start_matches(super::BOM), path)?;
    let (size_line, size) = match lines.next_data(path)? {
        Some((l, s)) => (l, s.to_string()),
        None => return Err(fmt_err(path, Some(lines.line), "file ends before the size line")),
    };
    let mut it = size.split_whitespace();
    let nrows = parse_usize(it.next(), "row count", path, size_line)?;
    let ncols = parse_usize(it.next(), "column count", path, size_line)?;
    let symmetric = header.symmetry != Symmetry::General;
    if symmetric && nrows != ncols {
        return Err(fmt_err(
            path,
            Some(size_line),
            format!("a symmetric matrix must be square, found {nrows}×{ncols}"),
        ));
    }
    let mut triplets = Vec::new();
    match header.layout {
        Layout::Coordinate => {
            let nnz = parse_usize(it.next(), "entry count", path, size_line)?;
            if it.next().is_some() {
                return Err(fmt_err(
                    path,
                    Some(size_line),
                    "size line must be 'rows cols entries'",
                ));
            }
            // what the file declares is not trusted: reserve for a few entries and grow as
            // they arrive, so a short file claiming billions allocates what it holds
            triplets.reserve(if symmetric { nnz.saturating_mul(2) } else { nnz }.min(1 << 16));
            for k in 0..nnz {
                let Some((line, l)) = lines.next_data(path)? else {
                    return Err(fmt_err(
                        path,
                        Some(lines.line),
                        format!("truncated: {nnz} entries declared, file ends after {k}"),
                    ));
                };
                let mut t = l.split_whitespace();
                let i = parse_usize(t.next(), "row index", path, line)?;
                let j = parse_usize(t.next(), "column index", path, line)?;
                let v = if header.field == Field::Pattern {
                    1.0
                } else {
                    parse_value(t.next(), header.field, path, line)?
                };
                if t.next().is_some() {
                    return Err(fmt_err(path, Some(line), "too many fields on an entry line"));
                }
                if i == 0 || j == 0 || i > nrows || j > ncols {
                    return Err(fmt_err(
                        path,
                        Some(line),
                        format!("entry ({i}, {j}) outside the {nrows}×{ncols} matrix (indices are 1-based)"),
                    ));
                }
                push_entry(&mut triplets, header.symmetry, i - 1, j - 1, v, path, line)?;
            }
        }
        Layout::Array => {
            if it.next().is_some() {
                return Err(fmt_err(
                    path,
                    Some(size_line),
                    "array size line must be 'rows cols'",
                ));
            }
            // column-major; symmetric files hold the lower triangle only
            for j in 0..ncols {
                let first = match header.symmetry {
                    Symmetry::General => 0,
                    Symmetry::Symmetric => j,
                    Symmetry::SkewSymmetric => j + 1,
                };
                for i in first..nrows {
                    let Some((line, l)) = lines.next_data(path)? else {
                        return Err(fmt_err(
                            path,
                            Some(lines.line),
                            format!("truncated: array data ends before entry ({}, {})", i + 1, j + 1),
                        ));
                    };
                    let mut t = l.split_whitespace();
                    let v = parse_value(t.next(), header.field, path, line)?;
                    if t.next().is_some() {
                        return Err(fmt_err(path, Some(line), "array files hold one value per line"));
                    }
                    push_entry(&mut triplets, header.symmetry, i, j, v, path, line)?;
                }
            }
        }
    }
    if let Some((line, _)) = lines.next_data(path)? {
        return Err(fmt_err(
            path,
            Some(line),
            "more entries than the size line declares",
        ));
    }
    Ok(MmData {
        header,
        nrows,
        ncols,
        triplets,
    })
}

fn push_entry(
    t: &mut Vec<(usize, usize, f64)>,
    sym: Symmetry,
    i: usize,
    j: usize,
    v: f64,
    path: &Path,
    line: usize,
) -> Result<()> {
    t.push((i, j, v));
    match sym {
        Symmetry::General => {}
        Symmetry::Symmetric => {
            if i != j {
                t.push((j, i, v));
            }
        }
        Symmetry::SkewSymmetric => {
            if i == j {
                return Err(fmt_err(
                    path,
                    Some(line),
                    "skew-symmetric matrix with a diagonal entry",
                ));
            }
            t.push((j, i, -v));
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|source| LinalgError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a sparse (or dense `array`) matrix into CSR; duplicate coordinate
/// entries are summed.
pub fn read_matrix(path: impl AsRef<Path>) -> Result<CsrMatrix> {
    let path = path.as_ref();
    let file = open(path)?;
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let d = parse(file, path)?;
    // the row pointers are sized by the declared rows, not by the entries read
    let dense = (d.nrows as f64 + 1.0) * 4.0;
    if dense > crate::mem::declared_limit(file_bytes) {
        return Err(fmt_err(
            path,
            None,
            format!(
                "the size line declares {} rows for {} entries: their row pointers alone would take {} (refused for a {}-byte file)",
                d.nrows,
                d.triplets.len(),
                crate::mem::human(dense),
                file_bytes
            ),
        ));
    }
    crate::mem::check(
        dense + d.triplets.len() as f64 * 16.0,
        &format!("{}: a {}×{} matrix", path.display(), d.nrows, d.ncols),
    )?;
    if d.nrows == 0 || d.ncols == 0 {
        return Err(fmt_err(
            path,
            None,
            format!("empty matrix ({}×{})", d.nrows, d.ncols),
        ));
    }
    CsrMatrix::from_triplets(d.nrows, d.ncols, &d.triplets).map_err(|e| fmt_err(path, None, e.to_string()))
}

/// Reads a vector: an `array` with one column (or one row), or a
/// `coordinate` matrix of that shape (missing entries are zero).
pub fn read_vector(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    let path = path.as_ref();
    let file = open(path)?;
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let d = parse(file, path)?;
    let n = match (d.nrows, d.ncols) {
        (n, 1) | (1, n) => n,
        (r, c) => {
            return Err(fmt_err(
                path,
                None,
                format!("expected a vector (n×1 or 1×n), found a {r}×{c} matrix"),
            ))
        }
    };
    if n == 0 {
        return Err(fmt_err(path, None, "empty vector"));
    }
    if n as f64 * 8.0 > crate::mem::declared_limit(file_bytes) {
        return Err(fmt_err(
            path,
            None,
            format!(
                "the size line declares a vector of {n} entries with {} stored: {} (refused for a {file_bytes}-byte file)",
                d.triplets.len(),
                crate::mem::human(n as f64 * 8.0)
            ),
        ));
    }
    crate::mem::check(
        n as f64 * 8.0,
        &format!("{}: a vector of {n} entries", path.display()),
    )?;
    let mut v = vec![0.0; n];
    for (i, j, x) in d.triplets {
        v[i.max(j)] += x;
    }
    Ok(v)
}

/// Writes a matrix as `coordinate real general`, atomically.
pub fn write_matrix(path: impl AsRef<Path>, a: &CsrMatrix) -> Result<()> {
    atomic_write(path.as_ref(), |w| {
        writeln!(w, "%%MatrixMarket matrix coordinate real general")?;
        writeln!(w, "% written by solvent")?;
        writeln!(w, "{} {} {}", a.nrows(), a.ncols(), a.nnz())?;
        for i in 0..a.nrows() {
            let (cols, vals) = a.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                writeln!(w, "{} {} {:e}", i + 1, j + 1, v)?;
            }
        }
        Ok(())
    })
}

/// Writes a vector as an `array real general` n×1 matrix, atomically. Values
/// are written in shortest round-trip form, so reading them back is exact.
pub fn write_vector(path: impl AsRef<Path>, x: &[f64]) -> Result<()> {
    atomic_write(path.as_ref(), |w| {
        writeln!(w, "%%MatrixMarket matrix array real general")?;
        writeln!(w, "% written by solvent")?;
        writeln!(w, "{} 1", x.len())?;
        for v in x {
            writeln!(w, "{v:e}")?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<MmData> {
        parse(s.as_bytes(), Path::new("test.mtx"))
    }

    fn line_of(e: LinalgError) -> Option<usize> {
        match e {
            LinalgError::Format { line, .. } => line,
            other => panic!("expected a format error, got {other}"),
        }
    }

    #[test]
    fn reads_every_supported_kind() {
        let d = parse_str(
            "%%MatrixMarket matrix coordinate real symmetric\n% c\n3 3 3\n1 1 2.0\n2 1 -1\n3 3 4e0\n",
        )
        .unwrap();
        assert_eq!(d.triplets.len(), 4);
        assert!(d.triplets.contains(&(0, 1, -1.0)));
        let d = parse_str("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n").unwrap();
        assert_eq!(d.triplets, vec![(0, 1, 1.0), (1, 0, 1.0)]);
        let d = parse_str("%%MatrixMarket matrix coordinate integer skew-symmetric\n2 2 1\n2 1 3\n").unwrap();
        assert!(d.triplets.contains(&(0, 1, -3.0)));
        let d = parse_str("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n").unwrap();
        assert_eq!(
            d.triplets,
            vec![(0, 0, 1.0), (1, 0, 2.0), (0, 1, 3.0), (1, 1, 4.0)]
        );
        let d = parse_str("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n").unwrap();
        assert_eq!(d.triplets.len(), 4);
        let d = parse_str("%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n").unwrap();
        assert_eq!(d.triplets.len(), 6);
    }

    #[test]
    fn errors_name_the_line() {
        let trunc = "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1.0\n2 2 1.0\n";
        assert!(parse_str(trunc).unwrap_err().to_string().contains("truncated"));
        assert_eq!(
            line_of(
                parse_str("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 x 1.0\n").unwrap_err()
            ),
            Some(3)
        );
        assert_eq!(
            line_of(
                parse_str("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1.0\n% c\n2 2 nan\n")
                    .unwrap_err()
            ),
            Some(5)
        );
        assert_eq!(
            line_of(
                parse_str("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n").unwrap_err()
            ),
            Some(3)
        );
        assert_eq!(
            line_of(
                parse_str("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1.0\n2 2 2.0\n")
                    .unwrap_err()
            ),
            Some(4)
        );
        assert_eq!(
            line_of(parse_str("%%MatrixMarket matrix coordinate complex general\n").unwrap_err()),
            Some(1)
        );
        assert_eq!(line_of(parse_str("hello\n").unwrap_err()), Some(1));
        assert_eq!(line_of(parse_str("").unwrap_err()), None);
        assert_eq!(
            line_of(parse_str("%%MatrixMarket matrix coordinate real general\n2 -2 1\n").unwrap_err()),
            Some(2)
        );
        assert!(parse_str("%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n").is_err());
        assert!(parse_str("%%MatrixMarket matrix array real general\n2 1\n1.0\n").is_err());
    }

    #[test]
    fn round_trip_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = CsrMatrix::from_triplets(3, 2, &[(0, 0, 1.0 / 3.0), (2, 1, -2.5e-300), (1, 0, 7.0)]).unwrap();
        let p = dir.path().join("a.mtx");
        write_matrix(&p, &a).unwrap();
        let b = read_matrix(&p).unwrap();
        assert_eq!(a.values(), b.values());
        assert_eq!(a.col_idx(), b.col_idx());
        let x = vec![0.1, -1e-17, std::f64::consts::PI];
        let q = dir.path().join("x.mtx");
        write_vector(&q, &x).unwrap();
        assert_eq!(read_vector(&q).unwrap(), x);
        assert!(read_vector(&p).is_err(), "a 3×2 matrix is not a vector");
        assert!(matches!(
            read_matrix(dir.path().join("none.mtx")),
            Err(LinalgError::Io { .. })
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn triplets() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize, f64)>)> {
        (1usize..12, 1usize..12).prop_flat_map(|(r, c)| {
            let entry = (0..r, 0..c, -1e6f64..1e6);
            (Just(r), Just(c), proptest::collection::vec(entry, 0..40))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Writing and reading back is exact, and duplicates are summed like a
        /// dense accumulation would.
        #[test]
        fn write_then_read_is_exact((r, c, t) in triplets()) {
            let a = CsrMatrix::from_triplets(r, c, &t).unwrap();
            let mut dense = vec![0.0; r * c];
            let mut seen = vec![false; r * c];
            for &(i, j, v) in &t {
                dense[i * c + j] += v;
                seen[i * c + j] = true;
            }
            for i in 0..r {
                for j in 0..c {
                    prop_assert_eq!(a.get(i, j), dense[i * c + j]);
                }
            }
            prop_assert_eq!(a.nnz(), seen.iter().filter(|&&s| s).count());
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("a.mtx");
            write_matrix(&p, &a).unwrap();
            let b = read_matrix(&p).unwrap();
            prop_assert_eq!(a.row_ptr(), b.row_ptr());
            prop_assert_eq!(a.col_idx(), b.col_idx());
            prop_assert_eq!(a.values(), b.values());
        }

        /// A symmetric file expands to the same matrix as its general form.
        #[test]
        fn symmetric_storage_expands_to_the_general_matrix((n, _, t) in triplets()) {
            let lower: Vec<(usize, usize, f64)> =
                t.iter().filter(|&&(i, j, _)| i < n && j < n).map(|&(i, j, v)| (i.max(j), i.min(j), v)).collect();
            let mut sym = format!("%%MatrixMarket matrix coordinate real symmetric\n{n} {n} {}\n", lower.len());
            let mut gen = Vec::new();
            for &(i, j, v) in &lower {
                sym.push_str(&format!("{} {} {v:e}\n", i + 1, j + 1));
                gen.push((i, j, v));
                if i != j {
                    gen.push((j, i, v));
                }
            }
            let d = parse(sym.as_bytes(), Path::new("sym.mtx")).unwrap();
            let a = CsrMatrix::from_triplets(n, n, &d.triplets).unwrap();
            let b = CsrMatrix::from_triplets(n, n, &gen).unwrap();
            prop_assert_eq!(a.values(), b.values());
            prop_assert!(a.is_symmetric(0.0));
        }
    }
}
