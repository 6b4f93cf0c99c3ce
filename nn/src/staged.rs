//! The encoder's blocks run in stages, so that a change to one linear layer is propagated
//! from that layer onward only: each block's inputs to its six linear layers are kept from
//! the dense pass, and a pruned layer's effect is recomputed from its own input. The
//! arithmetic is candle-transformers' BERT layer (same ops, same order, the linear layers
//! by faer's product: see [`Dense`]); tests hold the two to agreement. The embeddings come from candle-transformers' own `BertModel` (with no
//! encoder layers).

use crate::dense::Dense;
use crate::encoder::{Batch, ModelDir};
use crate::error::{NnError, Result};
use candle_core::{Module, Tensor, D};
use candle_nn::LayerNorm;
use candle_transformers::models::bert::HiddenAct;
use std::collections::HashMap;

/// The six linear layers of a BERT block, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// attention.self.query
    Query,
    /// attention.self.key
    Key,
    /// attention.self.value
    Value,
    /// attention.output.dense
    AttnOut,
    /// intermediate.dense
    Intermediate,
    /// output.dense
    Output,
}

impl Slot {
    /// Every slot, in running order.
    pub const ALL: [Slot; 6] = [
        Slot::Query,
        Slot::Key,
        Slot::Value,
        Slot::AttnOut,
        Slot::Intermediate,
        Slot::Output,
    ];

    /// The tensor name's suffix after `encoder.layer.{i}.`.
    pub fn suffix(self) -> &'static str {
        match self {
            Slot::Query => "attention.self.query",
            Slot::Key => "attention.self.key",
            Slot::Value => "attention.self.value",
            Slot::AttnOut => "attention.output.dense",
            Slot::Intermediate => "intermediate.dense",
            Slot::Output => "output.dense",
        }
    }

    /// The weight tensor's name in block `block`.
    pub fn weight_name(self, block: usize) -> String {
        format!("encoder.layer.{block}.{}.weight", self.suffix())
    }

    /// Which block and slot a weight name is, if it is one of the encoder's linear weights.
    pub fn parse(name: &str) -> Option<(usize, Slot)> {
        let rest = name.strip_prefix("encoder.layer.")?;
        let (block, rest) = rest.split_once('.')?;
        let block = block.parse().ok()?;
        let slot = Slot::ALL
            .into_iter()
            .find(|s| rest == format!("{}.weight", s.suffix()))?;
        Some((block, slot))
    }
}

/// The feed-forward activation, as candle-transformers' BERT applies it.
fn act(x: &Tensor, a: HiddenAct) -> Result<Tensor> {
    Ok(match a {
        HiddenAct::Gelu => x.gelu_erf()?,
        HiddenAct::GeluApproximate => x.gelu()?,
        HiddenAct::Relu => x.relu()?,
    })
}

/// One encoder block with its linear layers exposed.
pub struct Block {
    linears: [Dense; 6],
    ln_attn: LayerNorm,
    ln_out: LayerNorm,
    heads: usize,
    head_dim: usize,
    act: HiddenAct,
}

/// What the dense pass keeps of one block for one batch: the input of each linear layer
/// (the block input for Q/K/V, the attention context, the post-attention state, the
/// activated intermediate state) and the block's output.
pub struct Trace {
    /// Block input (B, S, H): the input of Q, K and V.
    pub input: Tensor,
    /// Attention context (B, S, H): the input of attention.output.dense.
    pub context: Tensor,
    /// After the attention's residual + LayerNorm (B, S, H): the input of intermediate.dense.
    pub attended: Tensor,
    /// Activated intermediate state (B, S, I): the input of output.dense.
    pub inner: Tensor,
    /// Block output (B, S, H).
    pub output: Tensor,
}

impl Block {
    fn load(
        t: &HashMap<String, Tensor>,
        block: usize,
        heads: usize,
        eps: f64,
        act: HiddenAct,
    ) -> Result<Self> {
        let get = |name: String| -> Result<Tensor> {
            t.get(&name)
                .cloned()
                .ok_or_else(|| NnError::Input(format!("the model has no tensor \"{name}\"")))
        };
        let p = format!("encoder.layer.{block}.");
        let lin = |s: Slot| -> Result<Dense> {
            Dense::from_tensors(
                &get(s.weight_name(block))?,
                Some(&get(format!("{p}{}.bias", s.suffix()))?),
            )
        };
        let ln = |s: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(
                get(format!("{p}{s}.LayerNorm.weight"))?,
                get(format!("{p}{s}.LayerNorm.bias"))?,
                eps,
            ))
        };
        let linears = [
            lin(Slot::Query)?,
            lin(Slot::Key)?,
            lin(Slot::Value)?,
            lin(Slot::AttnOut)?,
            lin(Slot::Intermediate)?,
            lin(Slot::Output)?,
        ];
        let hidden = linears[0].rows;
        Ok(Self {
            linears,
            ln_attn: ln("attention.output")?,
            ln_out: ln("output")?,
            heads,
            head_dim: hidden / heads,
            act,
        })
    }

    fn linear<'a>(&'a self, s: Slot, swap: Option<(Slot, &'a Dense)>) -> &'a Dense {
        match swap {
            Some((slot, l)) if slot == s => l,
            _ => &self.linears[s as usize],
        }
    }

    fn heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, s, _) = x.dims3()?;
        Ok(x.reshape((b, s, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?)
    }

    fn attention_context(&self, x: &Tensor, mask: &Tensor, swap: Option<(Slot, &Dense)>) -> Result<Tensor> {
        let q = self.heads(&self.linear(Slot::Query, swap).forward(x)?)?;
        let k = self.heads(&self.linear(Slot::Key, swap).forward(x)?)?;
        let v = self.heads(&self.linear(Slot::Value, swap).forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let probs = candle_nn::ops::softmax(&scores.broadcast_add(mask)?, D::Minus1)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?;
        Ok(ctx.flatten_from(D::Minus2)?)
    }

    /// The block's output with `swap` (a slot and its replacement) in place, recomputed from
    /// the replaced layer's input as `trace` holds it (the dense pass's values before it).
    pub fn rerun(&self, trace: &Trace, mask: &Tensor, swap: (Slot, &Dense)) -> Result<Tensor> {
        let sw = Some(swap);
        let (context, input) = match swap.0 {
            Slot::Query | Slot::Key | Slot::Value => {
                (self.attention_context(&trace.input, mask, sw)?, &trace.input)
            }
            _ => (trace.context.clone(), &trace.input),
        };
        let attended = match swap.0 {
            Slot::Intermediate | Slot::Output => trace.attended.clone(),
            _ => self
                .ln_attn
                .forward(&(self.linear(Slot::AttnOut, sw).forward(&context)? + input)?)?,
        };
        let inner = match swap.0 {
            Slot::Output => trace.inner.clone(),
            _ => act(&self.linear(Slot::Intermediate, sw).forward(&attended)?, self.act)?,
        };
        Ok(self
            .ln_out
            .forward(&(self.linear(Slot::Output, sw).forward(&inner)? + &attended)?)?)
    }

    /// The dense pass through the block, keeping what [`Block::rerun`] needs.
    pub fn trace(&self, input: &Tensor, mask: &Tensor) -> Result<Trace> {
        let context = self.attention_context(input, mask, None)?;
        let attended = self
            .ln_attn
            .forward(&(self.linears[Slot::AttnOut as usize].forward(&context)? + input)?)?;
        let inner = act(
            &self.linears[Slot::Intermediate as usize].forward(&attended)?,
            self.act,
        )?;
        let output = self
            .ln_out
            .forward(&(self.linears[Slot::Output as usize].forward(&inner)? + &attended)?)?;
        Ok(Trace {
            input: input.clone(),
            context,
            attended,
            inner,
            output,
        })
    }

    /// The block's output with several layers replaced (`swaps[slot]`), no trace kept.
    pub fn forward(&self, input: &Tensor, mask: &Tensor, swaps: &[Option<Dense>; 6]) -> Result<Tensor> {
        let l = |s: Slot| swaps[s as usize].as_ref().unwrap_or(&self.linears[s as usize]);
        let q = self.heads(&l(Slot::Query).forward(input)?)?;
        let k = self.heads(&l(Slot::Key).forward(input)?)?;
        let v = self.heads(&l(Slot::Value).forward(input)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let probs = candle_nn::ops::softmax(&scores.broadcast_add(mask)?, D::Minus1)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .flatten_from(D::Minus2)?;
        let attended = self
            .ln_attn
            .forward(&(l(Slot::AttnOut).forward(&ctx)? + input)?)?;
        let inner = act(&l(Slot::Intermediate).forward(&attended)?, self.act)?;
        Ok(self
            .ln_out
            .forward(&(l(Slot::Output).forward(&inner)? + &attended)?)?)
    }

    /// The layer in `slot` (weight and bias).
    pub fn layer(&self, slot: Slot) -> &Dense {
        &self.linears[slot as usize]
    }
}

/// The encoder as a list of blocks plus candle-transformers' embedding layer.
pub struct Staged {
    /// The blocks, in order.
    pub blocks: Vec<Block>,
    embeddings: candle_transformers::models::bert::BertModel,
}

impl Staged {
    /// Builds the staged encoder over the model's tensors.
    pub fn new(model: &ModelDir) -> Result<Self> {
        let mut c0 = model.config.clone();
        c0.num_hidden_layers = 0;
        let vb = candle_nn::VarBuilder::from_tensors(
            model.tensors.clone(),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        );
        let embeddings = candle_transformers::models::bert::BertModel::load(vb, &c0)?;
        let blocks = (0..model.config.num_hidden_layers)
            .map(|b| {
                Block::load(
                    &model.tensors,
                    b,
                    model.config.num_attention_heads,
                    model.config.layer_norm_eps,
                    model.config.hidden_act,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { blocks, embeddings })
    }

    /// The embedding layer's output (the first block's input) for a batch.
    pub fn embed_tokens(&self, b: &Batch) -> Result<Tensor> {
        Ok(self.embeddings.forward(&b.ids, &b.type_ids, Some(&b.mask))?)
    }

    /// The dense pass over a batch: every block's trace.
    pub fn trace(&self, b: &Batch) -> Result<Vec<Trace>> {
        let mut x = self.embed_tokens(b)?;
        let mut out = Vec::with_capacity(self.blocks.len());
        for blk in &self.blocks {
            let t = blk.trace(&x, &b.extended_mask)?;
            x = t.output.clone();
            out.push(t);
        }
        Ok(out)
    }

    /// The last hidden state with one layer replaced: the replaced block is rerun from the
    /// layer's own input, the blocks after it from the new output.
    pub fn rerun(&self, traces: &[Trace], b: &Batch, block: usize, swap: (Slot, &Dense)) -> Result<Tensor> {
        let mut x = self.blocks[block].rerun(&traces[block], &b.extended_mask, swap)?;
        for blk in &self.blocks[block + 1..] {
            x = blk.forward(&x, &b.extended_mask, &Default::default())?;
        }
        Ok(x)
    }

    /// The last hidden state with any set of layers replaced (`swaps[block][slot]`), from
    /// the embeddings `first` (the first block's input).
    pub fn forward(&self, first: &Tensor, b: &Batch, swaps: &[[Option<Dense>; 6]]) -> Result<Tensor> {
        check_swaps(swaps, self.blocks.len())?;
        let mut x = first.clone();
        for (blk, sw) in self.blocks.iter().zip(swaps) {
            x = blk.forward(&x, &b.extended_mask, sw)?;
        }
        Ok(x)
    }
}

/// Refuses a swap list that does not cover every block (the output compared would be an
/// intermediate block's).
pub(crate) fn check_swaps(swaps: &[[Option<Dense>; 6]], blocks: usize) -> Result<()> {
    if swaps.len() != blocks {
        return Err(NnError::Input(format!(
            "{} blocks of layer replacements for a network of {blocks} blocks",
            swaps.len()
        )));
    }
    Ok(())
}
