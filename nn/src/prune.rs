//! Pruning inside one layer: an order over the weights (smallest score first) and the
//! weight tensor with its first `count` entries of that order set to zero.

use crate::dense::Dense;
use crate::error::{NnError, Result};
use candle_core::{Device, Tensor};

/// How weights are ranked inside a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// |W_ij| — magnitude pruning (the layer-adaptive pruning paper's choice).
    Magnitude,
    /// |W_ij|·‖X_j‖₂, X_j the j-th input feature over the calibration tokens (Wanda's score,
    /// ranked over the whole layer rather than per output row).
    Wanda,
}

impl Score {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Score::Magnitude => "magnitude",
            Score::Wanda => "wanda",
        }
    }
}

impl std::str::FromStr for Score {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "magnitude" => Ok(Score::Magnitude),
            "wanda" => Ok(Score::Wanda),
            _ => Err(format!("unknown score \"{s}\" (magnitude or wanda)")),
        }
    }
}

/// One prunable layer: its weights (row-major, `rows × cols` = out × in) and the order in
/// which they are pruned.
pub struct PrunableLayer {
    /// The tensor name.
    pub name: String,
    /// (out_features, in_features).
    pub shape: (usize, usize),
    /// The dense weights, row-major.
    pub weights: Vec<f32>,
    /// Positions by increasing score, ties by position.
    pub order: Vec<u32>,
}

impl PrunableLayer {
    /// Ranks `weights` by `score`; `input_norms` (one per input feature) is needed for Wanda.
    pub fn new(name: &str, layer: &Dense, score: Score, input_norms: Option<&[f32]>) -> Result<Self> {
        let (rows, cols) = (layer.rows, layer.cols);
        let weights: Vec<f32> = layer.weight.to_vec();
        let key: Vec<f32> = match score {
            Score::Magnitude => weights.iter().map(|w| w.abs()).collect(),
            Score::Wanda => {
                let norms = input_norms.ok_or_else(|| {
                    NnError::Input(format!(
                        "layer \"{name}\": Wanda scores need the layer's input norms"
                    ))
                })?;
                if norms.len() != cols {
                    return Err(NnError::Input(format!(
                        "layer \"{name}\": {} input norms for {cols} input features",
                        norms.len()
                    )));
                }
                weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w.abs() * norms[i % cols])
                    .collect()
            }
        };
        let mut order: Vec<u32> = (0..weights.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| key[a as usize].total_cmp(&key[b as usize]).then(a.cmp(&b)));
        Ok(Self {
            name: name.to_string(),
            shape: (rows, cols),
            weights,
            order,
        })
    }

    /// Number of weights.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the layer has no weights.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The weights with the `count` lowest-ranked set to zero, as a tensor.
    pub fn pruned(&self, count: usize) -> Result<Tensor> {
        Ok(Tensor::from_vec(
            self.pruned_weights(count)?,
            self.shape,
            &Device::Cpu,
        )?)
    }

    /// The weights (row-major) with the `count` lowest-ranked set to zero.
    pub fn pruned_weights(&self, count: usize) -> Result<Vec<f32>> {
        if count > self.len() {
            return Err(NnError::Input(format!(
                "layer \"{}\": cannot prune {count} of {} weights",
                self.name,
                self.len()
            )));
        }
        let mut w = self.weights.clone();
        for &i in &self.order[..count] {
            w[i as usize] = 0.0;
        }
        Ok(w)
    }
}
