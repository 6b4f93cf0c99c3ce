//! Bilevel problems on binary logistic regression (labels ±1; 0 is read as −1), with minibatch
//! oracles over samples and Hessian-vector products for the implicit-differentiation baseline.
//!
//! - [`HyperParam`]: per-feature L2 hyperparameter selection (the benchopt ijcnn1 setting):
//!   g(x, y) = (1/n) Σ log(1 + e^{−bᵢaᵢᵀy}) + ½ Σⱼ e^{xⱼ} yⱼ² on the training split,
//!   f(x, y) = the same loss on the validation split (no penalty).
//! - [`HyperCleaning`]: one weight wᵢ = sigmoid(xᵢ) per training sample, some labels corrupted:
//!   g(x, y) = (1/n) Σ wᵢ log(1 + e^{−bᵢaᵢᵀy}) + (μ/2)‖y‖², f = validation loss.

// Index loops over several arrays at once read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use super::sets::Set;
use super::{batch_range, Batch, Bilevel};
use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use solvent_linalg::CsrMatrix;
use std::path::Path;

/// Samples (rows of `a`) with labels ±1.
#[derive(Clone, Debug)]
pub struct LogisticData {
    /// Samples × features.
    pub a: CsrMatrix,
    /// Labels, ±1.
    pub b: Vec<f64>,
}

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^{−m}), stable.
fn loss(m: f64) -> f64 {
    if m > 0.0 {
        (-m).exp().ln_1p()
    } else {
        -m + m.exp().ln_1p()
    }
}

impl LogisticData {
    /// Validates sizes and labels (±1, with 0 mapped to −1).
    pub fn new(a: CsrMatrix, mut b: Vec<f64>) -> Result<Self> {
        if b.len() != a.nrows() {
            return Err(ProblemError::Invalid(format!(
                "{} labels for {} samples",
                b.len(),
                a.nrows()
            )));
        }
        for (i, l) in b.iter_mut().enumerate() {
            *l = match *l {
                1.0 => 1.0,
                -1.0 | 0.0 => -1.0,
                v => {
                    return Err(ProblemError::Invalid(format!(
                        "sample {i}: label {v} is not binary (expected ±1 or 0/1)"
                    )))
                }
            };
        }
        if a.nrows() == 0 {
            return Err(ProblemError::Invalid("no samples".into()));
        }
        Ok(Self { a, b })
    }

    /// Reads an svmlight file.
    pub fn read(path: impl AsRef<Path>, n_features: Option<usize>) -> Result<Self> {
        let (a, b) = solvent_linalg::io::svmlight::read(path, n_features)?;
        Self::new(a, b)
    }

    /// An ijcnn1-like set: `n` samples, `p` dense features in [−1, 1], labels from a sparse
    /// linear model with 10% of labels flipped.
    pub fn synthetic(n: usize, p: usize, seed: u64) -> Result<Self> {
        if n == 0 || p == 0 {
            return Err(ProblemError::Invalid(
                "synthetic logistic data needs n, p ≥ 1".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let unif = |rng: &mut ChaCha8Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let w: Vec<f64> = (0..p)
            .map(|j| {
                let z: f64 = StandardNormal.sample(&mut rng);
                if j % 3 == 0 {
                    3.0 * z
                } else {
                    0.3 * z
                }
            })
            .collect();
        let mut triplets = Vec::with_capacity(n * p);
        let mut b = Vec::with_capacity(n);
        for i in 0..n {
            let mut z = 0.0;
            for (j, wj) in w.iter().enumerate() {
                let v = 2.0 * unif(&mut rng) - 1.0;
                z += wj * v;
                triplets.push((i, j, v));
            }
            let label = if z > 0.0 { 1.0 } else { -1.0 };
            b.push(if unif(&mut rng) < 0.1 { -label } else { label });
        }
        Self::new(CsrMatrix::from_triplets(n, p, &triplets)?, b)
    }

    /// Splits off the last `fraction` of a seeded shuffle as a second set.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let n = self.b.len();
        let k = (fraction * n as f64).round() as usize;
        if !(fraction > 0.0 && fraction < 1.0) || k == 0 || k == n {
            return Err(ProblemError::Invalid(format!(
                "cannot split {n} samples with fraction {fraction}"
            )));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..n).rev() {
            idx.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let take = |ids: &[usize]| -> Result<Self> {
            let mut t = Vec::new();
            for (r, &i) in ids.iter().enumerate() {
                let (c, v) = self.a.row(i);
                t.extend(c.iter().zip(v).map(|(&c, &v)| (r, c as usize, v)));
            }
            Self::new(
                CsrMatrix::from_triplets(ids.len(), self.a.ncols(), &t)?,
                ids.iter().map(|&i| self.b[i]).collect(),
            )
        };
        Ok((take(&idx[..n - k])?, take(&idx[n - k..])?))
    }

    /// Flips the labels of a seeded `fraction` of the samples; returns which.
    pub fn corrupt(&mut self, fraction: f64, seed: u64) -> Vec<bool> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut flipped = vec![false; self.b.len()];
        for (i, l) in self.b.iter_mut().enumerate() {
            if ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < fraction {
                *l = -*l;
                flipped[i] = true;
            }
        }
        flipped
    }

    fn margin(&self, i: usize, y: &[f64]) -> f64 {
        let (c, v) = self.a.row(i);
        self.b[i] * c.iter().zip(v).map(|(&c, &v)| v * y[c as usize]).sum::<f64>()
    }

    fn add_row(&self, i: usize, scale: f64, out: &mut [f64]) {
        let (c, v) = self.a.row(i);
        for (&c, &v) in c.iter().zip(v) {
            out[c as usize] += scale * v;
        }
    }

    fn row_dot(&self, i: usize, v: &[f64]) -> f64 {
        let (c, x) = self.a.row(i);
        c.iter().zip(x).map(|(&c, &x)| x * v[c as usize]).sum()
    }

    /// Mean logistic loss of y.
    pub fn mean_loss(&self, y: &[f64]) -> f64 {
        (0..self.b.len()).map(|i| loss(self.margin(i, y))).sum::<f64>() / self.b.len() as f64
    }

    /// Fraction of samples y misclassifies.
    pub fn error_rate(&self, y: &[f64]) -> f64 {
        (0..self.b.len()).filter(|&i| self.margin(i, y) <= 0.0).count() as f64 / self.b.len() as f64
    }

    /// Mean-loss gradient over a batch, added to `out` (scaled by `scale` per sample weight).
    fn loss_grad(
        &self,
        y: &[f64],
        r: std::ops::Range<usize>,
        weight: impl Fn(usize) -> f64,
        out: &mut [f64],
    ) {
        let len = r.len().max(1) as f64;
        for i in r {
            let m = self.margin(i, y);
            self.add_row(i, -weight(i) * self.b[i] * sigmoid(-m) / len, out);
        }
    }
}

impl LogisticData {
    /// Σᵢ wᵢ·loss(marginᵢ)/n over all samples, with its gradient in y added to `out`, in one
    /// pass (the margin serves both).
    fn weighted_loss_and_grad(&self, y: &[f64], weight: impl Fn(usize) -> f64, out: &mut [f64]) -> f64 {
        let n = self.b.len().max(1) as f64;
        let mut total = 0.0;
        for i in 0..self.b.len() {
            let m = self.margin(i, y);
            let w = weight(i);
            total += w * loss(m);
            self.add_row(i, -w * self.b[i] * sigmoid(-m) / n, out);
        }
        total / n
    }
}

fn same_features(train: &LogisticData, val: &LogisticData) -> Result<()> {
    if train.a.ncols() != val.a.ncols() {
        return Err(ProblemError::Invalid(format!(
            "training data has {} features, validation data {}",
            train.a.ncols(),
            val.a.ncols()
        )));
    }
    Ok(())
}

/// Per-feature L2 hyperparameter selection.
#[derive(Clone, Debug)]
pub struct HyperParam {
    /// Training split (lower level).
    pub train: LogisticData,
    /// Validation split (upper level).
    pub val: LogisticData,
    x_set: Set,
    y_set: Set,
}

impl HyperParam {
    /// Builds the problem (x, y ∈ R^features, unconstrained).
    pub fn new(train: LogisticData, val: LogisticData) -> Result<Self> {
        same_features(&train, &val)?;
        let p = train.a.ncols();
        Ok(Self {
            train,
            val,
            x_set: Set::uniform_box(p, -12.0, 12.0),
            y_set: Set::Free,
        })
    }
}

impl Bilevel for HyperParam {
    fn dim_x(&self) -> usize {
        self.train.a.ncols()
    }
    fn dim_y(&self) -> usize {
        self.train.a.ncols()
    }
    fn f(&self, _x: &[f64], y: &[f64]) -> f64 {
        self.val.mean_loss(y)
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        self.train.mean_loss(y) + 0.5 * x.iter().zip(y).map(|(&x, &y)| x.exp() * y * y).sum::<f64>()
    }
    fn grad_f_x(&self, _x: &[f64], _y: &[f64], _b: Batch, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
    }
    fn grad_f_y(&self, _x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        self.val
            .loss_grad(y, batch_range(&batch, self.val.b.len()), |_| 1.0, out);
    }
    fn f_and_grad_y(&self, _x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        out.iter_mut().for_each(|o| *o = 0.0);
        self.val.weighted_loss_and_grad(y, |_| 1.0, out)
    }
    fn g_and_grad_y(&self, x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        let mut ridge = 0.0;
        for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
            *o = x.exp() * y;
            ridge += 0.5 * x.exp() * y * y;
        }
        self.train.weighted_loss_and_grad(y, |_| 1.0, out) + ridge
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], _b: Batch, out: &mut [f64]) {
        for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
            *o = 0.5 * x.exp() * y * y;
        }
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
            *o = x.exp() * y;
        }
        self.train
            .loss_grad(y, batch_range(&batch, self.train.b.len()), |_| 1.0, out);
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
    fn upper_samples(&self) -> usize {
        self.val.b.len()
    }
    fn lower_samples(&self) -> usize {
        self.train.b.len()
    }
    fn hvp_yy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        for ((o, &x), &v) in out.iter_mut().zip(x).zip(v) {
            *o = x.exp() * v;
        }
        let n = self.train.b.len() as f64;
        for i in 0..self.train.b.len() {
            let m = self.train.margin(i, y);
            let s = sigmoid(m) * sigmoid(-m);
            let av = self.train.row_dot(i, v);
            self.train.add_row(i, s * av / n, out);
        }
        Ok(())
    }
    fn hvp_xy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        for (((o, &x), &y), &v) in out.iter_mut().zip(x).zip(y).zip(v) {
            *o = x.exp() * y * v;
        }
        Ok(())
    }
}

/// Data hyper-cleaning.
#[derive(Clone, Debug)]
pub struct HyperCleaning {
    /// Training samples (some labels corrupted).
    pub train: LogisticData,
    /// Clean validation samples.
    pub val: LogisticData,
    /// Ridge μ of the lower level.
    pub mu: f64,
    x_set: Set,
    y_set: Set,
}

impl HyperCleaning {
    /// Builds the problem; x ∈ [−8, 8]^n (weights sigmoid(x)), y ∈ R^features.
    pub fn new(train: LogisticData, val: LogisticData, mu: f64) -> Result<Self> {
        same_features(&train, &val)?;
        if !(mu > 0.0 && mu.is_finite()) {
            return Err(ProblemError::Invalid(format!(
                "hyper-cleaning needs μ > 0, got {mu}"
            )));
        }
        let n = train.b.len();
        Ok(Self {
            train,
            val,
            mu,
            x_set: Set::uniform_box(n, -8.0, 8.0),
            y_set: Set::Free,
        })
    }
}

impl Bilevel for HyperCleaning {
    fn dim_x(&self) -> usize {
        self.train.b.len()
    }
    fn dim_y(&self) -> usize {
        self.train.a.ncols()
    }
    fn f(&self, _x: &[f64], y: &[f64]) -> f64 {
        self.val.mean_loss(y)
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        let n = self.train.b.len() as f64;
        let s: f64 = (0..self.train.b.len())
            .map(|i| sigmoid(x[i]) * loss(self.train.margin(i, y)))
            .sum();
        s / n + 0.5 * self.mu * y.iter().map(|v| v * v).sum::<f64>()
    }
    fn grad_f_x(&self, _x: &[f64], _y: &[f64], _b: Batch, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
    }
    fn grad_f_y(&self, _x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        self.val
            .loss_grad(y, batch_range(&batch, self.val.b.len()), |_| 1.0, out);
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let r = batch_range(&batch, self.train.b.len());
        let len = r.len().max(1) as f64;
        for i in r {
            let w = sigmoid(x[i]);
            out[i] = w * (1.0 - w) * loss(self.train.margin(i, y)) / len;
        }
    }
    fn f_and_grad_y(&self, _x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        out.iter_mut().for_each(|o| *o = 0.0);
        self.val.weighted_loss_and_grad(y, |_| 1.0, out)
    }
    fn g_and_grad_y(&self, x: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
        for (o, &y) in out.iter_mut().zip(y) {
            *o = self.mu * y;
        }
        let ridge = 0.5 * self.mu * y.iter().map(|v| v * v).sum::<f64>();
        self.train.weighted_loss_and_grad(y, |i| sigmoid(x[i]), out) + ridge
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], batch: Batch, out: &mut [f64]) {
        for (o, &y) in out.iter_mut().zip(y) {
            *o = self.mu * y;
        }
        self.train
            .loss_grad(y, batch_range(&batch, self.train.b.len()), |i| sigmoid(x[i]), out);
    }
    fn x_set(&self) -> &Set {
        &self.x_set
    }
    fn y_set(&self) -> &Set {
        &self.y_set
    }
    fn upper_samples(&self) -> usize {
        self.val.b.len()
    }
    fn lower_samples(&self) -> usize {
        self.train.b.len()
    }
    fn hvp_yy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        for (o, &v) in out.iter_mut().zip(v) {
            *o = self.mu * v;
        }
        let n = self.train.b.len() as f64;
        for i in 0..self.train.b.len() {
            let m = self.train.margin(i, y);
            let s = sigmoid(x[i]) * sigmoid(m) * sigmoid(-m);
            let av = self.train.row_dot(i, v);
            self.train.add_row(i, s * av / n, out);
        }
        Ok(())
    }
    fn hvp_xy(&self, x: &[f64], y: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
        let n = self.train.b.len() as f64;
        for i in 0..self.train.b.len() {
            let w = sigmoid(x[i]);
            let m = self.train.margin(i, y);
            out[i] = w * (1.0 - w) * (-sigmoid(-m)) * self.train.b[i] * self.train.row_dot(i, v) / n;
        }
        Ok(())
    }
    fn start(&self) -> (Vec<f64>, Vec<f64>) {
        (vec![2.0; self.dim_x()], vec![0.0; self.dim_y()])
    }
}
