//! Output-distortion curves: each encoder linear layer pruned alone to each level, the
//! network run on the calibration set from that layer onward, and the mean squared change
//! of the pooled embeddings (and of the last hidden states) recorded — the per-layer
//! curves of the layer-adaptive pruning paper, computed once per model, calibration set,
//! level grid and score, and cached.

use crate::calibration::{Calibration, Distortion};
use crate::dense::Dense;
use crate::encoder::ModelDir;
use crate::error::{read, NnError, Result};
use crate::prune::{PrunableLayer, Score};
use crate::staged::Slot;
use solvent_problems::allocation::{Layer, LayerOption, OptionTable, PARAMS};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bumped whenever what the curves measure changes (old cache files are then ignored).
const CURVES_VERSION: u32 = 1;

/// What the curves are measured over.
#[derive(Clone, Debug)]
pub struct CurveSpec {
    /// Sparsity levels 0, 1/(K−1), …, 1.
    pub levels: usize,
    /// The order weights are pruned in, inside each layer.
    pub score: Score,
}

/// Which output the allocation's distortion is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The normalised pooled sentence embedding (what the model is used for).
    Embedding,
    /// The last hidden state of every real token.
    Hidden,
}

/// One layer's curve.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LayerCurve {
    /// The weight tensor's name.
    pub name: String,
    /// (out_features, in_features).
    pub shape: [usize; 2],
    /// Weights pruned at each level.
    pub pruned: Vec<usize>,
    /// Embedding distortion at each level.
    pub embedding: Vec<f64>,
    /// Hidden-state distortion at each level.
    pub hidden: Vec<f64>,
}

/// Every layer's curve and what it was measured on.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Curves {
    /// The cache key (model, tokenizer, sentences, grid, score, version).
    pub key: String,
    /// Levels per layer.
    pub levels: usize,
    /// The pruning order inside a layer.
    pub score: Score,
    /// Calibration sentences.
    pub sentences: usize,
    /// Calibration tokens.
    pub tokens: usize,
    /// Seconds the measurement took.
    pub seconds: f64,
    /// The curves, in block and running order.
    pub layers: Vec<LayerCurve>,
}

/// Every encoder linear layer of the model, ranked by `score`, in block and running order.
pub fn prunable_layers(model: &ModelDir, cal: &Calibration, score: Score) -> Result<Vec<PrunableLayer>> {
    let mut out = Vec::new();
    for (b, blk) in cal.staged.blocks.iter().enumerate() {
        for s in Slot::ALL {
            let norms = match score {
                Score::Wanda => Some(cal.input_norms(b, s)?),
                Score::Magnitude => None,
            };
            let name = s.weight_name(b);
            debug_assert!(model.tensors.contains_key(&name));
            out.push(PrunableLayer::new(&name, blk.layer(s), score, norms.as_deref())?);
        }
    }
    Ok(out)
}

/// How many weights level k of `levels` prunes in n weights (the same rounding as the
/// weight-space curves).
pub fn pruned_at(k: usize, levels: usize, n: usize) -> usize {
    solvent_problems::allocation::model::pruned_at(k, levels, n)
}

/// A layer's weights with `count` of them pruned, as a linear layer with its bias.
pub fn pruned_linear(cal: &Calibration, layer: &PrunableLayer, count: usize) -> Result<Dense> {
    let (b, s) = Slot::parse(&layer.name)
        .ok_or_else(|| NnError::Input(format!("\"{}\" is not an encoder linear weight", layer.name)))?;
    Ok(cal.staged.blocks[b]
        .layer(s)
        .with_weights(layer.pruned_weights(count)?))
}

/// Measures the curves. `progress(done, total)` is called after each (layer, level).
pub fn compute(
    cal: &Calibration,
    layers: &[PrunableLayer],
    spec: &CurveSpec,
    key: String,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Curves> {
    if spec.levels < 2 {
        return Err(NnError::Input(format!(
            "levels must be at least 2, got {}",
            spec.levels
        )));
    }
    let t0 = Instant::now();
    let total = layers.len() * (spec.levels - 1);
    let mut done = 0;
    let mut out = Vec::with_capacity(layers.len());
    for layer in layers {
        let (b, s) = Slot::parse(&layer.name)
            .ok_or_else(|| NnError::Input(format!("\"{}\" is not an encoder linear weight", layer.name)))?;
        let mut c = LayerCurve {
            name: layer.name.clone(),
            shape: [layer.shape.0, layer.shape.1],
            pruned: Vec::with_capacity(spec.levels),
            embedding: Vec::with_capacity(spec.levels),
            hidden: Vec::with_capacity(spec.levels),
        };
        for k in 0..spec.levels {
            let count = pruned_at(k, spec.levels, layer.len());
            let d = if count == 0 {
                Distortion::default()
            } else {
                let d = cal.one_layer(b, s, &pruned_linear(cal, layer, count)?)?;
                done += 1;
                progress(done, total);
                d
            };
            if !(d.embedding.is_finite() && d.hidden.is_finite()) {
                return Err(NnError::Input(format!(
                    "layer \"{}\" at level {k}: the distortion is not finite",
                    layer.name
                )));
            }
            c.pruned.push(count);
            c.embedding.push(d.embedding);
            c.hidden.push(d.hidden);
        }
        out.push(c);
    }
    progress(total, total);
    Ok(Curves {
        key,
        levels: spec.levels,
        score: spec.score,
        sentences: cal.sentences,
        tokens: cal.tokens,
        seconds: t0.elapsed().as_secs_f64(),
        layers: out,
    })
}

impl Curves {
    /// The options table the allocators take: one option per level, cost = kept weights
    /// (`params`) and 2× that (`flops`, one multiply-add per weight and token), distortion
    /// from `target`.
    pub fn table(&self, target: Target) -> Result<OptionTable> {
        let layers = self
            .layers
            .iter()
            .map(|c| {
                let n = c.shape[0] * c.shape[1];
                let values = match target {
                    Target::Embedding => &c.embedding,
                    Target::Hidden => &c.hidden,
                };
                Layer {
                    name: c.name.clone(),
                    shape: Some(c.shape.to_vec()),
                    options: c
                        .pruned
                        .iter()
                        .zip(values)
                        .enumerate()
                        .map(|(k, (&p, &d))| {
                            let kept = (n - p) as u64;
                            LayerOption {
                                level: k as u32,
                                sparsity: Some(p as f64 / n as f64),
                                cost: vec![kept, 2 * kept],
                                distortion: d,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(OptionTable::new(
            vec![PARAMS.to_string(), "flops".to_string()],
            layers,
        )?)
    }
}

/// FNV-1a, 64 bits: a stable fingerprint for cache keys (not for security).
pub(crate) fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The cache key of curves over this model (weights, config, tokenizer), these sentences,
/// this grid and score.
pub fn cache_key(model: &ModelDir, sentences: &[String], spec: &CurveSpec) -> Result<String> {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        h = fnv1a(h, &read(&model.dir.join(f))?);
    }
    for s in sentences {
        h = fnv1a(h, s.as_bytes());
        h = fnv1a(h, b"\n");
    }
    h = fnv1a(
        h,
        format!(
            "v{CURVES_VERSION} levels {} score {} max_seq {}",
            spec.levels,
            spec.score.as_str(),
            model.max_seq_length
        )
        .as_bytes(),
    );
    Ok(format!("{h:016x}"))
}

/// The cache file for `key` in `dir`.
pub fn cache_file(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("curves-{key}.json"))
}

/// The cached curves for `key`, if `dir` has a readable file for it.
pub fn load_cached(dir: &Path, key: &str) -> Option<Curves> {
    let bytes = std::fs::read(cache_file(dir, key)).ok()?;
    let c: Curves = serde_json::from_slice(&bytes).ok()?;
    (c.key == key).then_some(c)
}

/// Writes `curves` to the cache (a temporary file renamed into place, so a reader never
/// sees half a file).
pub fn store(dir: &Path, curves: &Curves) -> Result<PathBuf> {
    let io = |path: &Path, source| NnError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let path = cache_file(dir, &curves.key);
    let tmp = dir.join(format!(".curves-{}.{}.tmp", curves.key, std::process::id()));
    let json = serde_json::to_vec(curves).map_err(|e| NnError::Input(e.to_string()))?;
    std::fs::write(&tmp, json).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&path, e)
    })?;
    Ok(path)
}

/// The default cache directory: `$XDG_CACHE_HOME/solvent`, else `$HOME/.cache/solvent`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("solvent"))
}
