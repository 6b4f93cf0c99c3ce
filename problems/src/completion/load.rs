//! Reading observed entries: rating files (`user item rating [anything…]` per line, the
//! MovieLens `u.data` layout; tab, comma, semicolon or whitespace separated, detected or
//! given; an optional header line, detected when the first line's rating is not a number)
//! and Matrix Market coordinate files (ids are the 1-based row and column numbers).
//! Errors name the file and the line.

use super::ratings::Ratings;
use crate::error::Result;
use solvent_linalg::io::matrix_market;
use solvent_linalg::LinalgError;
use std::path::Path;

/// Field separator of a rating file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// Detected from the first data line: tab, else comma, else semicolon, else whitespace.
    Auto,
    /// `\t`.
    Tab,
    /// `,`.
    Comma,
    /// `;`.
    Semicolon,
    /// Runs of spaces or tabs.
    Whitespace,
}

impl Delimiter {
    /// Parses `auto|tab|comma|semicolon|space`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "tab" | "\\t" => Self::Tab,
            "comma" | "," => Self::Comma,
            "semicolon" | ";" => Self::Semicolon,
            "space" | "whitespace" => Self::Whitespace,
            _ => return None,
        })
    }
    fn detect(line: &str) -> Self {
        if line.contains('\t') {
            Self::Tab
        } else if line.contains(',') {
            Self::Comma
        } else if line.contains(';') {
            Self::Semicolon
        } else {
            Self::Whitespace
        }
    }
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Self::Tab => line.split('\t').map(str::trim).collect(),
            Self::Comma => line.split(',').map(str::trim).collect(),
            Self::Semicolon => line.split(';').map(str::trim).collect(),
            Self::Whitespace | Self::Auto => line.split_whitespace().collect(),
        }
    }
}

fn format_err(path: &Path, line: usize, message: String) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    }
}

/// The data lines of a text file: `(1-based line number, fields)`, comments (`#`, `%`)
/// and blank lines skipped, the header skipped when `header` says so or (`None`) when
/// `is_header` recognises the first data line.
fn data_lines(
    text: &str,
    delimiter: Delimiter,
    header: Option<bool>,
    is_header: impl Fn(&[&str]) -> bool,
) -> Vec<(usize, Vec<&str>)> {
    let mut delim = delimiter;
    let mut out = Vec::new();
    let mut first = true;
    for (k, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('%') {
            continue;
        }
        if delim == Delimiter::Auto {
            delim = Delimiter::detect(t);
        }
        let fields = delim.split(t);
        if first {
            first = false;
            if header.unwrap_or_else(|| is_header(&fields)) {
                continue;
            }
        }
        out.push((k + 1, fields));
    }
    out
}

fn read_text(path: &Path) -> Result<String> {
    Ok(solvent_linalg::io::read_text(path)?)
}

/// Reads observed entries from a rating file or (`.mtx`) a Matrix Market coordinate file.
pub fn read_ratings(path: impl AsRef<Path>, delimiter: Delimiter, header: Option<bool>) -> Result<Ratings> {
    let path = path.as_ref();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("mtx")) {
        let a = matrix_market::read_matrix(path)?;
        let mut r = Ratings::default();
        for i in 0..a.nrows() {
            r.users.intern(&(i + 1).to_string());
        }
        for j in 0..a.ncols() {
            r.items.intern(&(j + 1).to_string());
        }
        for i in 0..a.nrows() {
            let (cols, vals) = a.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                r.entries.push((i as u32, j, v));
            }
        }
        return Ok(r);
    }
    let text = read_text(path)?;
    let lines = data_lines(&text, delimiter, header, |f| {
        f.len() >= 3 && f[2].parse::<f64>().is_err()
    });
    let mut r = Ratings::default();
    for (line, f) in lines {
        if f.len() < 3 {
            return Err(format_err(
                path,
                line,
                format!("expected `user item rating`, found {} field(s)", f.len()),
            )
            .into());
        }
        let v: f64 = f[2]
            .parse()
            .map_err(|_| format_err(path, line, format!("rating `{}` is not a number", f[2])))?;
        if !v.is_finite() {
            return Err(format_err(path, line, format!("rating `{}` is not finite", f[2])).into());
        }
        if f[0].is_empty() || f[1].is_empty() {
            return Err(format_err(path, line, "empty user or item id".into()).into());
        }
        r.push(f[0], f[1], v);
    }
    if r.is_empty() {
        return Err(LinalgError::Format {
            path: path.to_path_buf(),
            line: None,
            message: "no ratings in the file".into(),
        }
        .into());
    }
    Ok(r)
}

/// Whether the first line of a pairs file is a header: in the ratings layout (three or
/// more fields) by the training file's rule (the rating field is not a number); with two
/// fields, when both look like column names (`user`, `item`, `row`, `col`, `id`, with
/// `_id`/`id`/`:token` suffixes, any case).
fn pairs_header(f: &[&str]) -> bool {
    if f.len() >= 3 {
        return f[2].parse::<f64>().is_err();
    }
    let name = |s: &str| {
        let s = s.to_ascii_lowercase();
        let base = s
            .split(':')
            .next()
            .unwrap_or("")
            .trim_end_matches("_id")
            .trim_end_matches("id");
        matches!(
            base,
            "user" | "item" | "row" | "col" | "column" | "movie" | "u" | "i" | ""
        ) && !s.is_empty()
    };
    f.len() == 2 && name(f[0]) && name(f[1])
}

/// Reads `user item` pairs (further columns ignored), in file order, with their line
/// numbers; the header and delimiter are detected as for rating files ([`pairs_header`]).
pub fn read_pairs(
    path: impl AsRef<Path>,
    delimiter: Delimiter,
    header: Option<bool>,
) -> Result<Vec<(String, String)>> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let lines = data_lines(&text, delimiter, header, pairs_header);
    lines
        .into_iter()
        .map(|(line, f)| {
            if f.len() < 2 || f[0].is_empty() || f[1].is_empty() {
                Err(format_err(path, line, "expected `user item`".into()).into())
            } else {
                Ok((f[0].to_string(), f[1].to_string()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairs_file_with_a_ratings_header_skips_it() {
        assert!(pairs_header(&["row", "col", "value"]));
        assert!(pairs_header(&["user_id:token", "item_id:token", "rating:float"]));
        assert!(pairs_header(&["user", "item"]));
        assert!(pairs_header(&["UserId", "MovieId"]));
        assert!(!pairs_header(&["196", "242", "3"]));
        assert!(!pairs_header(&["u1", "i5"]));
        let (_d, p) = write("row col value\n1 2 3\n4 5 6\n", "p.txt");
        let pairs = read_pairs(&p, Delimiter::Auto, None).unwrap();
        assert_eq!(
            pairs,
            vec![("1".to_string(), "2".to_string()), ("4".into(), "5".into())]
        );
        // told there is none, the first line is a pair
        assert_eq!(read_pairs(&p, Delimiter::Auto, Some(false)).unwrap().len(), 3);
    }

    fn write(text: &str, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn movielens_layout_csv_with_header_and_matrix_market() {
        let (_d, p) = write(
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n",
            "u.data",
        );
        let r = read_ratings(&p, Delimiter::Auto, None).unwrap();
        assert_eq!((r.nrows(), r.ncols(), r.len()), (2, 3, 3));
        assert_eq!(r.users.name(0), "196");
        assert_eq!(r.entries[2], (0, 2, 1.0));
        let (_d, p) = write(
            "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n",
            "r.csv",
        );
        let r = read_ratings(&p, Delimiter::Auto, None).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.items.name(1), "1029");
        let (_d, p) = write(
            "%%MatrixMarket matrix coordinate real general\n3 4 2\n1 2 5.0\n3 4 -1.5\n",
            "m.mtx",
        );
        let r = read_ratings(&p, Delimiter::Auto, None).unwrap();
        assert_eq!((r.nrows(), r.ncols(), r.len()), (3, 4, 2));
        assert_eq!(r.entries[1], (2, 3, -1.5));
        let (_d, p) = write("# pairs\nuser item\n196 242\n7 8 extra\n", "p.txt");
        let pairs = read_pairs(&p, Delimiter::Auto, None).unwrap();
        assert_eq!(
            pairs,
            vec![("196".into(), "242".into()), ("7".into(), "8".into())]
        );
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        for (text, line, what) in [
            ("1 2 3\n1 2\n", 2, "field"),
            ("1 2 3\n4 5 five\n", 2, "not a number"),
            ("1 2 3\n\n4 5 NaN\n", 3, "not finite"),
            ("1 2 3\n4 5 inf\n", 2, "not finite"),
        ] {
            let (_d, p) = write(text, "bad.txt");
            let e = read_ratings(&p, Delimiter::Auto, None).unwrap_err().to_string();
            assert!(
                e.contains(&format!(":{line}: ")) && e.contains(what),
                "{text:?}: {e}"
            );
        }
        let (_d, p) = write("# nothing\n", "empty.txt");
        assert!(read_ratings(&p, Delimiter::Auto, None)
            .unwrap_err()
            .to_string()
            .contains("no ratings"));
    }
}
