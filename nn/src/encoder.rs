//! A sentence-transformers encoder: a BERT-family network (candle-transformers' `BertModel`)
//! read from a model directory, its tokenizer, mean pooling over the real tokens and L2
//! normalisation — what `SentenceTransformer(DIR).encode(sentences)` returns for
//! all-MiniLM-L6-v2 and its relatives.

use crate::error::{read, NnError, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// Sentences per batch (sorted by length first, so padding stays small).
pub const BATCH: usize = 32;

/// A model directory as sentence-transformers and transformers write it: `config.json`,
/// `model.safetensors`, `tokenizer.json`, and optionally `sentence_bert_config.json` (for
/// `max_seq_length`).
pub struct ModelDir {
    /// The directory.
    pub dir: PathBuf,
    /// The network's configuration.
    pub config: Config,
    /// Every tensor of `model.safetensors` (floating-point ones as f32).
    pub tensors: HashMap<String, Tensor>,
    /// The tokenizer (padding off, truncation at `max_seq_length`).
    pub tokenizer: Tokenizer,
    /// Longest input in tokens (sentence-transformers' `max_seq_length`, else the
    /// network's position limit).
    pub max_seq_length: usize,
}

impl ModelDir {
    /// Opens `dir`, naming the file that is missing or malformed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(NnError::Model {
                path: dir,
                msg: "not a directory (a model directory holds config.json, model.safetensors \
                      and tokenizer.json)"
                    .into(),
            });
        }
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_slice(&read(&config_path)?).map_err(|e| NnError::Model {
            path: config_path.clone(),
            msg: format!("not a BERT configuration: {e}"),
        })?;
        if config.num_attention_heads == 0 || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            return Err(NnError::Model {
                path: config_path,
                msg: format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    config.hidden_size, config.num_attention_heads
                ),
            });
        }
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(NnError::Model {
                path: weights,
                msg: "missing (the network's weights, safetensors)".into(),
            });
        }
        let raw = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(|e| NnError::Model {
            path: weights.clone(),
            msg: e.to_string(),
        })?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            let t = if t.dtype().is_float() && t.dtype() != DType::F32 {
                t.to_dtype(DType::F32)?
            } else {
                t
            };
            // Checkpoints saved from BertForXxx carry a "bert." prefix.
            let name = name.strip_prefix("bert.").map(str::to_string).unwrap_or(name);
            tensors.insert(name, t);
        }
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| NnError::Model {
            path: tok_path.clone(),
            msg: e.to_string(),
        })?;
        let mut max_seq_length = config.max_position_embeddings;
        let st = dir.join("sentence_bert_config.json");
        if st.is_file() {
            let v: serde_json::Value = serde_json::from_slice(&read(&st)?).map_err(|e| NnError::Model {
                path: st.clone(),
                msg: e.to_string(),
            })?;
            if let Some(m) = v.get("max_seq_length").and_then(|m| m.as_u64()) {
                max_seq_length = (m as usize).min(config.max_position_embeddings);
            }
        }
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| NnError::Model {
                path: tok_path,
                msg: e.to_string(),
            })?;
        Ok(Self {
            dir,
            config,
            tensors,
            tokenizer,
            max_seq_length,
        })
    }

    /// Tokenizes `sentences` into length-sorted, padded batches.
    pub fn batches(&self, sentences: &[String]) -> Result<Vec<Batch>> {
        if sentences.is_empty() {
            return Err(NnError::Input("no sentences to encode".into()));
        }
        let mut enc = Vec::with_capacity(sentences.len());
        for (i, s) in sentences.iter().enumerate() {
            let e = self
                .tokenizer
                .encode(s.as_str(), true)
                .map_err(|e| NnError::Tokenizer(format!("sentence {}: {e}", i + 1)))?;
            enc.push((e.get_ids().to_vec(), e.get_type_ids().to_vec()));
        }
        let mut order: Vec<usize> = (0..enc.len()).collect();
        order.sort_by_key(|&i| (enc[i].0.len(), i));
        order.chunks(BATCH).map(|idx| Batch::new(idx, &enc)).collect()
    }

    /// The network as candle-transformers builds it, over `tensors` (the model's own, or
    /// a pruned copy).
    pub fn network(&self, tensors: &HashMap<String, Tensor>) -> Result<BertModel> {
        let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
        Ok(BertModel::load(vb, &self.config)?)
    }

    /// Sentence embeddings (one row per sentence, in input order, unit length) of the
    /// network over `tensors`.
    pub fn embed_with(
        &self,
        tensors: &HashMap<String, Tensor>,
        sentences: &[String],
    ) -> Result<Vec<Vec<f32>>> {
        let net = self.network(tensors)?;
        let mut out = vec![Vec::new(); sentences.len()];
        for b in self.batches(sentences)? {
            let h = net.forward(&b.ids, &b.type_ids, Some(&b.mask))?;
            let e = pool(&h, &b.mask)?.to_vec2::<f32>()?;
            for (row, &i) in e.into_iter().zip(&b.index) {
                out[i] = row;
            }
        }
        Ok(out)
    }

    /// Sentence embeddings of the model as stored.
    pub fn embed(&self, sentences: &[String]) -> Result<Vec<Vec<f32>>> {
        self.embed_with(&self.tensors, sentences)
    }
}

/// One padded batch of tokenized sentences.
pub struct Batch {
    /// Token ids, (B, S) u32.
    pub ids: Tensor,
    /// Segment ids, (B, S) u32.
    pub type_ids: Tensor,
    /// 1 on real tokens, 0 on padding, (B, S) f32.
    pub mask: Tensor,
    /// The additive attention mask, (B, 1, 1, S): 0 on real tokens, f32::MIN on padding.
    pub extended_mask: Tensor,
    /// Real tokens in the batch.
    pub tokens: usize,
    /// Which input sentence each row is.
    pub index: Vec<usize>,
}

impl Batch {
    fn new(index: &[usize], enc: &[(Vec<u32>, Vec<u32>)]) -> Result<Self> {
        let s = index.iter().map(|&i| enc[i].0.len()).max().unwrap_or(0).max(1);
        let b = index.len();
        let (mut ids, mut types, mut mask) = (vec![0u32; b * s], vec![0u32; b * s], vec![0f32; b * s]);
        let mut tokens = 0;
        for (r, &i) in index.iter().enumerate() {
            let (t, ty) = &enc[i];
            ids[r * s..r * s + t.len()].copy_from_slice(t);
            types[r * s..r * s + ty.len()].copy_from_slice(ty);
            mask[r * s..r * s + t.len()].fill(1.0);
            tokens += t.len();
        }
        let dev = Device::Cpu;
        let mask = Tensor::from_vec(mask, (b, s), &dev)?;
        let extended_mask = ((1.0 - &mask)? * f64::from(f32::MIN))?.reshape((b, 1, 1, s))?;
        Ok(Self {
            ids: Tensor::from_vec(ids, (b, s), &dev)?,
            type_ids: Tensor::from_vec(types, (b, s), &dev)?,
            mask,
            extended_mask,
            tokens,
            index: index.to_vec(),
        })
    }
}

/// Mean over the real tokens of `hidden` (B, S, H), then L2-normalised rows (B, H): the
/// sentence-transformers Pooling(mean) + Normalize modules.
pub fn pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = sum.broadcast_div(&count)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(mean.broadcast_div(&norm)?)
}

/// Reads a text file of one sentence per line (blank lines skipped).
pub fn read_sentences(path: &Path) -> Result<Vec<String>> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes).map_err(|e| NnError::Model {
        path: path.to_path_buf(),
        msg: format!("not UTF-8 text: {e}"),
    })?;
    let out: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if out.is_empty() {
        return Err(NnError::Model {
            path: path.to_path_buf(),
            msg: "no sentences (one per line expected)".into(),
        });
    }
    Ok(out)
}
