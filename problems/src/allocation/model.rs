//! Curves from a safetensors model: for each prunable weight (≥ 2-D, floating point, selected by
//! name patterns), magnitude pruning on a sparsity grid — level k removes the round(k/(K−1)·n)
//! smallest-magnitude weights (ties broken by position) — with its distortion measured in
//! weight space, ‖W − Ŵ‖²_F, or, given calibration inputs X for the layer, ‖(W − Ŵ)X‖²_F.
//! Layers are measured in parallel. The same ordering writes the pruned model
//! ([`Model::write_pruned`]), so the file matches the allocation exactly.
//!
//! Calibration inputs: `DIR/<tensor name>.npy`, shape (samples, in_features) — what a forward
//! hook records — or (in_features, samples); only for 2-D weights (out_features, in_features).

use super::table::{Layer, LayerOption, OptionTable, PARAMS};
use crate::error::{ProblemError, Result};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use solvent_linalg::LinalgError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A safetensors file held in memory.
pub struct Model {
    path: PathBuf,
    bytes: Vec<u8>,
}

/// Which tensors to prune and how finely.
#[derive(Clone, Debug)]
pub struct CurveSpec {
    /// Sparsity levels: k/(levels−1), k = 0..levels (≥ 2).
    pub levels: usize,
    /// Name patterns (`*`, `?`) a tensor must match (empty: every ≥ 2-D floating-point tensor).
    pub include: Vec<String>,
    /// Name patterns that exclude a tensor.
    pub exclude: Vec<String>,
    /// Directory of calibration inputs, one `.npy` per tensor.
    pub calib: Option<PathBuf>,
}

/// The measured curves, plus what the magnitude baselines need.
pub struct ModelCurves {
    /// One layer per pruned tensor: costs `params` (kept weights) and `flops` (2 per kept weight
    /// and input position), distortions as measured.
    pub table: OptionTable,
    /// Each layer's squared weights in increasing order (for global magnitude and LAMP).
    pub sorted_sq: Vec<Vec<f64>>,
}

fn model_err(path: &Path, message: impl Into<String>) -> ProblemError {
    ProblemError::Linalg(LinalgError::Format {
        path: path.to_path_buf(),
        line: None,
        message: message.into(),
    })
}

/// `*` matches any run of characters, `?` any one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_float(d: Dtype) -> bool {
    matches!(d, Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16)
}

/// Decodes a floating-point tensor's little-endian bytes.
fn decode(dtype: Dtype, data: &[u8]) -> Option<Vec<f64>> {
    Some(match dtype {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as f64)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect(),
        _ => return None,
    })
}

/// Positions of `w` by increasing magnitude, ties by position: the pruning order.
pub fn magnitude_order(w: &[f64]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..w.len() as u32).collect();
    idx.sort_unstable_by(|&a, &b| {
        w[a as usize]
            .abs()
            .total_cmp(&w[b as usize].abs())
            .then(a.cmp(&b))
    });
    idx
}

/// How many weights level k of `levels` prunes in a tensor of n weights.
pub fn pruned_at(k: usize, levels: usize, n: usize) -> usize {
    ((k as f64 / (levels - 1) as f64) * n as f64)
        .round()
        .min(n as f64) as usize
}

impl Model {
    /// Reads and validates a safetensors file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| {
            ProblemError::Linalg(LinalgError::Io {
                path: path.clone(),
                source,
            })
        })?;
        SafeTensors::deserialize(&bytes)
            .map_err(|e| model_err(&path, format!("not a valid safetensors file: {e}")))?;
        Ok(Self { path, bytes })
    }

    fn tensors(&self) -> SafeTensors<'_> {
        // Validated in `open`.
        SafeTensors::deserialize(&self.bytes).expect("validated safetensors header")
    }

    /// Every tensor's name, dtype and shape, in file order of names.
    pub fn describe(&self) -> Vec<(String, String, Vec<usize>)> {
        let mut v: Vec<_> = self
            .tensors()
            .iter()
            .map(|(n, t)| (n.to_string(), format!("{:?}", t.dtype()), t.shape().to_vec()))
            .collect();
        v.sort();
        v
    }

    /// The tensors to prune, sorted by name. With no include patterns: every ≥ 2-D
    /// floating-point tensor not excluded. A tensor an include pattern names explicitly must be
    /// ≥ 2-D floating point, else an error names it and its dtype.
    pub fn select(&self, include: &[String], exclude: &[String]) -> Result<Vec<String>> {
        let st = self.tensors();
        let mut names = Vec::new();
        for (name, t) in st.iter() {
            if exclude.iter().any(|p| glob_match(p, name)) {
                continue;
            }
            let included = include.is_empty() || include.iter().any(|p| glob_match(p, name));
            if !included {
                continue;
            }
            if t.shape().len() < 2 {
                continue;
            }
            if !is_float(t.dtype()) {
                if include.is_empty() {
                    continue;
                }
                return Err(model_err(
                    &self.path,
                    format!(
                        "tensor \"{name}\" has dtype {:?}; only F64, F32, F16 and BF16 weights can be pruned \
                         (exclude it with --exclude)",
                        t.dtype()
                    ),
                ));
            }
            names.push(name.to_string());
        }
        if names.is_empty() {
            return Err(model_err(
                &self.path,
                format!("no ≥ 2-D floating-point tensor matches include {include:?} / exclude {exclude:?}"),
            ));
        }
        names.sort();
        Ok(names)
    }

    /// The weights of one tensor as f64 (an error names a missing tensor or an unsupported dtype).
    pub fn weights(&self, name: &str) -> Result<(Vec<usize>, Vec<f64>)> {
        let st = self.tensors();
        let t = st
            .tensor(name)
            .map_err(|_| model_err(&self.path, format!("no tensor named \"{name}\" in the model")))?;
        let w = decode(t.dtype(), t.data()).ok_or_else(|| {
            model_err(
                &self.path,
                format!(
                    "tensor \"{name}\" has dtype {:?}; only F64, F32, F16 and BF16 weights can be pruned",
                    t.dtype()
                ),
            )
        })?;
        Ok((t.shape().to_vec(), w))
    }

    /// Measures every selected tensor's curve (in parallel across tensors).
    pub fn curves(&self, spec: &CurveSpec) -> Result<ModelCurves> {
        if spec.levels < 2 || spec.levels > u16::MAX as usize {
            return Err(ProblemError::Invalid(format!(
                "levels must be in 2..=65535, got {}",
                spec.levels
            )));
        }
        let names = self.select(&spec.include, &spec.exclude)?;
        let measured: Vec<Result<(Layer, Vec<f64>)>> =
            names.par_iter().map(|name| self.curve(name, spec)).collect();
        let mut layers = Vec::with_capacity(names.len());
        let mut sorted_sq = Vec::with_capacity(names.len());
        for m in measured {
            let (layer, sq) = m?;
            layers.push(layer);
            sorted_sq.push(sq);
        }
        let table = OptionTable::new(vec![PARAMS.to_string(), "flops".to_string()], layers)?;
        Ok(ModelCurves { table, sorted_sq })
    }

    fn curve(&self, name: &str, spec: &CurveSpec) -> Result<(Layer, Vec<f64>)> {
        let (shape, w) = self.weights(name)?;
        let n = w.len();
        let order = magnitude_order(&w);
        let sorted_sq: Vec<f64> = order.iter().map(|&i| w[i as usize] * w[i as usize]).collect();
        let distortions = match &spec.calib {
            None => {
                let mut prefix = 0.0;
                let mut done = 0;
                (0..spec.levels)
                    .map(|k| {
                        let target = pruned_at(k, spec.levels, n);
                        while done < target {
                            prefix += sorted_sq[done];
                            done += 1;
                        }
                        prefix
                    })
                    .collect::<Vec<f64>>()
            }
            Some(dir) => self.calibrated(name, &shape, &w, &order, spec.levels, dir)?,
        };
        if let Some(k) = distortions.iter().position(|d| !d.is_finite()) {
            return Err(model_err(
                &self.path,
                format!(
                    "tensor \"{name}\": distortion at level {k} is not finite (NaN or infinite weights?)"
                ),
            ));
        }
        let options = distortions
            .into_iter()
            .enumerate()
            .map(|(k, d)| {
                let pruned = pruned_at(k, spec.levels, n);
                let kept = (n - pruned) as u64;
                LayerOption {
                    level: k as u32,
                    sparsity: Some(pruned as f64 / n as f64),
                    cost: vec![kept, 2 * kept],
                    distortion: d,
                }
            })
            .collect();
        Ok((
            Layer {
                name: name.to_string(),
                shape: Some(shape),
                options,
            },
            sorted_sq,
        ))
    }

    /// ‖(W − Ŵ)X‖²_F per level, adding each newly pruned weight's contribution w·X\[c, :\] to
    /// row r of Y = (W − Ŵ)X: O(n·N) for the whole curve.
    fn calibrated(
        &self,
        name: &str,
        shape: &[usize],
        w: &[f64],
        order: &[u32],
        levels: usize,
        dir: &Path,
    ) -> Result<Vec<f64>> {
        if shape.len() != 2 {
            return Err(model_err(
                &self.path,
                format!("tensor \"{name}\" has shape {shape:?}; calibration needs 2-D (out, in) weights"),
            ));
        }
        let (rows, cols) = (shape[0], shape[1]);
        let file = dir.join(format!("{name}.npy"));
        if !file.is_file() {
            return Err(ProblemError::Invalid(format!(
                "calibration input for \"{name}\" is missing: expected {}",
                file.display()
            )));
        }
        let x = solvent_linalg::io::npy::read(&file)?;
        // xt[c] = the samples of input feature c (row c of X as (in, N)).
        let (samples, xt): (usize, Vec<f64>) = match x.shape.as_slice() {
            [s, c] if *c == cols => {
                let mut t = vec![0.0; cols * s];
                for i in 0..*s {
                    for j in 0..cols {
                        t[j * s + i] = x.data[i * cols + j];
                    }
                }
                (*s, t)
            }
            [c, s] if *c == cols => (*s, x.data),
            other => {
                return Err(model_err(
                    &file,
                    format!(
                    "calibration array has shape {other:?}; expected (samples, {cols}) or ({cols}, samples)"
                ),
                ))
            }
        };
        solvent_linalg::error::check_finite(&format!("calibration input {}", file.display()), &xt)?;
        let mut y = vec![0.0; rows * samples];
        let mut row_norm = vec![0.0; rows];
        let mut total = 0.0;
        let mut done = 0;
        let mut touched = vec![false; rows];
        let mut touched_list = Vec::new();
        let mut out = Vec::with_capacity(levels);
        for k in 0..levels {
            let target = pruned_at(k, levels, w.len());
            while done < target {
                let i = order[done] as usize;
                let (r, c) = (i / cols, i % cols);
                let wv = w[i];
                let yr = &mut y[r * samples..(r + 1) * samples];
                for (a, b) in yr.iter_mut().zip(&xt[c * samples..(c + 1) * samples]) {
                    *a += wv * b;
                }
                if !touched[r] {
                    touched[r] = true;
                    touched_list.push(r);
                }
                done += 1;
            }
            for &r in &touched_list {
                let norm: f64 = y[r * samples..(r + 1) * samples].iter().map(|v| v * v).sum();
                total += norm - row_norm[r];
                row_norm[r] = norm;
                touched[r] = false;
            }
            touched_list.clear();
            out.push(total.max(0.0));
        }
        Ok(out)
    }

    /// Writes a copy of the model with `pruned[name]` smallest-magnitude weights of each named
    /// tensor set to zero (the same order as the curves); every other tensor and the metadata
    /// are copied bit for bit. Written to a temporary file and renamed.
    pub fn write_pruned(&self, pruned: &HashMap<String, usize>, out: &Path) -> Result<()> {
        let st = self.tensors();
        let (_, meta) = SafeTensors::read_metadata(&self.bytes)
            .map_err(|e| model_err(&self.path, format!("reading the header: {e}")))?;
        let mut owned: HashMap<String, Vec<u8>> = HashMap::new();
        for (name, &count) in pruned {
            let t = st
                .tensor(name)
                .map_err(|_| model_err(&self.path, format!("no tensor named \"{name}\" in the model")))?;
            let (_, w) = self.weights(name)?;
            if count > w.len() {
                return Err(ProblemError::Invalid(format!(
                    "cannot prune {count} weights of \"{name}\", it has {}",
                    w.len()
                )));
            }
            let size = t.dtype().bitsize() / 8;
            let mut data = t.data().to_vec();
            for &i in &magnitude_order(&w)[..count] {
                let i = i as usize;
                data[i * size..(i + 1) * size].fill(0);
            }
            owned.insert(name.clone(), data);
        }
        let mut views = Vec::new();
        for (name, t) in st.iter() {
            let data: &[u8] = owned.get(name).map(Vec::as_slice).unwrap_or(t.data());
            let view = safetensors::tensor::TensorView::new(t.dtype(), t.shape().to_vec(), data)
                .map_err(|e| model_err(&self.path, format!("tensor \"{name}\": {e}")))?;
            views.push((name.to_string(), view));
        }
        let bytes = safetensors::serialize(views, meta.metadata().clone()).map_err(|e| {
            ProblemError::Linalg(LinalgError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
        })?;
        // Whole or not at all: a temporary file renamed into place.
        solvent_linalg::io::atomic_write(out, |w| w.write_all(&bytes))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// A small model: a 6×5 F32 weight, a 4×4 F16 weight, a 1-D bias and a 2-D I64 tensor.
    fn write_model(dir: &Path) -> (PathBuf, Vec<f64>) {
        let mut s = 7;
        let w: Vec<f64> = (0..30).map(|_| lcg(&mut s)).collect();
        let a: Vec<u8> = w.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
        let b: Vec<u8> = (0..16)
            .flat_map(|i| half::f16::from_f64(i as f64 - 7.5).to_le_bytes())
            .collect();
        let bias: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let ids: Vec<u8> = (0..4i64).flat_map(|i| i.to_le_bytes()).collect();
        let views = vec![
            (
                "enc.a.weight",
                TensorView::new(Dtype::F32, vec![6, 5], &a).unwrap(),
            ),
            (
                "enc.b.weight",
                TensorView::new(Dtype::F16, vec![4, 4], &b).unwrap(),
            ),
            ("enc.a.bias", TensorView::new(Dtype::F32, vec![6], &bias).unwrap()),
            (
                "position_ids",
                TensorView::new(Dtype::I64, vec![1, 4], &ids).unwrap(),
            ),
        ];
        let meta = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
        let path = dir.join("m.safetensors");
        safetensors::serialize_to_file(views, meta, &path).unwrap();
        let w32: Vec<f64> = w.iter().map(|&v| v as f32 as f64).collect();
        (path, w32)
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "encoder.layer.*.weight",
            "encoder.layer.3.attention.self.query.weight"
        ));
        assert!(!glob_match(
            "encoder.layer.*.weight",
            "encoder.layer.3.output.LayerNorm.bias"
        ));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c*", "abcde"));
        assert!(!glob_match("a?c", "ac"));
    }

    #[test]
    fn curves_match_direct_computation() {
        let dir = tempfile::tempdir().unwrap();
        let (path, w) = write_model(dir.path());
        let m = Model::open(&path).unwrap();
        // Default selection: ≥ 2-D floating point only.
        assert_eq!(m.select(&[], &[]).unwrap(), vec!["enc.a.weight", "enc.b.weight"]);
        // Calibration X as (samples, in) = 7×5.
        let mut s = 3;
        let x: Vec<f64> = (0..35).map(|_| lcg(&mut s)).collect();
        let cal = dir.path().join("cal");
        std::fs::create_dir(&cal).unwrap();
        solvent_linalg::io::npy::write_f64(cal.join("enc.a.weight.npy"), &[7, 5], &x).unwrap();
        let levels = 11;
        let plain = m
            .curves(&CurveSpec {
                levels,
                include: vec!["enc.a.*".into()],
                exclude: vec![],
                calib: None,
            })
            .unwrap();
        let calibrated = m
            .curves(&CurveSpec {
                levels,
                include: vec!["enc.a.*".into()],
                exclude: vec![],
                calib: Some(cal),
            })
            .unwrap();
        let order = magnitude_order(&w);
        for k in 0..levels {
            let pruned = pruned_at(k, levels, 30);
            let mut dw = vec![0.0; 30];
            for &i in &order[..pruned] {
                dw[i as usize] = w[i as usize];
            }
            let weight_space: f64 = dw.iter().map(|v| v * v).sum();
            // ‖ΔW Xᵀ‖² with ΔW 6×5 and X 7×5.
            let mut out_space = 0.0;
            for r in 0..6 {
                for smp in 0..7 {
                    let y: f64 = (0..5).map(|c| dw[r * 5 + c] * x[smp * 5 + c]).sum();
                    out_space += y * y;
                }
            }
            let o = &plain.table.layers[0].options[k];
            assert!((o.distortion - weight_space).abs() <= 1e-12 * (1.0 + weight_space));
            assert_eq!(o.cost[0], 30 - pruned as u64);
            let c = calibrated.table.layers[0].options[k].distortion;
            assert!(
                (c - out_space).abs() <= 1e-10 * (1.0 + out_space),
                "level {k}: {c} vs {out_space}"
            );
        }
        // Sorted squares match the weights.
        let mut sq: Vec<f64> = w.iter().map(|v| v * v).collect();
        sq.sort_by(f64::total_cmp);
        assert_eq!(plain.sorted_sq[0], sq);
    }

    #[test]
    fn bad_models_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_model(dir.path());
        let m = Model::open(&path).unwrap();
        let e = m.select(&["position_ids".into()], &[]).unwrap_err().to_string();
        assert!(e.contains("position_ids") && e.contains("I64"), "{e}");
        let e = m.select(&["nothing.*".into()], &[]).unwrap_err().to_string();
        assert!(e.contains("no ≥ 2-D"), "{e}");
        let spec = CurveSpec {
            levels: 5,
            include: vec!["enc.a.weight".into()],
            exclude: vec![],
            calib: Some(dir.path().to_path_buf()),
        };
        let e = m.curves(&spec).err().unwrap().to_string();
        assert!(
            e.contains("calibration input for \"enc.a.weight\" is missing"),
            "{e}"
        );
        let e = m.write_pruned(
            &HashMap::from([("gone".to_string(), 1)]),
            &dir.path().join("o.safetensors"),
        );
        assert!(e.unwrap_err().to_string().contains("no tensor named \"gone\""));
        std::fs::write(dir.path().join("junk.safetensors"), b"not a model").unwrap();
        let e = Model::open(dir.path().join("junk.safetensors"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a valid safetensors file"), "{e}");
    }

    #[test]
    fn pruned_file_keeps_the_largest_weights_and_copies_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (path, w) = write_model(dir.path());
        let m = Model::open(&path).unwrap();
        let out = dir.path().join("p.safetensors");
        m.write_pruned(
            &HashMap::from([("enc.a.weight".to_string(), 12), ("enc.b.weight".to_string(), 5)]),
            &out,
        )
        .unwrap();
        let p = Model::open(&out).unwrap();
        let (_, pa) = p.weights("enc.a.weight").unwrap();
        let order = magnitude_order(&w);
        for (rank, &i) in order.iter().enumerate() {
            let i = i as usize;
            if rank < 12 {
                assert_eq!(pa[i], 0.0);
            } else {
                assert_eq!(pa[i], w[i]);
            }
        }
        let (_, pb) = p.weights("enc.b.weight").unwrap();
        assert_eq!(pb.iter().filter(|&&v| v == 0.0).count(), 5);
        // |i − 7.5| smallest for i = 7, 8 (0.5), 6, 9 (1.5), then 5 (2.5; tie with 10 by position).
        for i in [5, 6, 7, 8, 9] {
            assert_eq!(pb[i], 0.0);
        }
        assert_eq!(pb[10], 2.5);
        let (st0, st1) = (m.tensors(), p.tensors());
        for name in ["enc.a.bias", "position_ids"] {
            assert_eq!(st0.tensor(name).unwrap().data(), st1.tensor(name).unwrap().data());
        }
        let (_, meta) = SafeTensors::read_metadata(&p.bytes).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    }
}
