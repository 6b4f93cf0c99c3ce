//! Generalised linear models for coordinate descent: least squares, logistic and multinomial
//! (softmax) regression with scikit-learn's scaling,
//! `F(w) = (1/n) Σ_i ℓ(y_i, x_iᵀw) + (λ₂/2)‖w‖² + g(w)`, no intercept.
//!
//! Margins `z = Xw` and loss derivatives `r = ∂ℓ/∂z` live in the [`Cache`]; an update of
//! coordinate `j` touches the samples of column `j`, and a maintained gradient follows those
//! samples' rows.
#![allow(clippy::needless_range_loop)]

use super::{generic_coordinate_step, Cache, CoordinateProblem, Design, Penalty};
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
    /// Sample weights `s_i` (rescaled to sum to n), `None` for uniform weights.
    weights: Option<Vec<f64>>,
    /// `‖X_j‖` of every column (screening).
    col_norms: Vec<f64>,
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

/// `Σ a_i b_i` in eight independent partial sums, so the loop vectorises.
#[inline]
fn dense_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for t in 0..8 {
            acc[t] += x[t] * y[t];
        }
    }
    acc.iter().sum::<f64>() + tail
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
        let intercept_from = if intercept {
            p0 * classes
        } else {
            x.ncols() * classes
        };
        let mut glm = Self {
            x,
            y,
            loss,
            classes,
            class_labels,
            l2,
            penalty,
            lip: Vec::new(),
            intercept_from,
            weights: None,
            col_norms: Vec::new(),
        };
        glm.col_norms = glm.x.col_sq_norms().iter().map(|v| v.sqrt()).collect();
        glm.lip = glm.coordinate_lipschitz();
        Ok(glm)
    }

    /// `L_k = κ Σ_i s_i x_ij² / n + λ₂` (κ the loss's curvature bound; 1 for an empty column).
    fn coordinate_lipschitz(&self) -> Vec<f64> {
        let kappa = match self.loss {
            Loss::Squared => 1.0,
            Loss::Logistic | Loss::Softmax => 0.25,
        };
        let n = self.x.nrows() as f64;
        (0..self.x.ncols())
            .map(|j| {
                let (rows, vals) = self.x.col(j);
                rows.iter()
                    .zip(vals)
                    .map(|(&i, &a)| self.sw(i as usize) * a * a)
                    .sum::<f64>()
            })
            .flat_map(|s| std::iter::repeat_n(kappa * s / n, self.classes))
            .enumerate()
            .map(|(k, l)| l + self.l2_at(k))
            .map(|l| if l > 0.0 { l } else { 1.0 })
            .collect()
    }

    /// Weights the samples' losses: `f(w) = (1/n) Σ_i s_i ℓ(y_i, x_iᵀw) + …`. The weights are
    /// rescaled to sum to n (as scikit-learn's Lasso and ElasticNet do), so uniform weights give
    /// the unweighted model and λ keeps its meaning; a zero weight drops a sample.
    pub fn with_sample_weights(mut self, weights: Vec<f64>) -> Result<Self> {
        let n = self.x.nrows();
        if weights.len() != n {
            return Err(ProblemError::Invalid(format!(
                "{} sample weights for {n} samples",
                weights.len()
            )));
        }
        if let Some(i) = weights.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(ProblemError::Invalid(format!(
                "the weight of sample {i} is {}: sample weights must be finite and ≥ 0",
                weights[i]
            )));
        }
        let total: f64 = weights.iter().sum();
        if !(total > 0.0) {
            return Err(ProblemError::Invalid(
                "every sample weight is zero: at least one sample must count".into(),
            ));
        }
        let scale = n as f64 / total;
        self.weights = Some(weights.iter().map(|v| v * scale).collect());
        self.lip = self.coordinate_lipschitz();
        Ok(self)
    }

    /// The sample weights (rescaled to sum to n), if any.
    pub fn sample_weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// Weight of sample `i` (1 without weights).
    #[inline]
    fn sw(&self, i: usize) -> f64 {
        match &self.weights {
            Some(s) => s[i],
            None => 1.0,
        }
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
            // weighted means and frequencies (the weights sum to n)
            let share = |keep: &dyn Fn(f64) -> bool| {
                (0..self.y.len())
                    .filter(|&i| keep(self.y[i]))
                    .map(|i| self.sw(i))
                    .sum::<f64>()
                    / n
            };
            match self.loss {
                Loss::Squared => {
                    w[self.intercept_from] =
                        (0..self.y.len()).map(|i| self.sw(i) * self.y[i]).sum::<f64>() / n
                }
                Loss::Logistic => {
                    let pos = share(&|v| v > 0.0);
                    w[self.intercept_from] = (pos / (1.0 - pos)).ln();
                }
                Loss::Softmax => {
                    for c in 0..self.classes {
                        let f = share(&|v| v as usize == c);
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

    /// `s_i ℓ(y_i, z)`.
    #[inline]
    fn row_loss(&self, i: usize, z: &[f64]) -> f64 {
        let s = self.sw(i);
        if s == 0.0 {
            return 0.0;
        }
        s * self.unweighted_loss(i, z)
    }

    #[inline]
    fn unweighted_loss(&self, i: usize, z: &[f64]) -> f64 {
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

    /// `r = s_i ∂ℓ/∂z`.
    #[inline]
    fn row_derivative(&self, i: usize, z: &[f64], r: &mut [f64]) {
        self.unweighted_derivative(i, z, r);
        if let Some(s) = &self.weights {
            r.iter_mut().for_each(|v| *v *= s[i]);
        }
    }

    #[inline]
    fn unweighted_derivative(&self, i: usize, z: &[f64], r: &mut [f64]) {
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
        // `r` carries the weight: divide it out to read the probabilities
        let s = self.sw(i);
        if s == 0.0 {
            return 0.0;
        }
        let u = |k: usize| r[k] / s;
        s * match self.loss {
            Loss::Squared => 1.0,
            Loss::Logistic => {
                let a = u(0).abs();
                a * (1.0 - a)
            }
            Loss::Softmax => {
                let y = self.y[i] as usize;
                let p = |k: usize| u(k) + if k == y { 1.0 } else { 0.0 };
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
        let s = if c == 1 && rows.len() == cache.r.len() {
            // a dense column holds every sample in order: a contiguous dot product (SIMD)
            dense_dot(vals, &cache.r)
        } else if c == 1 {
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
        self.block_gram(block, |i, ca, cb| if ca == cb { kappa * self.sw(i) } else { 0.0 })
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
        self.dual_point(w, cache, grad).map(|d| d.gap)
    }

    fn gap_safe_screen(&self, w: &[f64], cache: &Cache, grad: &[f64], zero: &mut [bool]) -> Option<f64> {
        let d = self.dual_point_masked(w, cache, grad, Some(zero))?;
        let lambda = match self.penalty {
            Penalty::L1(l) | Penalty::NonNegativeL1(l) => l,
            Penalty::NonNegative => 0.0,
            Penalty::None => return Some(d.gap),
        };
        let one_sided = matches!(self.penalty, Penalty::NonNegative | Penalty::NonNegativeL1(_));
        // |X_jᵀ(θ − θ*)|/n ≤ ‖X_j‖ · radius. Round-off guards: the gap counts as at least 1e-12 of
        // the objective (a computed gap of 0 at the optimum must not screen the support,
        // whose scores equal λ there) and the test keeps a relative margin on λ
        let floor = 1e-12 * self.objective(w, cache).abs();
        let radius = d.radius_scale * d.gap.max(floor).sqrt();
        let bound = lambda * (1.0 - 1e-10);
        let c = self.classes;
        for (k, z) in zero.iter_mut().enumerate().take(self.intercept_from) {
            if *z {
                continue;
            }
            let score = if one_sided { d.xt[k] } else { d.xt[k].abs() };
            *z = score + self.col_norms[k / c] * radius < bound;
        }
        Some(d.gap)
    }

    fn prox_newton_step(&self, w: &mut [f64], cache: &mut Cache, set: &[usize], target: f64) -> Option<bool> {
        if self.classes != 1 || self.loss == Loss::Squared || set.is_empty() {
            return None;
        }
        let n = self.x.nrows();
        let inv_n = 1.0 / n as f64;
        // the loss curvature of every sample, and the quadratic model's coordinate curvatures
        let h: Vec<f64> = (0..n)
            .map(|i| self.row_curvature(i, &cache.r[i..i + 1], 0, 0))
            .collect();
        let m = set.len();
        let mut lk = vec![0.0; m];
        let mut g = vec![0.0; m];
        for (a, &k) in set.iter().enumerate() {
            let (rows, vals) = self.x.col(k);
            lk[a] = rows
                .iter()
                .zip(vals)
                .map(|(&i, &v)| v * v * h[i as usize])
                .sum::<f64>()
                * inv_n
                + self.l2_at(k);
            g[a] = self.coord_gradient(w, cache, k);
        }
        let pens: Vec<Penalty> = set.iter().map(|&k| self.penalty_at(k)).collect();
        // coordinate descent on the model gᵀd + ½dᵀ(XᵀHX/n + λ₂)d + g(w + d), keeping Xd
        let mut d = vec![0.0; m];
        let mut xd = vec![0.0; n];
        for _ in 0..20 {
            let mut worst: f64 = 0.0;
            for a in 0..m {
                if !(lk[a] > 0.0) {
                    continue;
                }
                let k = set[a];
                let (rows, vals) = self.x.col(k);
                let hd: f64 = rows
                    .iter()
                    .zip(vals)
                    .map(|(&i, &v)| v * h[i as usize] * xd[i as usize])
                    .sum::<f64>()
                    * inv_n;
                let gj = g[a] + hd + self.l2_at(k) * d[a];
                worst = worst.max(pens[a].min_norm_subgradient(w[k] + d[a], gj).abs());
                let target_d = pens[a].prox(w[k] + d[a] - gj / lk[a], 1.0 / lk[a]) - w[k];
                let delta = target_d - d[a];
                if delta != 0.0 {
                    d[a] = target_d;
                    for (&i, &v) in rows.iter().zip(vals) {
                        xd[i as usize] += v * delta;
                    }
                }
            }
            if worst <= 0.3 * target {
                break;
            }
        }
        let decrease: f64 = (0..m).map(|a| g[a] * d[a] + pens[a].delta(w[set[a]], d[a])).sum();
        if !(decrease < 0.0) {
            return Some(false);
        }
        // backtracking on F along d: the loss from the margins z + t·Xd, O(n) per trial
        let f0 = self.objective(w, cache);
        let value_at = |t: f64| -> f64 {
            let loss: f64 = (0..n)
                .map(|i| {
                    let z = cache.z[i] + t * xd[i];
                    self.row_loss(i, std::slice::from_ref(&z))
                })
                .sum::<f64>()
                * inv_n;
            let change: f64 = (0..m)
                .map(|a| {
                    let k = set[a];
                    let dk = t * d[a];
                    self.l2_at(k) * dk * (w[k] + 0.5 * dk) + pens[a].delta(w[k], dk)
                })
                .sum();
            let ridge = 0.5 * self.l2 * w[..self.intercept_from].iter().map(|v| v * v).sum::<f64>();
            loss + ridge + self.penalty.total(&w[..self.intercept_from]) + change
        };
        let mut t = 1.0;
        for _ in 0..30 {
            if value_at(t) <= f0 + 1e-4 * t * decrease {
                for (a, &k) in set.iter().enumerate() {
                    w[k] += t * d[a];
                }
                for i in 0..n {
                    cache.z[i] += t * xd[i];
                    let z = cache.z[i];
                    self.row_derivative(i, std::slice::from_ref(&z), &mut cache.r[i..i + 1]);
                }
                return Some(true);
            }
            t *= 0.5;
        }
        Some(false)
    }

    fn coordinate_step(&self, w: &mut [f64], cache: &mut Cache, k: usize) -> f64 {
        if self.classes != 1 {
            return generic_coordinate_step(self, w, cache, k);
        }
        let l = self.lip[k];
        let g = self.coord_gradient(w, cache, k);
        let d = self.penalty_at(k).prox(w[k] - g / l, 1.0 / l) - w[k];
        if d == 0.0 {
            return 0.0;
        }
        w[k] += d;
        let (rows, vals) = self.x.col(k);
        match (self.loss, &self.weights) {
            (Loss::Squared, None) if rows.len() == cache.r.len() => {
                // a dense column: contiguous updates of every sample (SIMD)
                for ((z, r), &a) in cache.z.iter_mut().zip(cache.r.iter_mut()).zip(vals) {
                    *z += a * d;
                    *r += a * d;
                }
            }
            (Loss::Squared, None) => {
                for (&i, &a) in rows.iter().zip(vals) {
                    let i = i as usize;
                    cache.z[i] += a * d;
                    cache.r[i] += a * d;
                }
            }
            _ => {
                for (&i, &a) in rows.iter().zip(vals) {
                    let i = i as usize;
                    cache.z[i] += a * d;
                    let z = cache.z[i];
                    self.row_derivative(i, std::slice::from_ref(&z), &mut cache.r[i..i + 1]);
                }
            }
        }
        d
    }
}

/// The dual point a GLM iterate gives and what it certifies (single-output losses).
#[derive(Clone, Debug)]
pub struct DualPoint {
    /// The duality gap `F(w) − D(θ)`.
    pub gap: f64,
    /// `X_kᵀθ / n` for every penalised coordinate.
    pub xt: Vec<f64>,
    /// `ρ / √gap` for the radius `ρ` with `|X_kᵀ(θ − θ*)| / n ≤ ‖X_k‖ ρ` around the dual
    /// optimum `θ*` (from the dual's strong concavity: `‖θ − θ*‖ ≤ √(2 n L s_max gap)`, `L`
    /// the loss's smoothness, `s_max` the largest sample weight).
    pub radius_scale: f64,
}

fn entropy(p: f64) -> f64 {
    if p > 0.0 {
        -p * p.ln()
    } else {
        0.0
    }
}

impl Glm {
    /// A feasible dual point built from `w` (`grad` is `∇f(w)`, which carries `Xᵀθ`): the
    /// residual `θ = −s ℓ'(Xw)`, made feasible — centred (least squares) or projected onto
    /// `Σθ = 0` inside the conjugate's domain (logistic) when there is an intercept, then
    /// scaled into `‖Xᵀθ/n‖∞ ≤ λ` for the L1 penalties without a ridge. The dual is
    /// `D(θ) = −(1/n) Σ s_i ℓ*(−θ_i/s_i) − h*(Xᵀθ/n)` with `h` the penalty plus the ridge:
    /// Lasso, L1-logistic, the elastic net, ridge, L2-logistic, non-negative least squares
    /// (with or without L1), each with an intercept and sample weights. `None` for softmax and
    /// for models with neither a penalty nor a ridge.
    pub fn dual_point(&self, w: &[f64], cache: &Cache, grad: &[f64]) -> Option<DualPoint> {
        self.dual_point_masked(w, cache, grad, None)
    }

    /// [`Glm::dual_point`] for the problem without the coordinates marked in `skip` — those
    /// screened out, zero at every optimum, so the restricted problem has the same optimal
    /// value and its gap bounds the full problem's suboptimality. Their `grad` entries are not
    /// read (a working-set solver need not compute them); their `xt` entries are zero.
    pub fn dual_point_masked(
        &self,
        w: &[f64],
        cache: &Cache,
        grad: &[f64],
        skip: Option<&[bool]>,
    ) -> Option<DualPoint> {
        let skipped = |k: usize| skip.is_some_and(|m| m[k]);
        if self.loss == Loss::Softmax {
            return None;
        }
        let nf = self.x.nrows() as f64;
        let p = self.intercept_from;
        let mut theta: Vec<f64> = cache.r.iter().map(|r| -r).collect();
        let xt: Vec<f64> = if self.has_intercept() {
            // the intercept's column of ones makes Σθ = 0 a dual constraint
            match self.loss {
                Loss::Squared => {
                    let mean = theta.iter().sum::<f64>() / nf;
                    theta.iter_mut().for_each(|t| *t -= mean);
                }
                _ => self.project_zero_sum(&mut theta),
            }
            let mut xt = vec![0.0; self.x.ncols()];
            self.x.mul_transpose(&theta, &mut xt);
            xt.truncate(p);
            for (k, v) in xt.iter_mut().enumerate() {
                *v = if skipped(k) { 0.0 } else { *v / nf };
            }
            xt
        } else {
            (0..p)
                .map(|k| {
                    if skipped(k) {
                        0.0
                    } else {
                        -(grad[k] - self.l2 * w[k])
                    }
                })
                .collect()
        };
        let l2 = self.l2;
        // the scale that makes θ feasible for h*, and h*(Xᵀθ/n) after scaling
        let (scale, quad) = match self.penalty {
            Penalty::L1(_) | Penalty::NonNegativeL1(_) | Penalty::NonNegative if l2 == 0.0 => {
                let l = match self.penalty {
                    Penalty::L1(l) | Penalty::NonNegativeL1(l) => l,
                    _ => 0.0,
                };
                // without an L1 weight no scaling makes a residual feasible: no usable gap
                if !(l > 0.0) {
                    return None;
                }
                let m = if matches!(self.penalty, Penalty::L1(_)) {
                    xt.iter().fold(0.0, |a: f64, v| a.max(v.abs()))
                } else {
                    xt.iter().fold(0.0, |a: f64, &v| a.max(v))
                };
                let scale = if m <= l { 1.0 } else { l / m };
                (scale, 0.0)
            }
            Penalty::L1(l) => {
                let q = xt.iter().map(|v| (v.abs() - l).max(0.0).powi(2)).sum::<f64>() / (2.0 * l2);
                (1.0, q)
            }
            Penalty::NonNegativeL1(_) | Penalty::NonNegative => {
                let l = match self.penalty {
                    Penalty::NonNegativeL1(l) => l,
                    _ => 0.0,
                };
                let q = xt.iter().map(|v| (v - l).max(0.0).powi(2)).sum::<f64>() / (2.0 * l2);
                (1.0, q)
            }
            Penalty::None if l2 > 0.0 => (1.0, xt.iter().map(|v| v * v).sum::<f64>() / (2.0 * l2)),
            Penalty::None => return None,
        };
        theta.iter_mut().for_each(|t| *t *= scale);
        let conj: f64 = (0..theta.len())
            .map(|i| {
                let (t, y, s) = (theta[i], self.y[i], self.sw(i));
                if s == 0.0 {
                    return 0.0;
                }
                match self.loss {
                    Loss::Squared => t * y - 0.5 * t * t / s,
                    _ => {
                        let a = (y * t / s).clamp(0.0, 1.0);
                        s * (entropy(a) + entropy(1.0 - a))
                    }
                }
            })
            .sum();
        let dual = conj / nf - quad;
        let smoothness = match self.loss {
            Loss::Squared => 1.0,
            _ => 0.25,
        };
        let smax = self
            .weights
            .as_ref()
            .map_or(1.0, |s| s.iter().fold(0.0, |a: f64, &b| a.max(b)));
        let gap = (self.objective(w, cache) - dual).max(0.0);
        Some(DualPoint {
            gap,
            xt: xt.into_iter().map(|v| v * scale).collect(),
            radius_scale: (2.0 * nf * smoothness * smax).sqrt() / nf,
        })
    }

    /// Projects a logistic dual point onto `Σθ = 0` within the conjugate's domain
    /// (`y_i θ_i ∈ [0, s_i]`): `θ_i ← clip(θ_i − μ)` with `μ` found by bisection.
    fn project_zero_sum(&self, theta: &mut [f64]) {
        let bounds: Vec<(f64, f64)> = (0..theta.len())
            .map(|i| {
                let s = self.sw(i);
                if self.y[i] > 0.0 {
                    (0.0, s)
                } else {
                    (-s, 0.0)
                }
            })
            .collect();
        let sum_at = |mu: f64| -> f64 {
            theta
                .iter()
                .zip(&bounds)
                .map(|(t, &(lo, hi))| (t - mu).clamp(lo, hi))
                .sum()
        };
        let smax = bounds.iter().fold(0.0, |a: f64, b| a.max(b.1 - b.0));
        let (mut lo, mut hi) = (-2.0 * smax, 2.0 * smax);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if sum_at(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mu = 0.5 * (lo + hi);
        for (t, &(l, h)) in theta.iter_mut().zip(&bounds) {
            *t = (*t - mu).clamp(l, h);
        }
    }
}
