//! Dense numeric tables (CSV, TSV, semicolon or whitespace separated) as a design matrix and a
//! label column. The first line is a header when told so, or, when detected, when none of
//! its fields is a number; a first line that mixes numbers and text is an error (a typo in
//! the first data row must not turn it into a header and drop a sample). Zeros are not
//! stored.

use crate::csr::CsrMatrix;
use crate::error::{LinalgError, Result};
use std::path::Path;

/// Where the label column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The first column.
    First,
    /// The last column.
    Last,
}

crate::named_enum!(LabelColumn, "label column" { First => "first", Last => "last" });

fn fmt_err(path: &Path, line: usize, message: impl Into<String>) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message: message.into(),
    }
}

/// Reads `(samples × features, labels)`, detecting a header; see [`read_with`].
pub fn read(path: impl AsRef<Path>, label: LabelColumn) -> Result<(CsrMatrix, Vec<f64>)> {
    read_with(path, label, None)
}

/// Reads `(samples × features, labels)`; every row must have the same number of fields and
/// every field must be a finite number (errors name line and column). `header`: whether
/// the first line is a header (`None`: detected, see the module).
pub fn read_with(
    path: impl AsRef<Path>,
    label: LabelColumn,
    header: Option<bool>,
) -> Result<(CsrMatrix, Vec<f64>)> {
    let path = path.as_ref();
    let text = super::read_text(path)?;
    let delim = |l: &str| -> Option<char> { [',', '\t', ';'].into_iter().find(|&c| l.contains(c)) };
    let mut width = None;
    let mut labels = Vec::new();
    let mut trip = Vec::new();
    let mut first = true;
    for (k, raw) in text.lines().enumerate() {
        let ln = k + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = match delim(line) {
            Some(d) => line.split(d).map(str::trim).collect(),
            None => line.split_whitespace().collect(),
        };
        if first {
            first = false;
            let numbers = fields.iter().filter(|f| f.parse::<f64>().is_ok()).count();
            match header {
                Some(true) => continue,
                Some(false) => {}
                None if numbers == 0 => continue, // a header
                None if numbers < fields.len() => {
                    return Err(fmt_err(
                        path,
                        ln,
                        "the first line mixes numbers and text: is it a header with a number in it, or a data row with a typo? Say which (header yes or no)",
                    ))
                }
                None => {}
            }
        }
        if fields.len() < 2 {
            return Err(fmt_err(path, ln, "a row needs a label and at least one feature"));
        }
        match width {
            None => width = Some(fields.len()),
            Some(w) if w != fields.len() => {
                return Err(fmt_err(
                    path,
                    ln,
                    format!("{} fields, but earlier rows have {w}", fields.len()),
                ))
            }
            _ => {}
        }
        let row = labels.len();
        let lab_at = match label {
            LabelColumn::First => 0,
            LabelColumn::Last => fields.len() - 1,
        };
        let mut col = 0;
        for (c, f) in fields.iter().enumerate() {
            let v: f64 = f
                .parse()
                .map_err(|_| fmt_err(path, ln, format!("column {}: \"{f}\" is not a number", c + 1)))?;
            if !v.is_finite() {
                return Err(fmt_err(path, ln, format!("column {} is {v}", c + 1)));
            }
            if c == lab_at {
                labels.push(v);
            } else {
                if v != 0.0 {
                    trip.push((row, col, v));
                }
                col += 1;
            }
        }
    }
    let Some(w) = width else {
        return Err(LinalgError::Empty(format!("{}: no data rows", path.display())));
    };
    Ok((CsrMatrix::from_triplets(labels.len(), w - 1, &trip)?, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mixed_first_line_is_an_error_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "1,2x,1\n0,2,0\n").unwrap();
        let e = read(&p, LabelColumn::Last).unwrap_err();
        assert!(
            e.to_string().contains("t.csv:1") && e.to_string().contains("mixes numbers and text"),
            "{e}"
        );
        // told it is a header: one sample
        let (x, y) = read_with(&p, LabelColumn::Last, Some(true)).unwrap();
        assert_eq!((x.nrows(), y), (1, vec![0.0]));
        // told there is none: the typo is named
        let e = read_with(&p, LabelColumn::Last, Some(false)).unwrap_err();
        assert!(e.to_string().contains("\"2x\" is not a number"), "{e}");
        // a byte-order mark does not make a header
        std::fs::write(&p, "\u{feff}1,2,1\n0,2,0\n").unwrap();
        assert_eq!(read(&p, LabelColumn::Last).unwrap().1, vec![1.0, 0.0]);
    }

    #[test]
    fn reads_header_and_rejects_nan_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "a,b,y\n1,0,1\n0,2.5,-1\n").unwrap();
        let (x, y) = read(&p, LabelColumn::Last).unwrap();
        assert_eq!((x.nrows(), x.ncols(), x.nnz()), (2, 2, 2));
        assert_eq!(y, vec![1.0, -1.0]);
        assert_eq!(x.get(1, 1), 2.5);
        std::fs::write(&p, "1 2 3\n4 nan 6\n").unwrap();
        let e = read(&p, LabelColumn::First).unwrap_err().to_string();
        assert!(e.contains(":2") || e.contains("line 2"), "{e}");
        std::fs::write(&p, "1,2,3\n4,5\n").unwrap();
        let e = read(&p, LabelColumn::First).unwrap_err().to_string();
        assert!(e.contains("2 fields"), "{e}");
    }
}
