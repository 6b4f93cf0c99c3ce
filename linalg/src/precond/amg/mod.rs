//! Smoothed-aggregation algebraic multigrid (Vaněk, Mandel and Brezina 1996), as a
//! preconditioner for CG, GMRES and GCRO-DR.
//!
//! Setup, level by level until the operator has at most `max_coarse` rows:
//! symmetric strength of connection ([`AmgOptions::theta`]) → greedy aggregation →
//! tentative prolongator `T` from the constant near-null space (unit columns) →
//! `P = (I − ω D⁻¹A) T`, `ω = 4 / (3 ρ(D⁻¹A))` → Galerkin `A_c = Pᵀ A P` (two
//! parallel sparse products). The coarsest operator is factorised (sparse Cholesky,
//! LU when that fails). One application is a V(1,1) cycle with a Chebyshev
//! smoother of degree [`AmgOptions::degree`] on `D⁻¹A`, the same polynomial before
//! and after the coarse correction, so the cycle is symmetric positive definite
//! for an SPD matrix.
//!
//! Along a sequence whose matrices share one pattern, [`Amg::refresh`] keeps the
//! aggregates (strength, aggregation and `T`) and recomputes only what depends on
//! the values: `ω`, `P`, the Galerkin products, the smoother bounds and the coarse
//! factor.
//!
//! Defaults follow pyamg's `smoothed_aggregation_solver` where it has one
//! (θ = 0, constant near-null space, Jacobi-smoothed prolongation with
//! ω = 4/(3ρ)); the smoother is Chebyshev (pyamg's default is symmetric
//! Gauss–Seidel, which is sequential) with pyamg's Chebyshev bounds
//! `[ρ/30, 1.1 ρ]`.

mod aggregate;
mod prolong;
mod smoother;
mod strength;
#[cfg(test)]
mod tests;

use crate::direct::{DirectKind, DirectSolver};
use crate::error::{LinalgError, Result};
use crate::operator::Preconditioner;
use crate::sparse_product::spgemm;
use crate::CsrMatrix;
use smoother::{Chebyshev, Scratch};
use std::sync::Mutex;

/// Settings of the smoothed-aggregation hierarchy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmgOptions {
    /// Strength threshold θ: `j` is a strong neighbour of `i` when
    /// `|a_ij| ≥ θ √|a_ii a_jj|` (0: every coupling).
    pub theta: f64,
    /// Degree of the Chebyshev smoother (SpMVs per smoothing step).
    pub degree: usize,
    /// Coarsening stops once a level has at most this many rows; that level is
    /// factorised.
    pub max_coarse: usize,
    /// At most this many levels (the last is factorised whatever its size).
    pub max_levels: usize,
    /// Lanczos steps estimating ρ(D⁻¹A) on each level.
    pub spectral_steps: usize,
}

impl Default for AmgOptions {
    fn default() -> Self {
        Self {
            theta: 0.0,
            degree: 2,
            max_coarse: 400,
            max_levels: 12,
            spectral_steps: 15,
        }
    }
}

/// One level of the hierarchy above the coarsest.
#[derive(Debug)]
struct Level {
    a: CsrMatrix,
    inv_diag: Vec<f64>,
    /// Prolongation to this level from the next coarser one.
    p: CsrMatrix,
    /// Restriction `Pᵀ`, stored for a parallel SpMV.
    r: CsrMatrix,
    smoother: Chebyshev,
    /// Aggregate of each row (kept for [`Amg::refresh`]).
    agg: Vec<u32>,
    count: usize,
}

/// Work vectors of one V-cycle.
#[derive(Debug)]
struct Workspace {
    /// Per level below the finest: right-hand side and iterate.
    b: Vec<Vec<f64>>,
    x: Vec<Vec<f64>>,
    scratch: Vec<Scratch>,
}

/// A smoothed-aggregation AMG hierarchy; [`Preconditioner::apply`] runs one V-cycle.
#[derive(Debug)]
pub struct Amg {
    levels: Vec<Level>,
    coarse: DirectSolver,
    coarse_n: usize,
    coarse_nnz: usize,
    /// Whether the matrix it was built for is symmetric (then so is the cycle).
    symmetric: bool,
    options: AmgOptions,
    /// Work vectors reused between applications (a second concurrent caller
    /// allocates its own).
    pool: Mutex<Vec<Workspace>>,
}

/// The aggregation of one level, as [`Amg::refresh`] reuses it.
struct Aggregation<'a> {
    agg: &'a [u32],
    count: usize,
}

impl Amg {
    /// Builds the hierarchy of `a` with default [`AmgOptions`].
    pub fn new(a: &CsrMatrix) -> Result<Self> {
        Self::with_options(a, AmgOptions::default())
    }

    /// Builds the hierarchy of the square matrix `a`. Fails on a zero or missing
    /// diagonal entry (naming the row, and whether it is on a coarse level) or a
    /// coarsest operator that cannot be factorised.
    pub fn with_options(a: &CsrMatrix, options: AmgOptions) -> Result<Self> {
        check_options(&options)?;
        Self::build(a, options, None)
    }

    /// A hierarchy for `a`, which has the same sparsity pattern as the matrix this
    /// one was built for, keeping this hierarchy's aggregates and recomputing the
    /// prolongators, Galerkin operators, smoother bounds and coarse factor from
    /// `a`'s values (cheaper than [`Amg::new`] by the strength and aggregation
    /// passes, and the same hierarchy when θ = 0 and no stored entry is zero, where
    /// the aggregates depend on the pattern alone).
    pub fn refresh(&self, a: &CsrMatrix) -> Result<Self> {
        let fine = self.levels.first().map(|l| &l.a);
        if let Some(f) = fine {
            if f.nrows() != a.nrows() || f.row_ptr() != a.row_ptr() || f.col_idx() != a.col_idx() {
                return Err(LinalgError::InvalidMatrix(
                    "amg refresh: the matrix's sparsity pattern differs from the hierarchy's".into(),
                ));
            }
        } else if a.nrows() != self.coarse_n {
            return Err(LinalgError::dims(
                "amg refresh: matrix size",
                self.coarse_n,
                a.nrows(),
            ));
        }
        let aggs: Vec<Aggregation<'_>> = self
            .levels
            .iter()
            .map(|l| Aggregation {
                agg: &l.agg,
                count: l.count,
            })
            .collect();
        Self::build(a, self.options, Some(&aggs))
    }

    fn build(a: &CsrMatrix, options: AmgOptions, reuse: Option<&[Aggregation<'_>]>) -> Result<Self> {
        if a.nrows() != a.ncols() {
            return Err(LinalgError::dims(
                "amg: square matrix columns",
                a.nrows(),
                a.ncols(),
            ));
        }
        if a.nrows() == 0 {
            return Err(LinalgError::Empty("amg of a 0×0 matrix".into()));
        }
        let mut levels = Vec::new();
        let mut current = a.clone();
        loop {
            let depth = levels.len();
            let fixed = reuse.and_then(|r| r.get(depth));
            let last = reuse.map_or(
                current.nrows() <= options.max_coarse || depth + 1 >= options.max_levels,
                |r| depth >= r.len(),
            );
            if last {
                break;
            }
            let inv_diag = inverse_diagonal(&current, depth)?;
            let (agg, count) = match fixed {
                Some(f) => (f.agg.to_vec(), f.count),
                None => {
                    let (ptr, idx) = strength::strong_neighbours(&current, options.theta);
                    aggregate::aggregate(&ptr, &idx)
                }
            };
            // coarsening that stalls (or nothing to aggregate) ends the hierarchy here
            if fixed.is_none() && (count == 0 || count as f64 > 0.9 * current.nrows() as f64) {
                break;
            }
            let rho = smoother::spectral_radius(&current, &inv_diag, options.spectral_steps);
            if !(rho.is_finite() && rho > 0.0) {
                return Err(LinalgError::InvalidMatrix(format!(
                    "amg level {depth}: the spectral radius estimate of D⁻¹A is {rho}"
                )));
            }
            let t = prolong::tentative_weights(&agg, count);
            let p = prolong::smoothed_prolongator(&current, &inv_diag, &agg, &t, count, 4.0 / (3.0 * rho))?;
            let r = p.transpose()?;
            let ap = spgemm(&current, &p)?;
            let coarse = spgemm(&r, &ap)?;
            let smoother = Chebyshev {
                lo: rho / 30.0,
                hi: 1.1 * rho,
                degree: options.degree,
            };
            levels.push(Level {
                a: std::mem::replace(&mut current, coarse),
                inv_diag,
                p,
                r,
                smoother,
                agg,
                count,
            });
        }
        // Cholesky reads one triangle: only for a symmetric coarsest operator (the
        // Galerkin product of a symmetric matrix is symmetric up to rounding)
        let symmetric = a.is_symmetric(1e-12);
        let coarse = if current.is_symmetric(1e-10) {
            DirectSolver::new(&current, DirectKind::Cholesky)
                .or_else(|_| DirectSolver::new(&current, DirectKind::Lu))
        } else {
            DirectSolver::new(&current, DirectKind::Lu)
        }
        .map_err(|e| {
            LinalgError::Singular(format!(
                "amg: the coarsest operator ({} rows, level {}) cannot be factorised: {e}",
                current.nrows(),
                levels.len()
            ))
        })?;
        Ok(Self {
            levels,
            coarse,
            coarse_n: current.nrows(),
            coarse_nnz: current.nnz(),
            symmetric,
            options,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// Rows of each level's operator, finest first (the last is factorised).
    pub fn level_sizes(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self.levels.iter().map(|l| l.a.nrows()).collect();
        s.push(self.coarse_n);
        s
    }

    /// Operator complexity: stored entries of all levels over the finest's
    /// (what one cycle's SpMVs cost relative to one SpMV with `A`, per smoothing step).
    pub fn operator_complexity(&self) -> f64 {
        let fine = self.levels.first().map_or(self.coarse_nnz, |l| l.a.nnz()) as f64;
        let all: usize = self.levels.iter().map(|l| l.a.nnz()).sum::<usize>() + self.coarse_nnz;
        all as f64 / fine
    }

    /// The settings it was built with.
    pub fn options(&self) -> AmgOptions {
        self.options
    }

    fn workspace(&self) -> Workspace {
        if let Some(w) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return w;
        }
        let sizes = self.level_sizes();
        Workspace {
            b: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
            x: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
            scratch: sizes[..sizes.len() - 1]
                .iter()
                .map(|&n| Scratch::new(n))
                .collect(),
        }
    }

    /// The V-cycle from level `l` on `b`, result in `x`.
    fn cycle(&self, l: usize, b: &[f64], x: &mut [f64], w: &mut Workspace) {
        let Some(level) = self.levels.get(l) else {
            // the coarsest: a factorisation that succeeded at setup solves any right side
            if self.coarse.solve(b, x).is_err() {
                x.fill(0.0);
            }
            return;
        };
        let (bs, xs) = (&mut w.b, &mut w.x);
        let scratch = &mut w.scratch[l];
        level
            .smoother
            .smooth(&level.a, &level.inv_diag, b, x, true, scratch);
        // restricted residual b_c = R (b − A x)
        level.a.mul_vec(x, &mut scratch.t);
        for (t, &bi) in scratch.t.iter_mut().zip(b) {
            *t = bi - *t;
        }
        let (mut bc, mut xc) = (std::mem::take(&mut bs[l]), std::mem::take(&mut xs[l]));
        level.r.mul_vec(&scratch.t, &mut bc);
        self.cycle(l + 1, &bc, &mut xc, w);
        let scratch = &mut w.scratch[l];
        level.p.mul_vec(&xc, &mut scratch.t);
        for (xi, ti) in x.iter_mut().zip(&scratch.t) {
            *xi += ti;
        }
        w.b[l] = bc;
        w.x[l] = xc;
        level
            .smoother
            .smooth(&level.a, &level.inv_diag, b, x, false, scratch);
    }
}

fn check_options(o: &AmgOptions) -> Result<()> {
    let bad = |what: &str| Err(LinalgError::InvalidMatrix(format!("amg option {what}")));
    if !(o.theta.is_finite() && (0.0..1.0).contains(&o.theta)) {
        return bad(&format!("theta = {} must lie in [0, 1)", o.theta));
    }
    if o.degree == 0 {
        return bad("degree must be at least 1");
    }
    if o.max_levels == 0 {
        return bad("max_levels must be at least 1");
    }
    Ok(())
}

/// `1 / a_ii`, or an error naming the level and row of a zero or missing diagonal.
fn inverse_diagonal(a: &CsrMatrix, level: usize) -> Result<Vec<f64>> {
    a.diagonal()
        .iter()
        .enumerate()
        .map(|(row, &d)| {
            if d == 0.0 || !d.is_finite() {
                Err(LinalgError::ZeroPivot {
                    method: if level == 0 { "amg" } else { "amg (coarse level)" },
                    row,
                    pivot: d,
                })
            } else {
                Ok(1.0 / d)
            }
        })
        .collect()
}

impl Preconditioner for Amg {
    fn name(&self) -> &str {
        "amg"
    }
    fn dim(&self) -> usize {
        self.levels.first().map_or(self.coarse_n, |l| l.a.nrows())
    }
    fn apply(&self, r: &[f64], z: &mut [f64]) {
        assert!(
            r.len() == self.dim() && z.len() == self.dim(),
            "amg: vector length"
        );
        let mut w = self.workspace();
        self.cycle(0, r, z, &mut w);
        if let Ok(mut p) = self.pool.lock() {
            p.push(w);
        }
    }
    fn is_symmetric(&self) -> bool {
        self.symmetric
    }
}
