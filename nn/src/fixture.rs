//! A small random BERT written to a model directory (config.json, model.safetensors,
//! tokenizer.json with a WordPiece vocabulary of a few dozen words): for tests and
//! examples that must not download a model.

use crate::error::{NnError, Result};
use candle_core::{Device, Tensor};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::Path;

/// The fixture's vocabulary after the four special tokens ([PAD], [UNK], [CLS], [SEP]).
pub const WORDS: [&str; 36] = [
    ".", ",", "?", "the", "a", "cat", "dog", "bird", "sat", "ran", "sings", "on", "in", "under", "mat",
    "tree", "house", "big", "small", "red", "green", "fast", "slowly", "rain", "sun", "and", "is", "was",
    "it", "we", "they", "##s", "##ed", "##ing", "walk", "talk",
];

/// Sizes of the random network.
#[derive(Clone, Copy, Debug)]
pub struct TinyBert {
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Intermediate (feed-forward) size.
    pub intermediate: usize,
    /// Encoder blocks.
    pub layers: usize,
    /// Seed of the weights.
    pub seed: u64,
}

impl Default for TinyBert {
    fn default() -> Self {
        Self {
            hidden: 16,
            heads: 2,
            intermediate: 32,
            layers: 2,
            seed: 7,
        }
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box–Muller from two uniforms in (0, 1].
    let u = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let v = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

/// Writes the random model to `dir` (created if missing).
pub fn write_tiny_bert(dir: &Path, c: &TinyBert) -> Result<()> {
    let io = |e: std::io::Error| NnError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let vocab = 4 + WORDS.len();
    let max_pos = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let mut put =
        |name: String, shape: &[usize], scale: f32, offset: f32, rng: &mut ChaCha8Rng| -> Result<()> {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| offset + scale * normal(rng)).collect();
            t.insert(name, Tensor::from_vec(v, shape, &Device::Cpu)?);
            Ok(())
        };
    let h = c.hidden;
    put(
        "embeddings.word_embeddings.weight".into(),
        &[vocab, h],
        1.0,
        0.0,
        &mut rng,
    )?;
    put(
        "embeddings.position_embeddings.weight".into(),
        &[max_pos, h],
        0.3,
        0.0,
        &mut rng,
    )?;
    put(
        "embeddings.token_type_embeddings.weight".into(),
        &[2, h],
        0.3,
        0.0,
        &mut rng,
    )?;
    put("embeddings.LayerNorm.weight".into(), &[h], 0.1, 1.0, &mut rng)?;
    put("embeddings.LayerNorm.bias".into(), &[h], 0.1, 0.0, &mut rng)?;
    let ws = 1.0 / (h as f32).sqrt();
    for l in 0..c.layers {
        let p = format!("encoder.layer.{l}.");
        for s in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            put(format!("{p}{s}.weight"), &[h, h], ws, 0.0, &mut rng)?;
            put(format!("{p}{s}.bias"), &[h], 0.1, 0.0, &mut rng)?;
        }
        put(
            format!("{p}intermediate.dense.weight"),
            &[c.intermediate, h],
            ws,
            0.0,
            &mut rng,
        )?;
        put(
            format!("{p}intermediate.dense.bias"),
            &[c.intermediate],
            0.1,
            0.0,
            &mut rng,
        )?;
        put(
            format!("{p}output.dense.weight"),
            &[h, c.intermediate],
            1.0 / (c.intermediate as f32).sqrt(),
            0.0,
            &mut rng,
        )?;
        put(format!("{p}output.dense.bias"), &[h], 0.1, 0.0, &mut rng)?;
        for s in ["attention.output", "output"] {
            put(format!("{p}{s}.LayerNorm.weight"), &[h], 0.1, 1.0, &mut rng)?;
            put(format!("{p}{s}.LayerNorm.bias"), &[h], 0.1, 0.0, &mut rng)?;
        }
    }
    candle_core::safetensors::save(&t, dir.join("model.safetensors"))?;
    let config = serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab,
        "hidden_size": h,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "intermediate_size": c.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_pos,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).map_err(io)?;
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).map_err(io)?;
    Ok(())
}

/// The fixture's tokenizer.json: BERT normaliser (lowercase), BERT pre-tokenizer, WordPiece,
/// [CLS] … [SEP].
pub fn tokenizer_json() -> serde_json::Value {
    let special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"];
    let mut vocab = serde_json::Map::new();
    for (i, w) in special.iter().chain(WORDS.iter()).enumerate() {
        vocab.insert(w.to_string(), i.into());
    }
    let added: Vec<serde_json::Value> = special
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({"id": i, "content": s, "single_word": false, "lstrip": false,
                               "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
}

/// Sentences over the fixture's vocabulary (varied lengths, so batches carry padding).
pub fn sample_sentences(n: usize, seed: u64) -> Vec<String> {
    let words = &WORDS[3..31];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let len = 3 + (rng.next_u64() % 10) as usize;
            let mut s: Vec<&str> = (0..len)
                .map(|_| words[(rng.next_u64() % words.len() as u64) as usize])
                .collect();
            s.push(".");
            s.join(" ")
        })
        .collect()
}
