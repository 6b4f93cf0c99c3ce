//! Generalised linear models for coordinate descent: least squares, logistic and multinomial
//! (softmax) regression with scikit-learn's scaling,
//! `F(w) = (1/n) Σ_i ℓ(y_i, x_iᵀw) + (λ₂/2)‖w‖² + g(w)`, no intercept.
//!
//! Margins `z = Xw` and loss derivatives `r = ∂ℓ/∂z` live in the [`Cache`]; an update of
//! coordinate `j` touches the samples of column `j`, and a maintained gradient follows those
//! samples' rows.
#![allow(clippy::needless_range_loop)]

use super::{Cache, CoordinateProblem, Design, Penalty};
use crate::error::{ProblemError, Result};
use faer::Mat;
use rayon::prelude::*;
use solvent_linalg::CsrMatrix;

/// The loss `ℓ(y, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `½(y − z)²`.
    Squared,
    /// `log(1 + exp(−y z))`, labels ±1.
    Logistic,
    /// `log Σ_c exp(z_c) − z_y`, labels `0..C`.
    Softmax,
}

/// A generalised linear model with a separable penalty.
#[derive(Clone, Debug)]
pub struct Glm {
    x: Design,
    y: Vec<f64>,
    loss: Loss,
    classes: usize,
    class_labels: Vec<f64>,
    l2: f64,
    penalty: Penalty,
    lip: Vec<f64>,
    /// First coordinate of the unpenalised intercept (one per class), `dim` without one.
    intercept_from: usize,
}

fn check_lambda(what: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(ProblemError::Invalid(format!(
            "{what} = {v}: the regularisation weight must be a finite number ≥ 0"
        )));
    }
    Ok(())
}

fn distinct(labels: &[f64]) -> Vec<f64> {
    let mut v = labels.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn list(v: &[f64]) -> String {
    let s: Vec<String> = v.iter().take(5).map(|x| x.to_string()).collect();
    format!("{}{}", s.join(", "), if v.len() > 5 { ", …" } else { "" })
}

#[inline]
fn log1pexp(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

impl Glm {
    /// Builds a model from a samples × features matrix and labels.
    ///
    /// Labels must fit the loss: any finite targets for least squares; exactly two distinct
    /// values for logistic regression (the smaller becomes −1, the larger +1, so ±1, 0/1 and
    /// 1/2 files all work); integer class labels for softmax (at least two classes; the sorted
    /// distinct values become classes `0..C`).
    pub fn new(x: CsrMatrix, labels: Vec<f64>, loss: Loss, l2: f64, penalty: Penalty) -> Result<Self> {
        Self::build(x, labels, loss, l2, penalty, false)
    }

    /// [`Glm::new`] with an unpenalised intercept (one per class for softmax): a column of ones
    /// appended to the design, its coordinates exempt from the L1/L2 penalties (as in
    /// scikit-learn). The intercepts are the last coordinates of the iterate.
    pub fn with_intercept(
        x: CsrMatrix,
        labels: Vec<f64>,
        loss: Loss,
        l2: f64,
        penalty: Penalty,
    ) -> Result<Self> {
        Self::build(x, labels, loss, l2, penalty, true)
    }

    fn build(
        x: CsrMatrix,
        labels: Vec<f64>,
        loss: Loss,
        l2: f64,
        penalty: Penalty,
        intercept: bool,
    ) -> Result<Self> {
        let p0 = x.ncols();
        let x = if intercept {
            let mut trip = Vec::with_capacity(x.nnz() + x.nrows());
            for i in 0..x.nrows() {
                let (cols, vals) = x.row(i);
                trip.extend(cols.iter().zip(vals).map(|(&j, &v)| (i, j as usize, v)));
                trip.push((i, p0, 1.0));
            }
            CsrMatrix::from_triplets(x.nrows(), p0 + 1, &trip)?
        } else {
            x
        };
        let x = Design::new(x)?;
        let n = x.nrows();
        if labels.len() != n {
            return Err(ProblemError::Invalid(format!(
                "{} labels for {n} samples",
                labels.len()
            )));
        }
        if let Some(i) = labels.iter().position(|v| !v.is_finite()) {
            return Err(ProblemError::Invalid(format!(
                "label of sample {i} is {}",
                labels[i]
            )));
        }
        check_lambda("λ₂", l2)?;
        if let Penalty::L1(l) | Penalty::NonNegativeL1(l) = penalty {
            check_lambda("λ", l)?;
        }
        let values = distinct(&labels);
        let (y, classes, class_labels) = match loss {
            Loss::Squared => (labels, 1, Vec::new()),
            Loss::Logistic => {
                if values.len() != 2 {
                    return Err(ProblemError::Invalid(format!(
                        "logistic regression needs labels with exactly two values; these take {} ({}){}",
                        values.len(),
                        list(&values),
                        if values.len() > 2 {
                            ": use the softmax problem for more classes"
                        } else {
                            ""
                        }
                    )));
                }
                let y = labels
                    .iter()
                    .map(|&v| if v == values[0] { -1.0 } else { 1.0 })
                    .collect();
                (y, 1, values)
            }
            Loss::Softmax => {
                if let Some(i) = labels.iter().position(|v| v.fract() != 0.0) {
                    return Err(ProblemError::Invalid(format!(
                        "label {} of sample {i} is not a class: multinomial labels are integers",
                        labels[i]
                    )));
                }
                if values.len() < 2 {
                    return Err(ProblemError::Invalid(format!(
                        "every label is {}: multinomial regression needs at least two classes",
                        values[0]
                    )));
                }
                let y = labels
                    .iter()
                    .map(|v| values.binary_search_by(|c| c.total_cmp(v)).unwrap_or(0) as f64)
                    .collect();
                (y, values.len(), values)
            }
        };
        let kappa = match loss {
            Loss::Squared => 1.0,
            Loss::Logistic | Loss::Softmax => 0.25,
        };
        let intercept_from = if intercept {
            p0 * classes
        } else {
            x.ncols() * classes
        };
        let lip = x
            .col_sq_norms()
            .iter()
            .flat_map(|&s| std::iter::repeat_n(kappa * s / n as f64, classes))
            .enumerate()
            .map(|(k, l)| l + if k < intercept_from { l2 } else { 0.0 })
            .map(|l| if l > 0.0 { l } else { 1.0 })
            .collect();
        Ok(Self {
            x,
            y,
            loss,
            classes,
            class_labels,
            l2,
            penalty,
            lip,
            intercept_from,
        })
    }

    /// The design matrix.
    pub fn design(&self) -> &Design {
        &self.x
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// Classes per sample (1 unless softmax).
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// The original label of each class (logistic: [−1 label, +1 label]; softmax: class order).
    pub fn class_labels(&self) -> &[f64] {
        &self.class_labels
    }
    /// Labels as the loss uses them (±1 for logistic, class index for softmax).
    pub fn labels(&self) -> &[f64] {
        &self.y
    }
    /// `λ₂`.
    pub fn l2(&self) -> f64 {
        self.l2
    }
    /// Whether the model has an intercept (the last `classes()` coordinates).
    pub fn has_intercept(&self) -> bool {
        self.intercept_from < self.dim()
    }
    /// `λ₂` of coordinate `k` (zero for intercepts).
    #[inline]
    fn l2_at(&self, k: usize) -> f64 {
        if k < self.intercept_from {
            self.l2
        } else {
            0.0
        }
    }
    /// The same model with another penalty (regularisation paths).
    pub fn with_penalty(mut self, penalty: Penalty) -> Result<Self> {
        if let Penalty::L1(l) | Penalty::NonNegativeL1(l) = penalty {
            check_lambda("λ", l)?;
        }
        self.penalty = penalty;
        Ok(self)
    }

    /// `λ_max = ‖∇f(0)‖∞`: the smallest L1 weight whose solution is `w = 0` (for least squares
    /// `‖Xᵀy‖∞ / n`).
    pub fn lambda_max(&self) -> f64 {
        // at w = 0 with the intercepts (if any) at their optimum: ȳ, the log-odds, the log class
        // frequencies
        let mut w = vec![0.0; self.dim()];
        if self.has_intercept() {
            let n = self.y.len() as f64;
            match self.loss {
                Loss::Squared => w[self.intercept_from] = self.y.iter().sum::<f64>() / n,
                Loss::Logistic => {
                    let pos = self.y.iter().filter(|v| **v > 0.0).count() as f64 / n;
                    w[self.intercept_from] = (pos / (1.0 - pos)).ln();
                }
                Loss::Softmax => {
                    for c in 0..self.classes {
                        let f = self.y.iter().filter(|v| **v as usize == c).count() as f64 / n;
                        w[self.intercept_from + c] = f.ln();
                    }
                }
            }
        }
        let cache = self.new_cache(&w);
        let mut g = vec![0.0; self.dim()];
        self.full_gradient(&w, &cache, &mut g);
        g[..self.intercept_from].iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    #[inline]
    fn row_loss(&self, i: usize, z: &[f64]) -> f64 {
        let y = self.y[i];
        match self.loss {
            Loss::Squared => 0.5 * (z[0] - y) * (z[0] - y),
            Loss::Logistic => log1pexp(-y * z[0]),
            Loss::Softmax => {
                let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - z[y as usize]
            }
        }
    }

    #[inline]
    fn row_derivative(&self, i: usize, z: &[f64], r: &mut [f64]) {
        let y = self.y[i];
        match self.loss {
            Loss::Squared => r[0] = z[0] - y,
            Loss::Logistic => r[0] = -y / (1.0 + (y * z[0]).exp()),
            Loss::Softmax => {
                let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let mut s = 0.0;
                for (rc, &zc) in r.iter_mut().zip(z) {
                    *rc = (zc - m).exp();
                    s += *rc;
                }
                for rc in r.iter_mut() {
                    *rc /= s;
                }
                r[y as usize] -= 1.0;
            }
        }
    }

    /// Second derivative of row `i`'s loss between classes `c` and `d`, from its derivative.
    #[inline]
    fn row_curvature(&self, i: usize, r: &[f64], c: usize, d: usize) -> f64 {
        match self.loss {
            Loss::Squared => 1.0,
            Loss::Logistic => {
                let a = r[0].abs();
                a * (1.0 - a)
            }
            Loss::Softmax => {
                let y = self.y[i] as usize;
                let p = |k: usize| r[k] + if k == y { 1.0 } else { 0.0 };
                p(c) * (if c == d { 1.0 } else { 0.0 }) - p(c) * p(d)
            }
        }
    }

    /// `(1/n) Σ_i x_i,a x_i,b · weight(i, class a, class b) + λ₂ I` over a block's coordinates,
    /// accumulated row by row: the block's entries sorted by sample, then the products within
    /// each sample — costing the pairs of block entries that share a sample, not `|b|²` column
    /// merges.
    fn block_gram(&self, block: &[usize], weight: impl Fn(usize, usize, usize) -> f64) -> Mat<f64> {
        let c = self.classes;
        let m = block.len();
        let mut e: Vec<(u32, u32, f64)> = Vec::new();
        for (a, &k) in block.iter().enumerate() {
            let (rows, vals) = self.x.col(k / c);
            e.extend(rows.iter().zip(vals).map(|(&i, &v)| (i, a as u32, v)));
        }
        e.sort_unstable_by_key(|t| (t.0, t.1));
        let mut h = Mat::zeros(m, m);
        let mut start = 0;
        while start < e.len() {
            let i = e[start].0;
            let mut end = start + 1;
            while end < e.len() && e[end].0 == i {
                end += 1;
            }
            for p in start..end {
                let (a, va) = (e[p].1 as usize, e[p].2);
                let ca = block[a] % c;
                for q in p..end {
                    let (b, vb) = (e[q].1 as usize, e[q].2);
                    let v = va * vb * weight(i as usize, ca, block[b] % c);
                    h[(a, b)] += v;
                    if a != b {
                        h[(b, a)] += v;
                    }
                }
            }
            start = end;
        }
        let inv_n = 1.0 / self.x.nrows() as f64;
        for a in 0..m {
            for b in 0..m {
                h[(a, b)] *= inv_n;
            }
            h[(a, a)] += self.l2_at(block[a]);
        }
        h
    }
}

impl CoordinateProblem for Glm {
    fn dim(&self) -> usize {
        self.x.ncols() * self.classes
    }
    fn penalty(&self) -> Penalty {
        self.penalty
    }
    fn lipschitz(&self) -> &[f64] {
        &self.lip
    }
    fn is_quadratic(&self) -> bool {
        self.loss == Loss::Squared
    }
    fn unpenalized_from(&self) -> usize {
        self.intercept_from
    }

    fn new_cache(&self, w: &[f64]) -> Cache {
        let (n, c) = (self.x.nrows(), self.classes);
        let mut z = vec![0.0; n * c];
        for j in 0..self.x.ncols() {
            let (rows, vals) = self.x.col(j);
            for k in 0..c {
                let wk = w[j * c + k];
                if wk != 0.0 {
                    for (&i, &a) in rows.iter().zip(vals) {
                        z[i as usize * c + k] += a * wk;
                    }
                }
            }
        }
        let mut r = vec![0.0; n * c];
        for i in 0..n {
            self.row_derivative(i, &z[i * c..(i + 1) * c], &mut r[i * c..(i + 1) * c]);
        }
        Cache {
            z,
            r,
            touched: Vec::new(),
            mark: vec![false; n],
            old: vec![0.0; c],
        }
    }

    fn smooth_value(&self, w: &[f64], cache: &Cache) -> f64 {
        let (n, c) = (self.x.nrows(), self.classes);
        let loss: f64 = (0..n)
            .map(|i| self.row_loss(i, &cache.z[i * c..(i + 1) * c]))
            .sum();
        loss / n as f64 + 0.5 * self.l2 * w[..self.intercept_from].iter().map(|v| v * v).sum::<f64>()
    }

    #[inline]
    fn coord_gradient(&self, w: &[f64], cache: &Cache, k: usize) -> f64 {
        let c = self.classes;
        let (j, cl) = (k / c, k % c);
        let (rows, vals) = self.x.col(j);
        let s = if c == 1 {
            // four partial sums: the gathers overlap instead of waiting on one add chain
            let r = &cache.r;
            let mut acc = [0.0; 4];
            let (rc, vc) = (rows.chunks_exact(4), vals.chunks_exact(4));
            let (rr, vr) = (rc.remainder(), vc.remainder());
            for (ri, vi) in rc.zip(vc) {
                for t in 0..4 {
                    acc[t] += vi[t] * r[ri[t] as usize];
                }
            }
            let tail: f64 = rr.iter().zip(vr).map(|(&i, &a)| a * r[i as usize]).sum();
            (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
        } else {
            rows.iter()
                .zip(vals)
                .map(|(&i, &a)| a * cache.r[i as usize * c + cl])
                .sum()
        };
        s / self.x.nrows() as f64 + self.l2_at(k) * w[k]
    }

    fn full_gradient(&self, w: &[f64], cache: &Cache, g: &mut [f64]) {
        // columns are independent: rayon above the size where fork/join pays (deterministic)
        if self.x.nnz() * self.classes >= solvent_linalg::csr::PAR_MIN_NNZ {
            g.par_iter_mut()
                .enumerate()
                .with_min_len(1024)
                .for_each(|(k, gk)| *gk = self.coord_gradient(w, cache, k));
        } else {
            for (k, gk) in g.iter_mut().enumerate() {
                *gk = self.coord_gradient(w, cache, k);
            }
        }
    }

    fn apply(
        &self,
        w: &mut [f64],
        cache: &mut Cache,
        changes: &[(usize, f64)],
        mut grad: Option<&mut [f64]>,
    ) {
        let c = self.classes;
        let inv_n = 1.0 / self.x.nrows() as f64;
        for &(k, d) in changes {
            if d == 0.0 {
                continue;
            }
            w[k] += d;
            let (j, cl) = (k / c, k % c);
            let (rows, vals) = self.x.col(j);
            for (&i, &a) in rows.iter().zip(vals) {
                cache.z[i as usize * c + cl] += a * d;
                if !cache.mark[i as usize] {
                    cache.mark[i as usize] = true;
                    cache.touched.push(i);
                }
            }
            if let Some(g) = grad.as_deref_mut() {
                g[k] += self.l2_at(k) * d;
            }
        }
        let touched = std::mem::take(&mut cache.touched);
        let mut old = std::mem::take(&mut cache.old);
        old.resize(c, 0.0);
        for &i in &touched {
            let i = i as usize;
            cache.mark[i] = false;
            let rr = i * c..(i + 1) * c;
            old.copy_from_slice(&cache.r[rr.clone()]);
            self.row_derivative(i, &cache.z[rr.clone()], &mut cache.r[rr.clone()]);
            if let Some(g) = grad.as_deref_mut() {
                for cl in 0..c {
                    old[cl] = (cache.r[i * c + cl] - old[cl]) * inv_n;
                }
                let (cols, vals) = self.x.row(i);
                for (&j, &a) in cols.iter().zip(vals) {
                    let j = j as usize;
                    for cl in 0..c {
                        g[j * c + cl] += a * old[cl];
                    }
                }
            }
        }
        cache.old = old;
        cache.touched = touched;
        cache.touched.clear();
    }

    fn block_delta(&self, w: &[f64], cache: &Cache, block: &[usize], d: &[f64]) -> f64 {
        let c = self.classes;
        let mut dz: Vec<(u32, u32, f64)> = Vec::new();
        for (&k, &dk) in block.iter().zip(d) {
            if dk == 0.0 {
                continue;
            }
            let (rows, vals) = self.x.col(k / c);
            dz.extend(rows.iter().zip(vals).map(|(&i, &a)| (i, (k % c) as u32, a * dk)));
        }
        dz.sort_unstable_by_key(|e| e.0);
        let mut zi = vec![0.0; c];
        let mut s = 0.0;
        let mut a = 0;
        while a < dz.len() {
            let i = dz[a].0 as usize;
            let z = &cache.z[i * c..(i + 1) * c];
            zi.copy_from_slice(z);
            while a < dz.len() && dz[a].0 as usize == i {
                zi[dz[a].1 as usize] += dz[a].2;
                a += 1;
            }
            s += self.row_loss(i, &zi) - self.row_loss(i, z);
        }
        // the ridge of the objective, which leaves the intercept unpenalised (l2_at)
        let reg: f64 = block
            .iter()
            .zip(d)
            .map(|(&k, &dk)| self.l2_at(k) * dk * (w[k] + 0.5 * dk))
            .sum();
        s / self.x.nrows() as f64 + reg
    }

    fn block_hessian_bound(&self, block: &[usize]) -> Mat<f64> {
        let kappa = match self.loss {
            Loss::Squared => 1.0,
            Loss::Logistic => 0.25,
            Loss::Softmax => 0.5,
        };
        self.block_gram(block, |_, ca, cb| if ca == cb { kappa } else { 0.0 })
    }

    fn block_hessian(&self, _w: &[f64], cache: &Cache, block: &[usize]) -> Mat<f64> {
        let c = self.classes;
        self.block_gram(block, |i, ca, cb| {
            self.row_curvature(i, &cache.r[i * c..(i + 1) * c], ca, cb)
        })
    }

    fn block_hessian_vec(&self, _w: &[f64], cache: &Cache, block: &[usize], v: &[f64], out: &mut [f64]) {
        let c = self.classes;
        let n = self.x.nrows();
        let mut u = vec![0.0; n * c];
        for (&k, &vk) in block.iter().zip(v) {
            let (rows, vals) = self.x.col(k / c);
            for (&i, &a) in rows.iter().zip(vals) {
                u[i as usize * c + k % c] += a * vk;
            }
        }
        // u_i ← H_i u_i per sample (H_i the loss curvature between classes).
        let mut hu = vec![0.0; c];
        for i in 0..n {
            let ui = &mut u[i * c..(i + 1) * c];
            if ui.iter().all(|&t| t == 0.0) {
                continue;
            }
            let r = &cache.r[i * c..(i + 1) * c];
            for a in 0..c {
                hu[a] = (0..c).map(|b| self.row_curvature(i, r, a, b) * ui[b]).sum();
            }
            ui.copy_from_slice(&hu);
        }
        let inv_n = 1.0 / n as f64;
        for ((&k, o), &vk) in block.iter().zip(out.iter_mut()).zip(v) {
            let (rows, vals) = self.x.col(k / c);
            let s: f64 = rows
                .iter()
                .zip(vals)
                .map(|(&i, &a)| a * u[i as usize * c + k % c])
                .sum();
            *o = s * inv_n + self.l2_at(k) * vk;
        }
    }

    fn duality_gap(&self, w: &[f64], cache: &Cache, grad: &[f64]) -> Option<f64> {
        if self.loss == Loss::Softmax {
            return None;
        }
        let nf = self.x.nrows() as f64;
        // θ = −ℓ'(z): the residual y − z for least squares, y·σ(−yz) for logistic; and
        // Xᵀθ/n = −(∇f − λ₂w), read off the gradient
        let mut theta: Vec<f64> = cache.r.iter().map(|r| -r).collect();
        let centred: Vec<f64>;
        let grad = if self.has_intercept() {
            // the intercept makes 1ᵀθ = 0 a dual constraint: centre θ (least squares only, where
            // the conjugate accepts any θ) and recompute Xᵀθ over the features
            if self.loss != Loss::Squared {
                return None;
            }
            let mean = theta.iter().sum::<f64>() / nf;
            theta.iter_mut().for_each(|t| *t -= mean);
            let mut xt = vec![0.0; self.x.ncols()];
            self.x.mul_transpose(&theta, &mut xt);
            centred = xt
                .iter()
                .enumerate()
                .map(|(k, v)| -v / nf + self.l2_at(k) * w[k])
                .take(self.intercept_from)
                .collect();
            &centred[..]
        } else {
            grad
        };
        let xt = |k: usize| -(grad[k] - self.l2 * w[k]);
        let (scale, quad) = match self.penalty {
            Penalty::L1(l) if l > 0.0 && self.l2 == 0.0 => {
                let m = (0..self.intercept_from).fold(0.0, |a: f64, k| a.max(xt(k).abs()));
                ((l / m.max(1e-300)).min(1.0), 0.0)
            }
            Penalty::None if self.l2 > 0.0 => {
                let q = (0..self.intercept_from).map(|k| xt(k) * xt(k)).sum::<f64>() / (2.0 * self.l2);
                (1.0, q)
            }
            _ => return None,
        };
        for t in theta.iter_mut() {
            *t *= scale;
        }
        let conj: f64 = theta
            .iter()
            .zip(&self.y)
            .map(|(&t, &y)| match self.loss {
                Loss::Squared => t * y - 0.5 * t * t,
                _ => {
                    let a = (y * t).clamp(0.0, 1.0);
                    let ent = |p: f64| if p > 0.0 { -p * p.ln() } else { 0.0 };
                    ent(a) + ent(1.0 - a)
                }
            })
            .sum();
        let dual = conj / nf - quad;
        Some((self.objective(w, cache) - dual).max(0.0))
    }
}
