//! Systems assembled elsewhere, one set of files per system in a directory:
//! `A_0000.mtx`, `b_0000.mtx`, … and optionally `params_0000.npy` (the
//! parameter field, used for ordering) — the layout of `tests/data/fem-poisson-disk` and of
//! common PDE data-generation scripts.

use super::source::SystemSource;
use crate::{Result, SolverError};
use solvent_linalg::io::{matrix_market, npy};
use solvent_linalg::CsrMatrix;
use std::path::{Path, PathBuf};

/// The systems found in a directory, validated on opening: numbering
/// contiguous from 0, one `b_` per `A_`, and `params_` for all or none.
#[derive(Clone, Debug)]
pub struct DirectorySource {
    dir: PathBuf,
    /// The number strings as written (`"0000"`, …), in order.
    ids: Vec<String>,
    has_params: bool,
}

fn numbered(name: &str, prefix: &str, ext: &str) -> Option<(usize, String)> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(ext)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, digits.to_string()))
}

impl DirectorySource {
    /// Scans `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let bad = |message: String| SolverError::Sequence {
            system: dir.display().to_string(),
            message,
        };
        let entries = std::fs::read_dir(&dir).map_err(|e| bad(format!("cannot read the directory: {e}")))?;
        let (mut a, mut b, mut p) = (Vec::new(), Vec::new(), Vec::new());
        for e in entries {
            let e = e.map_err(|e| bad(format!("cannot read the directory: {e}")))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(x) = numbered(&name, "A_", ".mtx") {
                a.push(x);
            } else if let Some(x) = numbered(&name, "b_", ".mtx") {
                b.push(x);
            } else if let Some(x) = numbered(&name, "params_", ".npy") {
                p.push(x);
            }
        }
        if a.is_empty() {
            return Err(bad("no systems found: expected A_0000.mtx, b_0000.mtx, …".into()));
        }
        for v in [&mut a, &mut b, &mut p] {
            v.sort();
        }
        for (pos, (num, digits)) in a.iter().enumerate() {
            if *num != pos {
                let missing = if *num > pos {
                    format!("A_{:0width$}.mtx is missing", pos, width = digits.len())
                } else {
                    format!("A_{digits}.mtx is numbered twice")
                };
                return Err(bad(format!(
                    "systems must be numbered 0, 1, 2, … without gaps: {missing} (found A_{digits}.mtx at position {pos})"
                )));
            }
        }
        // companions must carry the same digits as their A_ file (b_0 does not pair with A_0000)
        let find = |v: &[(usize, String)], digits: &str| v.iter().any(|(_, d)| d == digits);
        for (prefix, v) in [("b_", &b), ("params_", &p)] {
            if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(bad(format!(
                    "{prefix}{}.* and {prefix}{}.* are the same system number",
                    w[0].1, w[1].1
                )));
            }
        }
        for (_, digits) in &a {
            if !find(&b, digits) {
                return Err(bad(format!(
                    "A_{digits}.mtx has no right-hand side b_{digits}.mtx"
                )));
            }
        }
        if let Some((_, d)) = b.iter().find(|(_, d)| !find(&a, d)) {
            return Err(bad(format!("b_{d}.mtx has no matrix A_{d}.mtx")));
        }
        let has_params = !p.is_empty();
        if has_params {
            for (_, digits) in &a {
                if !find(&p, digits) {
                    return Err(bad(format!(
                        "params_ files are present for some systems but params_{digits}.npy is missing"
                    )));
                }
            }
        }
        Ok(Self {
            ids: a.into_iter().map(|(_, d)| d).collect(),
            dir,
            has_params,
        })
    }
    /// The number string of system `i` (e.g. `"0003"`), for output names.
    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }
    /// Every file the source reads (`A_*`, `b_*` and, when present, `params_*`), for
    /// the checks that keep an output from overwriting one.
    pub fn input_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::with_capacity(3 * self.ids.len());
        for i in 0..self.ids.len() {
            files.push(self.path("A", i, "mtx"));
            files.push(self.path("b", i, "mtx"));
            if self.has_params {
                files.push(self.path("params", i, "npy"));
            }
        }
        files
    }
    /// Whether `params_` files are present (and used for ordering).
    pub fn has_params(&self) -> bool {
        self.has_params
    }
    fn path(&self, prefix: &str, i: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("{prefix}_{}.{ext}", self.ids[i]))
    }
}

impl SystemSource for DirectorySource {
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn features(&self, i: usize) -> Result<Vec<f64>> {
        if self.has_params {
            let path = self.path("params", i, "npy");
            let data = npy::read(&path)?.data;
            if let Some(j) = data.iter().position(|v| !v.is_finite()) {
                return Err(SolverError::Sequence {
                    system: path.display().to_string(),
                    message: format!(
                        "entry {j} is {}: the parameters that sort the sequence must be finite",
                        data[j]
                    ),
                });
            }
            Ok(data)
        } else {
            // without parameters, order by the right-hand side
            Ok(matrix_market::read_vector(self.path("b", i, "mtx"))?)
        }
    }
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)> {
        let a = matrix_market::read_matrix(self.path("A", i, "mtx"))?;
        let b = matrix_market::read_vector(self.path("b", i, "mtx"))?;
        Ok((a, b))
    }
    fn label(&self, i: usize) -> String {
        format!("A_{0}.mtx/b_{0}.mtx", self.ids[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), "").unwrap();
    }

    #[test]
    fn scanning_reports_missing_and_misnumbered_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        assert!(DirectorySource::open(p)
            .unwrap_err()
            .to_string()
            .contains("no systems found"));
        for n in ["A_0000.mtx", "b_0000.mtx", "A_0001.mtx", "b_0001.mtx"] {
            touch(p, n);
        }
        let s = DirectorySource::open(p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.id(1), "0001");
        assert!(!s.has_params());
        touch(p, "A_0003.mtx");
        touch(p, "b_0003.mtx");
        let e = DirectorySource::open(p).unwrap_err().to_string();
        assert!(e.contains("A_0002.mtx is missing"), "{e}");
        touch(p, "A_0002.mtx");
        let e = DirectorySource::open(p).unwrap_err().to_string();
        assert!(e.contains("A_0002.mtx has no right-hand side b_0002.mtx"), "{e}");
        touch(p, "b_0002.mtx");
        touch(p, "params_0000.npy");
        let e = DirectorySource::open(p).unwrap_err().to_string();
        assert!(e.contains("params_0001.npy is missing"), "{e}");
        std::fs::remove_file(p.join("params_0000.npy")).unwrap();
        // a companion with other digits does not pair up
        std::fs::remove_file(p.join("b_0003.mtx")).unwrap();
        touch(p, "b_3.mtx");
        let e = DirectorySource::open(p).unwrap_err().to_string();
        assert!(e.contains("A_0003.mtx has no right-hand side b_0003.mtx"), "{e}");
        touch(p, "b_0003.mtx");
        let e = DirectorySource::open(p).unwrap_err().to_string();
        assert!(e.contains("same system number"), "{e}");
        assert!(DirectorySource::open(p.join("nope")).is_err());
    }
}
