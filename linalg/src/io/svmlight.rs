//! LIBSVM / svmlight files: one sample per line, `label index:value index:value … [# comment]`,
//! indices increasing (1-based, as LIBSVM writes them; a file with an index 0 is read as
//! 0-based), `qid:` fields ignored. Read into a CSR design matrix and a label vector; errors name
//! the file and line.

use crate::csr::CsrMatrix;
use crate::error::{LinalgError, Result};
use crate::io::atomic_write;
use std::path::Path;

fn fmt_err(path: &Path, line: usize, message: impl Into<String>) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message: message.into(),
    }
}

/// Reads a file: (samples × features CSR matrix, labels). The feature count is the largest
/// index seen (or `n_features` when given and not smaller).
pub fn read(path: impl AsRef<Path>, n_features: Option<usize>) -> Result<(CsrMatrix, Vec<f64>)> {
    let path = path.as_ref();
    let text = super::read_text(path)?;
    let mut labels = Vec::new();
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut zero_based = false;
    let mut max_index = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let label_text = fields.next().unwrap_or("");
        let label: f64 = label_text
            .parse()
            .map_err(|_| fmt_err(path, ln, format!("label \"{label_text}\" is not a number")))?;
        if !label.is_finite() {
            return Err(fmt_err(path, ln, format!("label is {label}")));
        }
        let mut row = Vec::new();
        let mut last: Option<usize> = None;
        for f in fields {
            let Some((k, v)) = f.split_once(':') else {
                return Err(fmt_err(path, ln, format!("\"{f}\" is not index:value")));
            };
            if k == "qid" {
                continue;
            }
            let idx: usize = k.parse().map_err(|_| {
                fmt_err(
                    path,
                    ln,
                    format!("feature index \"{k}\" is not a non-negative integer"),
                )
            })?;
            let val: f64 = v.parse().map_err(|_| {
                fmt_err(
                    path,
                    ln,
                    format!("value \"{v}\" of feature {idx} is not a number"),
                )
            })?;
            if !val.is_finite() {
                return Err(fmt_err(path, ln, format!("value of feature {idx} is {val}")));
            }
            if last.is_some_and(|l| idx <= l) {
                return Err(fmt_err(
                    path,
                    ln,
                    format!(
                        "feature indices must increase ({idx} after {})",
                        last.unwrap_or(0)
                    ),
                ));
            }
            if idx >= u32::MAX as usize {
                return Err(fmt_err(
                    path,
                    ln,
                    format!(
                        "feature index {idx} is beyond the {} features supported",
                        u32::MAX - 1
                    ),
                ));
            }
            last = Some(idx);
            zero_based |= idx == 0;
            max_index = max_index.max(idx);
            row.push((idx, val));
        }
        labels.push(label);
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(LinalgError::Empty(format!("{}: no samples", path.display())));
    }
    let shift = usize::from(!zero_based);
    let seen = max_index + 1 - shift;
    let ncols = match n_features {
        Some(n) if n < seen => {
            return Err(fmt_err(
                path,
                1,
                format!("the file has {seen} features, more than the {n} expected"),
            ))
        }
        Some(n) => n,
        None => seen,
    };
    let mut triplets = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for &(k, v) in row {
            triplets.push((r, k - shift, v));
        }
    }
    Ok((CsrMatrix::from_triplets(rows.len(), ncols, &triplets)?, labels))
}

/// Writes samples in LIBSVM format (1-based indices, zeros omitted), atomically.
pub fn write(path: impl AsRef<Path>, a: &CsrMatrix, labels: &[f64]) -> Result<()> {
    if labels.len() != a.nrows() {
        return Err(LinalgError::dims("svmlight labels", a.nrows(), labels.len()));
    }
    atomic_write(path.as_ref(), |w| {
        for (i, &label) in labels.iter().enumerate() {
            write!(w, "{label}")?;
            let (cols, vals) = a.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                if v != 0.0 {
                    write!(w, " {}:{v}", c + 1)?;
                }
            }
            writeln!(w)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.svm");
        std::fs::write(&p, "+1 1:0.5 3:-2 # note\n-1 qid:3 2:1.5\n\n0 4:1e-3\n").unwrap();
        let (a, y) = read(&p, None).unwrap();
        assert_eq!((a.nrows(), a.ncols()), (3, 4));
        assert_eq!(y, vec![1.0, -1.0, 0.0]);
        assert_eq!(a.get(0, 2), -2.0);
        assert_eq!(a.get(1, 1), 1.5);
        let q = d.path().join("b.svm");
        write(&q, &a, &y).unwrap();
        let (b, z) = read(&q, Some(4)).unwrap();
        assert_eq!(a.to_dense(), b.to_dense());
        assert_eq!(y, z);
        let bad = |text: &str| {
            std::fs::write(&p, text).unwrap();
            read(&p, None).unwrap_err().to_string()
        };
        assert!(bad("1 1:2\n1 2:x\n").contains("a.svm:2: value \"x\""));
        assert!(bad("1 3:2 2:1\n").contains("a.svm:1: feature indices must increase"));
        assert!(bad("yes 1:1\n").contains("label \"yes\""));
        assert!(bad("1 1:nan\n").contains("value of feature 1 is NaN"));
        assert!(bad("").contains("no samples"));
    }
}
