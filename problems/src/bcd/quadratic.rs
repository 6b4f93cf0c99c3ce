//! `f(x) = ½xᵀQx − cᵀx + const` with sparse symmetric positive-diagonal `Q`: the problem class
//! of graph label propagation and graph-structured least squares, and the one where exact block
//! updates are one linear solve (by message passing when the block's graph is a forest).

use super::{Cache, CoordinateProblem, Penalty};
use crate::error::{ProblemError, Result};
use faer::Mat;
use solvent_linalg::CsrMatrix;

/// A sparse quadratic with a separable penalty.
#[derive(Clone, Debug)]
pub struct QuadraticProblem {
    q: CsrMatrix,
    c: Vec<f64>,
    constant: f64,
    penalty: Penalty,
    lip: Vec<f64>,
}

impl QuadraticProblem {
    /// Builds the problem; `Q` must be square, symmetric, with a positive diagonal, and `c` of
    /// matching length and finite.
    pub fn new(q: CsrMatrix, c: Vec<f64>, constant: f64, penalty: Penalty) -> Result<Self> {
        let n = q.nrows();
        if q.ncols() != n {
            return Err(ProblemError::Invalid(format!(
                "Q is {n}×{}: it must be square",
                q.ncols()
            )));
        }
        if c.len() != n {
            return Err(ProblemError::Invalid(format!(
                "c has {} entries for a {n}×{n} Q",
                c.len()
            )));
        }
        if let Some(i) = c.iter().position(|v| !v.is_finite()) {
            return Err(ProblemError::Invalid(format!("c[{i}] is {}", c[i])));
        }
        if !q.is_symmetric(1e-12) {
            return Err(ProblemError::Invalid("Q is not symmetric".into()));
        }
        let lip = q.diagonal();
        if let Some(i) = lip.iter().position(|&d| !(d > 0.0)) {
            return Err(ProblemError::Invalid(format!(
                "Q[{i},{i}] = {}: the diagonal must be positive",
                lip[i]
            )));
        }
        if let Penalty::L1(l) = penalty {
            if !(l.is_finite() && l >= 0.0) {
                return Err(ProblemError::Invalid(format!(
                    "λ = {l}: must be a finite number ≥ 0"
                )));
            }
        }
        Ok(Self {
            q,
            c,
            constant,
            penalty,
            lip,
        })
    }

    /// `Q`.
    pub fn matrix(&self) -> &CsrMatrix {
        &self.q
    }
    /// `c`.
    pub fn linear(&self) -> &[f64] {
        &self.c
    }

    /// Local positions of `block`'s members, for lookups inside the block.
    fn locator(block: &[usize]) -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = block.iter().enumerate().map(|(a, &k)| (k, a)).collect();
        v.sort_unstable();
        v
    }

    fn local(loc: &[(usize, usize)], k: usize) -> Option<usize> {
        loc.binary_search_by_key(&k, |e| e.0).ok().map(|p| loc[p].1)
    }
}

impl CoordinateProblem for QuadraticProblem {
    fn dim(&self) -> usize {
        self.q.nrows()
    }
    fn penalty(&self) -> Penalty {
        self.penalty
    }
    fn lipschitz(&self) -> &[f64] {
        &self.lip
    }
    fn is_quadratic(&self) -> bool {
        true
    }
    fn quadratic_matrix(&self) -> Option<&CsrMatrix> {
        Some(&self.q)
    }

    fn new_cache(&self, x: &[f64]) -> Cache {
        let mut z = vec![0.0; self.dim()];
        self.q.mul_vec(x, &mut z);
        for (zi, ci) in z.iter_mut().zip(&self.c) {
            *zi -= ci;
        }
        Cache {
            z,
            ..Cache::default()
        }
    }

    fn smooth_value(&self, x: &[f64], cache: &Cache) -> f64 {
        // ½xᵀQx − cᵀx = ½xᵀ(Qx − c) − ½cᵀx
        let a: f64 = x.iter().zip(&cache.z).map(|(a, b)| a * b).sum();
        let b: f64 = x.iter().zip(&self.c).map(|(a, b)| a * b).sum();
        0.5 * a - 0.5 * b + self.constant
    }

    #[inline]
    fn coord_gradient(&self, _x: &[f64], cache: &Cache, j: usize) -> f64 {
        cache.z[j]
    }

    fn full_gradient(&self, _x: &[f64], cache: &Cache, g: &mut [f64]) {
        g.copy_from_slice(&cache.z);
    }

    fn apply(
        &self,
        x: &mut [f64],
        cache: &mut Cache,
        changes: &[(usize, f64)],
        mut grad: Option<&mut [f64]>,
    ) {
        for &(j, d) in changes {
            if d == 0.0 {
                continue;
            }
            x[j] += d;
            let (cols, vals) = self.q.row(j);
            for (&k, &a) in cols.iter().zip(vals) {
                cache.z[k as usize] += a * d;
                if let Some(g) = grad.as_deref_mut() {
                    g[k as usize] += a * d;
                }
            }
        }
    }

    fn block_delta(&self, _x: &[f64], cache: &Cache, block: &[usize], d: &[f64]) -> f64 {
        let mut hd = vec![0.0; block.len()];
        self.block_hessian_vec(_x, cache, block, d, &mut hd);
        block
            .iter()
            .zip(d)
            .zip(&hd)
            .map(|((&k, &dk), &h)| dk * (cache.z[k] + 0.5 * h))
            .sum()
    }

    fn block_hessian_bound(&self, block: &[usize]) -> Mat<f64> {
        let loc = Self::locator(block);
        let mut h = Mat::zeros(block.len(), block.len());
        for (a, &k) in block.iter().enumerate() {
            let (cols, vals) = self.q.row(k);
            for (&j, &v) in cols.iter().zip(vals) {
                if let Some(b) = Self::local(&loc, j as usize) {
                    h[(a, b)] = v;
                }
            }
        }
        h
    }

    fn block_hessian(&self, _x: &[f64], _cache: &Cache, block: &[usize]) -> Mat<f64> {
        self.block_hessian_bound(block)
    }

    fn block_hessian_vec(&self, _x: &[f64], _cache: &Cache, block: &[usize], v: &[f64], out: &mut [f64]) {
        let loc = Self::locator(block);
        for (a, &k) in block.iter().enumerate() {
            let (cols, vals) = self.q.row(k);
            out[a] = cols
                .iter()
                .zip(vals)
                .filter_map(|(&j, &q)| Self::local(&loc, j as usize).map(|b| q * v[b]))
                .sum();
        }
    }
}
