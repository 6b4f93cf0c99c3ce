//! The problems of a suite, made from their parameters and a seed (every draw is a
//! function of the seed and the problem's name), and written to files for external
//! solvers:
//!
//! - `lasso`, `l1-logistic`: a sparse design (`samples × features`, `density`) with
//!   `informative` non-zero true coefficients, labels with `noise` (or their signs for
//!   logistic), λ = `lambda_ratio`·λ_max. File: an `.npz` with the CSR arrays `data`,
//!   `indices`, `indptr`, `shape`, the labels `y` and `lambda` (the objective is
//!   scikit-learn's: (1/2n)‖y − Xw‖² + λ‖w‖₁, or the mean logistic loss + λ‖w‖₁).
//! - `sequence`: `count` systems of a `datagen` family on a `grid × grid` grid. Files: a
//!   `solve-seq` directory (`A_0000.mtx`, `b_0000.mtx`, …) and `tol`.
//! - `ls`, `logistic`: the BCD paper's synthetic sets (`samples × features`, column
//!   scales 10·N(0,1), density 10·ln(p)/p; least squares with noise, or flipped signs),
//!   L2 weight `lambda` (default 0 for ls, 1/n for logistic). File: as the Lasso's.
//! - `completion`: a rank-`rank` `rows × cols` matrix observed at `observed` with
//!   `noise`, a `test` fraction held out. File: `train.tsv` and `test.tsv` in a directory.
//! - `allocation`: a synthetic options table (`layers`, `levels`, sizes between
//!   `min_size` and `max_size`, `noise` on the magnitude-pruning curves) and a `budget`
//!   (a fraction of the dense parameter count). Files: the table in `solvent allocate`'s
//!   JSON (`table.json`) and the fraction (`budget.txt`).
//! - From files instead of generators: `lasso`/`l1-logistic` with `file` (svmlight, or a
//!   CSV/TSV table with the label first), `sequence` with `dir` (a `solve-seq` directory),
//!   `completion` with `train` (and `test`, or a `split` fraction), `allocation` with
//!   `file` (an options table, JSON or CSV, as `solvent allocate --table`).
//! - `bilevel`: the quadratic bilevel problem of `solvent bilevel --problem quadratic`
//!   (`dim_x`, `dim_y`, `upper_samples`, `lower_samples`, lower-level `condition`). No
//!   file (external bilevel solvers are not supported yet).

use super::suite::ProblemSpec;
use solvent_linalg::io::dense_csv::LabelColumn;
use solvent_linalg::io::npz::NpzWriter;
use solvent_linalg::io::{matrix_market, read_design};
use solvent_linalg::CsrMatrix;
use solvent_problems::allocation::read_table;
use solvent_problems::allocation::{
    synthetic_table, write_json as write_table_json, OptionTable, SyntheticTable,
};
use solvent_problems::bcd::{SyntheticConfig, SyntheticKind};
use solvent_problems::bilevel::{QuadraticBilevel, QuadraticConfig};
use solvent_problems::completion::{read_ratings, Delimiter};
use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use solvent_solvers::bcd::{build_glm, BuiltGlm, GlmSpec, ProblemKind};
use solvent_solvers::completion::RatingsProblem;
use solvent_solvers::completion::{CompletionProblem, Omega};
use solvent_solvers::sequence::DirectorySource;
use std::path::{Path, PathBuf};

/// A seeded stream of uniform numbers in [0, 1) (SplitMix64): the suites' data depend
/// on the seed and the problem's name only.
pub struct Draws(u64);

impl Draws {
    /// The stream of `seed` (mixed with `salt`, so problems with one seed differ).
    pub fn new(seed: u64, salt: &str) -> Self {
        let h = salt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        Self(seed ^ h)
    }
    /// The next number in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A standard normal number (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A made problem.
pub enum Made {
    /// A sparse GLM (Lasso or L1-logistic) with its design and labels.
    Glm {
        /// The problem and its λ.
        built: Box<BuiltGlm>,
        /// The kind.
        kind: ProblemKind,
        /// The design, as made.
        x: Box<CsrMatrix>,
        /// The labels, as made.
        y: Vec<f64>,
    },
    /// A sequence of a PDE family.
    Sequence {
        /// The family's sampler.
        sampler: Box<PdeSampler>,
        /// Systems.
        count: usize,
        /// Tolerance on each system's relative residual.
        tol: f64,
    },
    /// A completion problem (training and test entries).
    Completion(Box<CompletionProblem>),
    /// A sequence read from a `solve-seq` directory.
    Files {
        /// The systems.
        source: Box<DirectorySource>,
        /// The directory (what external solvers get).
        dir: PathBuf,
        /// Tolerance on each system's relative residual.
        tol: f64,
    },
    /// A quadratic bilevel problem.
    Bilevel(Box<QuadraticBilevel>),
    /// An allocation table and its budget (a fraction of the dense total).
    Allocation {
        /// The options per layer.
        table: Box<OptionTable>,
        /// The budget fraction.
        budget: f64,
    },
}

fn num(spec: &ProblemSpec, key: &str, default: f64) -> Result<f64, String> {
    match spec.params.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .ok_or_else(|| format!("problem `{}`: `{key}` must be a number, got {v}", spec.name)),
    }
}

fn count(spec: &ProblemSpec, key: &str, default: usize) -> Result<usize, String> {
    let v = num(spec, key, default as f64)?;
    if v < 1.0 || v.fract() != 0.0 {
        return Err(format!(
            "problem `{}`: `{key}` must be a positive integer, got {v}",
            spec.name
        ));
    }
    Ok(v as usize)
}

fn known(spec: &ProblemSpec, keys: &[&str]) -> Result<(), String> {
    match spec.params.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "problem `{}` ({}): unknown parameter `{k}` (known: {})",
            spec.name,
            spec.kind,
            keys.join(", ")
        )),
        None => Ok(()),
    }
}

/// The regression problem `glm_spec` on design `x` and labels `y` (both kept for the
/// peers' file).
fn glm(spec: &ProblemSpec, x: CsrMatrix, y: Vec<f64>, glm_spec: GlmSpec) -> Result<Made, String> {
    let built =
        build_glm(x.clone(), y.clone(), &glm_spec).map_err(|e| format!("problem `{}`: {e}", spec.name))?;
    Ok(Made::Glm {
        built: Box::new(built),
        kind: glm_spec.kind,
        x: Box::new(x),
        y,
    })
}

/// A path parameter (relative paths are taken from the current directory, where
/// `solvent bench` runs).
fn path_param(spec: &ProblemSpec, key: &str) -> Result<PathBuf, String> {
    match spec.params.get(key).and_then(|v| v.as_str()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => Err(format!("problem `{}`: `{key}` must be a path", spec.name)),
    }
}

/// The `file` (or `dir`) parameter.
fn file(spec: &ProblemSpec) -> Result<PathBuf, String> {
    path_param(
        spec,
        if spec.params.contains_key("dir") {
            "dir"
        } else {
            "file"
        },
    )
}

/// Makes problem `spec` for `seed`.
pub fn make(spec: &ProblemSpec, seed: u64) -> Result<Made, String> {
    match spec.kind.as_str() {
        "lasso" | "l1-logistic" if spec.params.contains_key("file") => {
            known(spec, &["file", "lambda_ratio"])?;
            let path = file(spec)?;
            let (x, y) = read_design(&path, LabelColumn::First, None)
                .map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            let kind = if spec.kind == "l1-logistic" {
                ProblemKind::L1Logistic
            } else {
                ProblemKind::Lasso
            };
            glm(
                spec,
                x,
                y,
                GlmSpec {
                    lambda_ratio: Some(num(spec, "lambda_ratio", 0.1)?),
                    ..GlmSpec::new(kind)
                },
            )
        }
        "lasso" | "l1-logistic" => {
            known(
                spec,
                &[
                    "samples",
                    "features",
                    "density",
                    "informative",
                    "noise",
                    "lambda_ratio",
                ],
            )?;
            let (n, p) = (count(spec, "samples", 200)?, count(spec, "features", 1000)?);
            let density = num(spec, "density", 0.01)?;
            if !(density > 0.0 && density <= 1.0) {
                return Err(format!("problem `{}`: density must be in (0, 1]", spec.name));
            }
            let informative = count(spec, "informative", 10)?.min(p);
            let noise = num(spec, "noise", 0.1)?;
            let ratio = num(spec, "lambda_ratio", 0.1)?;
            let mut d = Draws::new(seed, &spec.name);
            let mut trip = Vec::new();
            for i in 0..n {
                for j in 0..p {
                    if d.uniform() < density {
                        trip.push((i, j, d.normal()));
                    }
                }
            }
            let x = CsrMatrix::from_triplets(n, p, &trip).map_err(|e| e.to_string())?;
            let mut w = vec![0.0; p];
            for _ in 0..informative {
                let j = (d.uniform() * p as f64) as usize % p;
                w[j] = d.normal();
            }
            let mut y = vec![0.0; n];
            x.mul_vec(&w, &mut y);
            let logistic = spec.kind == "l1-logistic";
            for v in &mut y {
                *v += noise * d.normal();
                if logistic {
                    *v = if *v > 0.0 { 1.0 } else { -1.0 };
                }
            }
            let kind = if logistic {
                ProblemKind::L1Logistic
            } else {
                ProblemKind::Lasso
            };
            glm(
                spec,
                x,
                y,
                GlmSpec {
                    lambda_ratio: Some(ratio),
                    ..GlmSpec::new(kind)
                },
            )
        }
        "ls" | "logistic" => {
            known(spec, &["samples", "features", "lambda"])?;
            let (n, p) = (count(spec, "samples", 1000)?, count(spec, "features", 1000)?);
            let logistic = spec.kind == "logistic";
            let synthetic = if logistic {
                SyntheticKind::Logistic
            } else {
                SyntheticKind::LeastSquares
            };
            let (x, y, _) = SyntheticConfig::paper(n, p, synthetic, seed)
                .generate()
                .map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            let kind = if logistic {
                ProblemKind::Logistic
            } else {
                ProblemKind::Ls
            };
            let lambda = spec
                .params
                .get("lambda")
                .map(|_| num(spec, "lambda", 0.0))
                .transpose()?;
            glm(
                spec,
                x,
                y,
                GlmSpec {
                    lambda,
                    ..GlmSpec::new(kind)
                },
            )
        }
        "allocation" if spec.params.contains_key("file") => {
            known(spec, &["file", "budget"])?;
            let budget = num(spec, "budget", 0.5)?;
            if !(budget > 0.0 && budget <= 1.0) {
                return Err(format!(
                    "problem `{}`: budget must be a fraction in (0, 1]",
                    spec.name
                ));
            }
            let table = read_table(file(spec)?).map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            Ok(Made::Allocation {
                table: Box::new(table),
                budget,
            })
        }
        "allocation" => {
            known(
                spec,
                &["layers", "levels", "min_size", "max_size", "noise", "budget"],
            )?;
            let budget = num(spec, "budget", 0.5)?;
            if !(budget > 0.0 && budget <= 1.0) {
                return Err(format!(
                    "problem `{}`: budget must be a fraction in (0, 1]",
                    spec.name
                ));
            }
            let table = synthetic_table(&SyntheticTable {
                layers: count(spec, "layers", 100)?,
                levels: count(spec, "levels", 21)?,
                min_size: count(spec, "min_size", 1000)? as u64,
                max_size: count(spec, "max_size", 100_000)? as u64,
                noise: num(spec, "noise", 0.05)?,
                seed,
            })
            .map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            Ok(Made::Allocation {
                table: Box::new(table),
                budget,
            })
        }
        "bilevel" => {
            known(
                spec,
                &["dim_x", "dim_y", "upper_samples", "lower_samples", "condition"],
            )?;
            let d = QuadraticConfig::default();
            let q = QuadraticBilevel::generate(&QuadraticConfig {
                dim_x: count(spec, "dim_x", d.dim_x)?,
                dim_y: count(spec, "dim_y", d.dim_y)?,
                upper_samples: count(spec, "upper_samples", d.upper_samples)?,
                lower_samples: count(spec, "lower_samples", d.lower_samples)?,
                condition: num(spec, "condition", d.condition)?,
                seed,
            })
            .map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            Ok(Made::Bilevel(Box::new(q)))
        }
        "sequence" if spec.params.contains_key("dir") => {
            known(spec, &["dir", "tol"])?;
            let dir = file(spec)?;
            let source = DirectorySource::open(&dir).map_err(|e| format!("problem `{}`: {e}", spec.name))?;
            Ok(Made::Files {
                source: Box::new(source),
                dir,
                tol: num(spec, "tol", 1e-8)?,
            })
        }
        "sequence" => {
            known(spec, &["family", "grid", "count", "tol"])?;
            let family = match spec.params.get("family") {
                None => PdeFamily::Darcy,
                Some(v) => {
                    let s = v.as_str().unwrap_or_default();
                    <PdeFamily as solvent_linalg::Named>::parse_or_list(s)
                        .map_err(|e| format!("problem `{}`: {e}", spec.name))?
                }
            };
            let grid = count(spec, "grid", 32)?;
            let sampler =
                PdeSampler::new(family, FamilyConfig::new(grid, seed)).map_err(|e| e.to_string())?;
            Ok(Made::Sequence {
                sampler: Box::new(sampler),
                count: count(spec, "count", 20)?,
                tol: num(spec, "tol", 1e-8)?,
            })
        }
        "completion" if spec.params.contains_key("train") => {
            known(spec, &["train", "test", "split"])?;
            let bad = |e: String| format!("problem `{}`: {e}", spec.name);
            let all = read_ratings(path_param(spec, "train")?, Delimiter::Auto, None)
                .map_err(|e| bad(e.to_string()))?;
            let (train, test) = match (spec.params.get("test"), spec.params.get("split")) {
                (Some(_), _) => {
                    let t = read_ratings(path_param(spec, "test")?, Delimiter::Auto, None)
                        .map_err(|e| bad(e.to_string()))?;
                    (all, Some(t))
                }
                (None, Some(_)) => {
                    let (a, b) = all
                        .split(num(spec, "split", 0.1)?, seed)
                        .map_err(|e| bad(e.to_string()))?;
                    (a, Some(b))
                }
                (None, None) => (all, None),
            };
            let model = RatingsProblem::new(train, test.as_ref(), false);
            Ok(Made::Completion(Box::new(model.problem)))
        }
        "completion" => {
            known(spec, &["rows", "cols", "rank", "observed", "noise", "test"])?;
            let (m, n, k) = (
                count(spec, "rows", 500)?,
                count(spec, "cols", 400)?,
                count(spec, "rank", 5)?,
            );
            let (observed, noise, test) = (
                num(spec, "observed", 0.1)?,
                num(spec, "noise", 0.01)?,
                num(spec, "test", 0.1)?,
            );
            let mut d = Draws::new(seed, &spec.name);
            let u: Vec<f64> = (0..m * k).map(|_| d.normal()).collect();
            let v: Vec<f64> = (0..n * k).map(|_| d.normal()).collect();
            let (mut train, mut held) = (Vec::new(), Vec::new());
            for i in 0..m {
                for j in 0..n {
                    if d.uniform() < observed {
                        let x = (0..k).map(|t| u[i * k + t] * v[j * k + t]).sum::<f64>() + noise * d.normal();
                        let e = (i as u32, j as u32, x);
                        if d.uniform() < test {
                            held.push(e);
                        } else {
                            train.push(e);
                        }
                    }
                }
            }
            Ok(Made::Completion(Box::new(CompletionProblem {
                omega: Omega::new(m, n, &train),
                test: held,
            })))
        }
        other => Err(format!("problem `{}`: unknown kind `{other}`", spec.name)),
    }
}

/// A sequence problem's (tolerance, number of systems), from its parameters; `None` for
/// other kinds or bad parameters.
pub fn make_sequence_size(spec: &ProblemSpec) -> Option<(f64, usize)> {
    (spec.kind == "sequence").then_some(())?;
    let tol = num(spec, "tol", 1e-8).ok()?;
    if spec.params.contains_key("dir") {
        let source = DirectorySource::open(file(spec).ok()?).ok()?;
        return Some((tol, solvent_solvers::sequence::SystemSource::len(&source)));
    }
    Some((tol, count(spec, "count", 20).ok()?))
}

/// Writes a made problem where an external solver can read it (in `dir`, emptied
/// first, so no file of an earlier, different problem is left); returns the path to
/// hand to the command's `{problem}`.
pub fn write(made: &Made, dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let fail = |e: solvent_linalg::LinalgError| e.to_string();
    match made {
        Made::Glm { built, x, y, .. } => {
            let mut z = NpzWriter::new();
            z.add("data", &[x.nnz()], x.values()).map_err(fail)?;
            let indices: Vec<i64> = x.col_idx().iter().map(|&c| c as i64).collect();
            let indptr: Vec<i64> = x.row_ptr().iter().map(|&c| c as i64).collect();
            z.add("indices", &[indices.len()], &indices).map_err(fail)?;
            z.add("indptr", &[indptr.len()], &indptr).map_err(fail)?;
            z.add("shape", &[2], &[x.nrows() as i64, x.ncols() as i64])
                .map_err(fail)?;
            z.add("y", &[y.len()], y).map_err(fail)?;
            z.add("lambda", &[1], &[built.lambda]).map_err(fail)?;
            let path = dir.join("problem.npz");
            z.write(&path).map_err(fail)?;
            Ok(path)
        }
        Made::Sequence { sampler, count, .. } => {
            for i in 0..*count {
                let s = sampler.sample(i).map_err(|e| e.to_string())?;
                matrix_market::write_matrix(dir.join(format!("A_{i:04}.mtx")), &s.a).map_err(fail)?;
                matrix_market::write_vector(dir.join(format!("b_{i:04}.mtx")), &s.b).map_err(fail)?;
            }
            Ok(dir.to_path_buf())
        }
        Made::Completion(p) => {
            let rows = p.omega.by_rows();
            let mut train = String::new();
            for i in 0..p.omega.nrows() {
                for q in rows.ptr[i]..rows.ptr[i + 1] {
                    train.push_str(&format!("{i}\t{}\t{}\n", rows.idx[q], rows.val[q]));
                }
            }
            let test: String = p
                .test
                .iter()
                .map(|(i, j, v)| format!("{i}\t{j}\t{v}\n"))
                .collect();
            std::fs::write(dir.join("train.tsv"), train).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("test.tsv"), test).map_err(|e| e.to_string())?;
            Ok(dir.to_path_buf())
        }
        Made::Bilevel(_) => Err("a bilevel problem has no file for external solvers yet".into()),
        Made::Files { dir: files, .. } => Ok(files.clone()),
        Made::Allocation { table, budget } => {
            // the table in `solvent allocate --table`'s JSON, the budget fraction beside it
            let path = dir.join("table.json");
            write_table_json(table, &path).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("budget.txt"), format!("{budget}\n")).map_err(|e| e.to_string())?;
            Ok(path)
        }
    }
}
