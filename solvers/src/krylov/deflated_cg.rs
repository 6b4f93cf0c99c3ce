//! Deflated (recycled) preconditioned CG for sequences of SPD systems
//! (Saad, Yeung, Erhel, Guyomarc'h 2000; recycling as in Wang, de Sturler,
//! Paulino 2007).
//!
//! A deflation space `W` (n × k) is kept from one solve to the next. Each
//! solve starts from the Galerkin projection `x₀ += W (WᵀAW)⁻¹ Wᵀ r₀` and
//! keeps its search directions A-conjugate to `W`
//! (`p = z + βp − W (WᵀAW)⁻¹ (AW)ᵀ z`), so the eigenvalues `W` captures no
//! longer slow CG down. At the end of a solve, a Rayleigh–Ritz step on
//! `[W, P]` (`P` = the first search directions) keeps the `k` Ritz vectors of
//! smallest Ritz value as the next `W`. Per iteration this costs `2k` vector
//! operations beyond CG — far cheaper than GCRO-DR's orthogonalisation.

use super::recycle::par_for;
use super::{apply_precond, check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, SolverError, Step};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Side};
use solvent_linalg::gram_schmidt::{project, subtract};
use solvent_linalg::vector::{axpy, dot, sub_from, xpby};
use solvent_linalg::{LinearOperator, Preconditioner};
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// A deflation space `W` (column-major `n × k`).
#[derive(Clone, Debug)]
pub struct DeflationSpace {
    n: usize,
    k: usize,
    w: Vec<f64>,
}

impl DeflationSpace {
    /// Number of vectors.
    pub fn dim(&self) -> usize {
        self.k
    }
    /// Vector length.
    pub fn len(&self) -> usize {
        self.n
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }
}

/// Deflated PCG, carrying its deflation space across solves.
#[derive(Clone)]
pub struct DeflatedCg {
    k: usize,
    collect: usize,
    precond: SharedPrecond,
    space: Option<DeflationSpace>,
    last_deflated: usize,
}

impl Default for DeflatedCg {
    fn default() -> Self {
        Self {
            k: 20,
            collect: 40,
            precond: None,
            space: None,
            last_deflated: 0,
        }
    }
}

impl DeflatedCg {
    /// `k = 20` deflation vectors, Ritz extraction over the first 40 directions.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the deflation dimension `k`.
    pub fn deflation_dim(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// With an SPD preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }
    /// Replaces the preconditioner.
    pub fn set_preconditioner(&mut self, m: SharedPrecond) {
        self.precond = m;
    }
    /// The space the next solve starts with.
    pub fn with_space(&mut self, space: Option<DeflationSpace>) {
        self.space = space;
    }
    /// Takes the space left by the last solve.
    pub fn take_space(&mut self) -> Option<DeflationSpace> {
        self.space.take()
    }
}

/// Deflated CG iterate and recurrences.
#[derive(Clone, Debug)]
pub struct DeflatedCgState {
    /// The iterate.
    pub x: Vec<f64>,
    n: usize,
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
    rz: f64,
    bnorm: f64,
    kk: usize,
    w: Vec<f64>,
    aw: Vec<f64>,
    /// Cholesky factor of `WᵀAW`.
    waw: Option<Mat<f64>>,
    mu: Vec<f64>,
    /// First search directions and their images, for the Ritz step.
    pcol: Vec<f64>,
    apcol: Vec<f64>,
    collected: usize,
    /// Deflation vectors at the start of the solve.
    pub deflated: usize,
}

/// Solves `L Lᵀ y = rhs` in place (called every iteration: no allocation).
fn waw_solve(l: &Mat<f64>, rhs: &mut [f64]) {
    let k = rhs.len();
    let mut m = faer::MatMut::from_column_major_slice_mut(rhs, k, 1);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(l.as_ref(), m.as_mut(), faer::Par::Seq);
    faer::linalg::triangular_solve::solve_upper_triangular_in_place(l.transpose(), m, faer::Par::Seq);
}

impl DeflatedCg {
    /// `p −= W μ` with `(WᵀAW) μ = (AW)ᵀ p`: makes `p` A-conjugate to `W`.
    fn deflate_p(s: &mut DeflatedCgState) {
        let (n, kk) = (s.n, s.kk);
        let Some(l) = &s.waw else { return };
        project(&s.aw[..kk * n], n, &s.p, &mut s.mu[..kk]);
        waw_solve(l, &mut s.mu[..kk]);
        subtract(&s.w[..kk * n], n, &s.mu[..kk], &mut s.p);
    }

    /// Sets up `AW`, `WᵀAW` for the operator; drops the space if `WᵀAW` is
    /// not positive definite.
    fn prepare(a: &dyn LinearOperator, s: &mut DeflatedCgState) {
        let (n, kk) = (s.n, s.kk);
        for i in 0..kk {
            let (wi, awi) = (&s.w[i * n..(i + 1) * n], &mut s.aw[i * n..(i + 1) * n]);
            a.apply(wi, awi);
        }
        let w = MatRef::from_column_major_slice(&s.w[..kk * n], n, kk);
        let aw = MatRef::from_column_major_slice(&s.aw[..kk * n], n, kk);
        let mut g = Mat::<f64>::zeros(kk, kk);
        matmul(g.as_mut(), Accum::Replace, w.transpose(), aw, 1.0, par_for(n));
        let sym = Mat::<f64>::from_fn(kk, kk, |i, j| 0.5 * (g[(i, j)] + g[(j, i)]));
        match sym.llt(Side::Lower) {
            Ok(f) => s.waw = Some(f.L().to_owned()),
            Err(_) => {
                s.waw = None;
                s.kk = 0;
            }
        }
    }

    /// Rayleigh–Ritz on `[W, P]`: the `k` Ritz vectors of smallest value.
    fn extract(&self, s: &DeflatedCgState) -> Option<DeflationSpace> {
        let (n, kk, c) = (s.n, s.kk, s.collected);
        let dim = kk + c;
        if dim == 0 || self.k == 0 {
            return None;
        }
        // Gram blocks of Z = [W, P] against AZ and Z, product by product (no copy of
        // W and P into one block)
        let w = MatRef::from_column_major_slice(&s.w[..kk * n], n, kk);
        let aw = MatRef::from_column_major_slice(&s.aw[..kk * n], n, kk);
        let p = MatRef::from_column_major_slice(&s.pcol[..c * n], n, c);
        let ap = MatRef::from_column_major_slice(&s.apcol[..c * n], n, c);
        let mut g = Mat::<f64>::zeros(dim, dim);
        let mut f = Mat::<f64>::zeros(dim, dim);
        for (m, right) in [(&mut g, [aw, ap]), (&mut f, [w, p])] {
            for (r0, left) in [(0, w), (kk, p)] {
                for (c0, rt) in [(0, right[0]), (kk, right[1])] {
                    if left.ncols() > 0 && rt.ncols() > 0 {
                        matmul(
                            m.as_mut().submatrix_mut(r0, c0, left.ncols(), rt.ncols()),
                            Accum::Replace,
                            left.transpose(),
                            rt,
                            1.0,
                            par_for(n),
                        );
                    }
                }
            }
        }
        let sym = |m: &Mat<f64>| Mat::<f64>::from_fn(dim, dim, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
        let (g, f) = (sym(&g), sym(&f));
        // an orthonormal basis of span(Z) in coefficient space: B = Q Λ^{-1/2}
        let fe = f.self_adjoint_eigen(Side::Lower).ok()?;
        let lmax = (0..dim).map(|i| fe.S()[i]).fold(0.0, f64::max);
        let keep: Vec<usize> = (0..dim).filter(|&i| fe.S()[i] > 1e-12 * lmax).collect();
        if keep.is_empty() {
            return None;
        }
        let b = Mat::<f64>::from_fn(dim, keep.len(), |r, c| {
            fe.U()[(r, keep[c])] / fe.S()[keep[c]].sqrt()
        });
        let gb = b.transpose() * &g * &b;
        let gb = Mat::<f64>::from_fn(gb.nrows(), gb.ncols(), |i, j| 0.5 * (gb[(i, j)] + gb[(j, i)]));
        let ge = gb.self_adjoint_eigen(Side::Lower).ok()?;
        let knew = self.k.min(keep.len());
        // eigenvalues ascending: the first knew are the smallest Ritz values
        let y = &b * ge.U().subcols(0, knew);
        // W_new = Z y = W y_W + P y_P
        let mut wn = vec![0.0; n * knew];
        let mut dst = faer::MatMut::from_column_major_slice_mut(&mut wn, n, knew);
        let mut accum = Accum::Replace;
        for (r0, block) in [(0, w), (kk, p)] {
            if block.ncols() > 0 {
                matmul(
                    dst.as_mut(),
                    accum,
                    block,
                    y.as_ref().subrows(r0, block.ncols()),
                    1.0,
                    par_for(n),
                );
                accum = Accum::Add;
            }
        }
        Some(DeflationSpace { n, k: knew, w: wn })
    }
}

impl<P: LinearSystem + ?Sized> Solver<P> for DeflatedCg {
    type State = DeflatedCgState;
    fn name(&self) -> String {
        format!("deflated-cg({})", self.k)
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "deflation": self.k,
            "ritz_from_directions": self.collect,
            "preconditioner": super::precond_name(&self.precond),
            "deflated_at_start": self.last_deflated,
        })
    }
    fn init(&mut self, problem: &P) -> Result<DeflatedCgState> {
        let n = check_system(problem, &self.precond)?;
        if let Some(m) = &self.precond {
            if !m.is_symmetric() {
                return Err(SolverError::NotApplicable(format!(
                    "deflated CG needs a symmetric positive definite preconditioner; '{}' is not",
                    m.name()
                )));
            }
        }
        let space = self.space.take().filter(|s| s.n == n && s.k > 0);
        let kk = space.as_ref().map_or(0, |s| s.k);
        let mut s = DeflatedCgState {
            x: initial_x(problem),
            n,
            r: vec![0.0; n],
            z: vec![0.0; n],
            p: vec![0.0; n],
            q: vec![0.0; n],
            rz: 0.0,
            bnorm: rhs_scale(problem.rhs()),
            kk,
            w: space.map_or_else(Vec::new, |s| s.w),
            aw: vec![0.0; kk * n],
            waw: None,
            mu: vec![0.0; kk],
            pcol: Vec::with_capacity(self.collect * n),
            apcol: Vec::with_capacity(self.collect * n),
            collected: 0,
            deflated: 0,
        };
        let a = problem.operator();
        if s.kk > 0 {
            Self::prepare(a, &mut s);
        }
        s.deflated = s.kk;
        self.last_deflated = s.kk;
        // r = b − A x; Galerkin start x += W (WᵀAW)⁻¹ Wᵀ r
        a.apply(&s.x, &mut s.r);
        sub_from(problem.rhs(), &mut s.r);
        if let Some(l) = &s.waw {
            let kk = s.kk;
            project(&s.w[..kk * n], n, &s.r, &mut s.mu[..kk]);
            waw_solve(l, &mut s.mu[..kk]);
            let neg: Vec<f64> = s.mu[..kk].iter().map(|v| -v).collect();
            subtract(&s.w[..kk * n], n, &neg, &mut s.x);
            subtract(&s.aw[..kk * n], n, &s.mu[..kk], &mut s.r);
        }
        apply_precond(&self.precond, &s.r, &mut s.z);
        s.p.copy_from_slice(&s.z);
        Self::deflate_p(&mut s);
        s.rz = dot(&s.r, &s.z);
        Ok(s)
    }
    fn step(&mut self, problem: &P, s: &mut DeflatedCgState) -> Result<Step> {
        problem.operator().apply(&s.p, &mut s.q);
        let pq = dot(&s.p, &s.q);
        if pq.is_nan() || pq <= 0.0 {
            return Ok(Step::Breakdown(format!(
                "pᵀAp = {pq:.3e} ≤ 0: the matrix is not positive definite"
            )));
        }
        if s.collected < self.collect {
            s.pcol.extend_from_slice(&s.p);
            s.apcol.extend_from_slice(&s.q);
            s.collected += 1;
        }
        let alpha = s.rz / pq;
        axpy(alpha, &s.p, &mut s.x);
        axpy(-alpha, &s.q, &mut s.r);
        // z = M⁻¹ r (r itself without a preconditioner: no copy)
        let z: &[f64] = match &self.precond {
            Some(m) => {
                m.apply(&s.r, &mut s.z);
                &s.z
            }
            None => &s.r,
        };
        let rz_new = dot(&s.r, z);
        let rr = if self.precond.is_some() {
            dot(&s.r, &s.r)
        } else {
            rz_new
        };
        let beta = rz_new / s.rz;
        s.rz = rz_new;
        // p = z + β p − W μ
        xpby(z, beta, &mut s.p);
        if s.kk > 0 {
            let (n, kk) = (s.n, s.kk);
            let l = s.waw.as_ref().expect("set with kk > 0");
            project(&s.aw[..kk * n], n, z, &mut s.mu[..kk]);
            waw_solve(l, &mut s.mu[..kk]);
            subtract(&s.w[..kk * n], n, &s.mu[..kk], &mut s.p);
        }
        Ok(Step::Continue {
            estimate: Some(rr.sqrt() / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &DeflatedCgState) -> Metrics {
        residual_metrics(problem, &s.x)
    }
    fn finalize(&mut self, _problem: &P, s: &mut DeflatedCgState) -> Result<()> {
        self.space = self.extract(s);
        Ok(())
    }
}

super::has_solution!(DeflatedCgState);
