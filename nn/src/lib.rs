//! Solvent's model runner: a BERT-family sentence encoder (candle, tokenizers) and the
//! network-level tools of layer-wise pruning allocation — output-distortion curves, the
//! additivity check, the allocation baselines that need the network (OWL), the joint
//! distortion as an evolutionary-search evaluator, and the held-out evaluation.

pub mod encoder;
pub mod error;
pub mod staged;

pub use encoder::{pool, read_sentences, Batch, ModelDir};
pub use error::{NnError, Result};
pub use staged::{Block, Slot, Staged, Trace};
pub mod calibration;
pub mod curves;
pub mod dense;
pub mod fixture;
pub mod joint;
pub mod methods;
pub mod prune;

pub use calibration::{Calibration, Distortion};
pub use curves::{CurveSpec, Curves, LayerCurve, Target};
pub use dense::Dense;
pub use joint::{additivity, joint_distortion, Additivity, JointEvaluator};
pub use methods::{Context, Method, OwlSettings};
pub use prune::{PrunableLayer, Score};
pub mod eval;
pub use eval::{evaluate, EvalRow, EvalTable};

/// The calibration sentences that ship with Solvent (300 original sentences, one per line).
pub const CALIBRATION_TEXT: &str = include_str!("../data/calibration.txt");
/// The held-out sentences that ship with Solvent (200, disjoint from the calibration set).
pub const HELDOUT_TEXT: &str = include_str!("../data/heldout.txt");

/// The lines of a built-in text.
pub fn sentences(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
pub mod prepare;
pub use prepare::{prepare, Prepared};

#[cfg(test)]
mod tests;
