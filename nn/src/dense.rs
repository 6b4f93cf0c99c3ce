//! A linear layer y = x Wᵀ + b computed by faer's matrix product (which uses AVX-512 where
//! the CPU has it; candle's CPU matmul does not): about 1.5x candle's speed on the encoder's
//! shapes, and the linear layers are most of the work of measuring curves.

use crate::error::{NnError, Result};
use candle_core::{Device, Storage, Tensor};
use faer::{Accum, MatMut, MatRef, Par};
use std::sync::Arc;

/// Weights (out × in, row-major) and bias of one linear layer.
#[derive(Clone)]
pub struct Dense {
    /// Row-major out × in weights.
    pub weight: Arc<Vec<f32>>,
    /// Bias (out), if any.
    pub bias: Option<Arc<Vec<f32>>>,
    /// Output features.
    pub rows: usize,
    /// Input features.
    pub cols: usize,
}

impl Dense {
    /// From candle tensors (weight (out, in), bias (out)).
    pub fn from_tensors(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (rows, cols) = weight.dims2()?;
        let bias = match bias {
            Some(b) => {
                let v: Vec<f32> = b.flatten_all()?.to_vec1()?;
                if v.len() != rows {
                    return Err(NnError::Input(format!(
                        "a bias of {} entries for {rows} outputs",
                        v.len()
                    )));
                }
                Some(Arc::new(v))
            }
            None => None,
        };
        Ok(Self {
            weight: Arc::new(weight.flatten_all()?.to_vec1()?),
            bias,
            rows,
            cols,
        })
    }

    /// The same bias with other weights (row-major, same shape).
    pub fn with_weights(&self, weight: Vec<f32>) -> Self {
        assert_eq!(
            weight.len(),
            self.rows * self.cols,
            "weights of the layer's shape"
        );
        Self {
            weight: Arc::new(weight),
            bias: self.bias.clone(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// y = x Wᵀ + b over the last dimension of `x` (any leading shape).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        let dims = x.dims().to_vec();
        let k = *dims
            .last()
            .ok_or_else(|| NnError::Input("a linear layer's input has no dimensions".into()))?;
        if k != self.cols {
            return Err(NnError::Input(format!(
                "a linear layer of {} inputs given {k}",
                self.cols
            )));
        }
        let m = x.elem_count() / k.max(1);
        let mut y = vec![0f32; m * self.rows];
        {
            let (storage, layout) = x.storage_and_layout();
            let Storage::Cpu(cpu) = &*storage else {
                return Err(NnError::Input("the staged encoder runs on the CPU".into()));
            };
            let xs = &cpu.as_slice::<f32>()?[layout.start_offset()..layout.start_offset() + m * k];
            let xm = MatRef::from_row_major_slice(xs, m, k);
            let wm = MatRef::from_row_major_slice(&self.weight, self.rows, self.cols);
            let ym = MatMut::from_row_major_slice_mut(&mut y, m, self.rows);
            let par = if m * k * self.rows > 1 << 20 {
                Par::rayon(0)
            } else {
                Par::Seq
            };
            faer::linalg::matmul::matmul(ym, Accum::Replace, xm, wm.transpose(), 1.0f32, par);
        }
        if let Some(b) = &self.bias {
            for row in y.chunks_exact_mut(self.rows) {
                for (v, &bb) in row.iter_mut().zip(b.iter()) {
                    *v += bb;
                }
            }
        }
        let mut shape = dims;
        *shape.last_mut().expect("checked above") = self.rows;
        Ok(Tensor::from_vec(y, shape, &Device::Cpu)?)
    }
}
