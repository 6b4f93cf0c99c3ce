//! The dense network on a calibration set, kept so that pruned variants can be measured
//! against it: every block's trace per batch, the pooled embeddings, the input norms of
//! every linear layer (for Wanda and OWL), and the two output distortions.

use crate::dense::Dense;
use crate::encoder::{pool, Batch, ModelDir};
use crate::error::{NnError, Result};
use crate::staged::{Slot, Staged, Trace};
use candle_core::Tensor;

/// How far a pruned network's outputs moved from the dense one's.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Distortion {
    /// Mean over sentences of ‖e − ê‖² (e the normalised pooled embedding).
    pub embedding: f64,
    /// Mean over real tokens of ‖h − ĥ‖² (h the last hidden state).
    pub hidden: f64,
}

/// The dense pass over a calibration set.
pub struct Calibration {
    /// The staged encoder.
    pub staged: Staged,
    /// The batches (length-sorted).
    pub batches: Vec<Batch>,
    traces: Vec<Vec<Trace>>,
    pooled: Vec<Tensor>,
    /// Sentences.
    pub sentences: usize,
    /// Real tokens.
    pub tokens: usize,
}

impl Calibration {
    /// Runs the dense network over `sentences` and keeps its trace.
    pub fn new(model: &ModelDir, sentences: &[String]) -> Result<Self> {
        let staged = Staged::new(model)?;
        let batches = model.batches(sentences)?;
        let mut traces = Vec::with_capacity(batches.len());
        let mut pooled = Vec::with_capacity(batches.len());
        for b in &batches {
            let t = staged.trace(b)?;
            let last = &t
                .last()
                .ok_or_else(|| NnError::Input("the model has no encoder layers".into()))?
                .output;
            pooled.push(pool(last, &b.mask)?);
            traces.push(t);
        }
        Ok(Self {
            staged,
            tokens: batches.iter().map(|b| b.tokens).sum(),
            sentences: sentences.len(),
            batches,
            traces,
            pooled,
        })
    }

    /// ‖X_j‖₂ of every input feature j of layer `slot` in block `block`, over the real tokens.
    pub fn input_norms(&self, block: usize, slot: Slot) -> Result<Vec<f32>> {
        let mut acc: Option<Tensor> = None;
        for (b, t) in self.batches.iter().zip(&self.traces) {
            let tr = &t[block];
            let x = match slot {
                Slot::Query | Slot::Key | Slot::Value => &tr.input,
                Slot::AttnOut => &tr.context,
                Slot::Intermediate => &tr.attended,
                Slot::Output => &tr.inner,
            };
            let s = x.sqr()?.broadcast_mul(&b.mask.unsqueeze(2)?)?.sum((0, 1))?;
            acc = Some(match acc {
                Some(a) => (a + s)?,
                None => s,
            });
        }
        let acc = acc.ok_or_else(|| NnError::Input("empty calibration set".into()))?;
        Ok(acc.sqrt()?.to_vec1()?)
    }

    fn accumulate(&self, i: usize, hidden: &Tensor, d: &mut (f64, f64)) -> Result<()> {
        let b = &self.batches[i];
        let dense = &self.traces[i].last().expect("blocks").output;
        let dh = (hidden - dense)?.sqr()?.sum(2)?;
        d.1 += f64::from(dh.mul(&b.mask)?.sum_all()?.to_scalar::<f32>()?);
        let de = (pool(hidden, &b.mask)? - &self.pooled[i])?.sqr()?.sum_all()?;
        d.0 += f64::from(de.to_scalar::<f32>()?);
        Ok(())
    }

    /// The distortion of replacing one layer (block, slot) by `layer`, recomputed from that
    /// layer onward.
    pub fn one_layer(&self, block: usize, slot: Slot, layer: &Dense) -> Result<Distortion> {
        let mut d = (0.0, 0.0);
        for (i, b) in self.batches.iter().enumerate() {
            let h = self.staged.rerun(&self.traces[i], b, block, (slot, layer))?;
            self.accumulate(i, &h, &mut d)?;
        }
        Ok(Distortion {
            embedding: d.0 / self.sentences.max(1) as f64,
            hidden: d.1 / self.tokens.max(1) as f64,
        })
    }

    /// The joint distortion of replacing any set of layers (`swaps[block][slot]`), on the
    /// batches `subset` (every batch when `None`).
    pub fn joint(&self, swaps: &[[Option<Dense>; 6]], subset: Option<&[usize]>) -> Result<Distortion> {
        crate::staged::check_swaps(swaps, self.staged.blocks.len())?;
        let all: Vec<usize> = (0..self.batches.len()).collect();
        let subset = subset.unwrap_or(&all);
        // Blocks before the first swapped one keep their dense outputs.
        let first = swaps
            .iter()
            .position(|s| s.iter().any(Option::is_some))
            .unwrap_or(swaps.len());
        let mut d = (0.0, 0.0);
        for &i in subset {
            let b = self
                .batches
                .get(i)
                .ok_or_else(|| NnError::Input(format!("no calibration batch {i}")))?;
            if first < swaps.len() {
                let mut x = self.traces[i][first].input.clone();
                for (blk, sw) in self.staged.blocks.iter().zip(swaps).skip(first) {
                    x = blk.forward(&x, &b.extended_mask, sw)?;
                }
                self.accumulate(i, &x, &mut d)?;
            }
        }
        let (n, t) = subset.iter().fold((0, 0), |(n, t), &i| {
            (n + self.batches[i].index.len(), t + self.batches[i].tokens)
        });
        Ok(Distortion {
            embedding: d.0 / n.max(1) as f64,
            hidden: d.1 / t.max(1) as f64,
        })
    }

    /// About `sentences` sentences' worth of batches, spread evenly over the length-sorted
    /// batches (so short and long sentences are both represented).
    pub fn subset(&self, sentences: usize) -> Vec<usize> {
        let nb = self.batches.len();
        let per = (self.sentences as f64 / nb as f64).max(1.0);
        let want = ((sentences as f64 / per).ceil() as usize).clamp(1, nb);
        // The midpoints of `want` equal strides: short and long batches alike.
        (0..want).map(|j| (2 * j + 1) * nb / (2 * want)).collect()
    }
}
