//! The per-row least-squares problems of a half-step, solved in parallel over rows:
//! for row i with observed set Ω_i, `min_x ‖F_{Ω_i} x − m_i‖² + λ n_i ‖x‖²` where F is the
//! fixed factor (row-major, k columns) and n_i = |Ω_i| (the ALS-WR scaling).

use super::kernels::{self, normal_apply};
use super::omega::Side;
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef};
use rayon::prelude::*;
use solvent_linalg::cg::{pcg, PrecondFn};
use solvent_linalg::vector::dot;

/// How each row's regression is solved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowSolver {
    /// Cholesky of the k × k normal equations (ALS): O(n_i k² + k³).
    Exact,
    /// CG on the normal equations without forming them, warm-started from the current
    /// row, stopped when the residual fell by `reduction` or after `max_iters`:
    /// O(n_i k) per iteration. Rows with at least `sketch_above` observations that plain
    /// CG leaves short of the reduction are finished by sketch-and-precondition (see
    /// [`sketch_cg_row`]); 0 disables it.
    Cg {
        /// Target ‖r‖/‖r₀‖ of each row's normal-equation residual.
        reduction: f64,
        /// Iteration cap per row.
        max_iters: usize,
        /// Observation count from which a row is sketch-preconditioned (0: never).
        sketch_above: usize,
    },
}

/// Work counters of a half-step.
#[derive(Clone, Copy, Debug, Default)]
pub struct HalfStepStats {
    /// CG iterations over all rows (0 for exact).
    pub cg_iterations: usize,
    /// Rows solved.
    pub rows: usize,
}

/// Updates every row of `out` (rows × k, row-major) from the fixed factor `fixed`.
/// Rows with no observation are set to zero.
pub fn half_step(
    side: Side<'_>,
    fixed: &[f64],
    out: &mut [f64],
    k: usize,
    lambda: f64,
    solver: RowSolver,
) -> HalfStepStats {
    half_step_rows(side, fixed, out, k, lambda, solver, 0)
}

/// [`half_step`] on a block of rows that starts at row `first_row` of the whole matrix
/// (`side` and `out` hold the block's rows only): each row is solved exactly as in the
/// whole half-step — the sketch of a long row is seeded by its global row number — so
/// that rows split over processes give the same factors.
pub fn half_step_rows(
    side: Side<'_>,
    fixed: &[f64],
    out: &mut [f64],
    k: usize,
    lambda: f64,
    solver: RowSolver,
    first_row: usize,
) -> HalfStepStats {
    let its: usize = out
        .par_chunks_mut(k)
        .enumerate()
        .map_init(
            // k² + 2k for an exact row, 4k for a CG row's recurrence
            || (vec![0.0; (k * k + 2 * k).max(4 * k)], Vec::new(), Vec::new()),
            |(scratch, gathered, s), (i, x)| {
                let (a, b) = (side.ptr[i], side.ptr[i + 1]);
                let (idx, val) = (&side.idx[a..b], &side.val[a..b]);
                if idx.is_empty() {
                    x.fill(0.0);
                    return 0;
                }
                let ridge = lambda * idx.len() as f64;
                match solver {
                    RowSolver::Exact => {
                        exact_row(idx, val, fixed, k, ridge, scratch, gathered, x);
                        0
                    }
                    RowSolver::Cg {
                        reduction,
                        max_iters,
                        sketch_above,
                    } => {
                        // plain CG first: on well-conditioned rows (the common case) it
                        // reaches the reduction in a few iterations, and building the sketch
                        // would cost more than it saves (2x per sweep at 10⁸ entries, rank 10)
                        let (its, reached) = if kernels::gathers(idx.len(), k) {
                            kernels::gather_cols(idx, fixed, k, gathered);
                            s.resize(idx.len(), 0.0);
                            let mut op = Gathered {
                                cols: gathered,
                                val,
                                k,
                                ridge,
                                s,
                            };
                            pcg_row(&mut op, k, reduction, max_iters, x, None, scratch)
                        } else {
                            let mut op = Scattered {
                                idx,
                                val,
                                f: fixed,
                                k,
                                ridge,
                            };
                            pcg_row(&mut op, k, reduction, max_iters, x, None, scratch)
                        };
                        if !reached && sketch_above > 0 && idx.len() >= sketch_above {
                            its + sketch_cg_row(
                                idx,
                                val,
                                fixed,
                                k,
                                ridge,
                                reduction,
                                max_iters,
                                (first_row + i) as u64,
                                x,
                            )
                        } else {
                            its
                        }
                    }
                }
            },
        )
        .sum();
    HalfStepStats {
        cg_iterations: its,
        rows: out.len() / k.max(1),
    }
}

/// Exact solve of `(FᵀF + ridge·I) x = Fᵀm` (a tiny shift when singular) by an in-place
/// Cholesky of the k × k Gram matrix in buffers reused across the rows of a rayon job
/// (`scratch`: k² + 2k; `gathered`: a chunk of factor rows). The Gram matrix is built
/// chunk by chunk from gathered rows by a register-tiled kernel — inside the two-thread
/// sweep it measured faster than faer's triangular matmul on the same gathered rows at
/// rank 16 and the same at 64, though faer's is faster alone on one thread (README) —
/// and factorised by a small in-place Cholesky (faer's costs more in setup than the work
/// at k ≈ 16): a strong ALS baseline. A Gram matrix that is not positive definite even
/// after the shift falls back to faer's LU.
#[allow(clippy::too_many_arguments)]
fn exact_row(
    idx: &[u32],
    val: &[f64],
    f: &[f64],
    k: usize,
    ridge: f64,
    scratch: &mut [f64],
    gathered: &mut Vec<f64>,
    x: &mut [f64],
) {
    let (g, rest) = scratch.split_at_mut(k * k);
    let (rhs, inv) = rest.split_at_mut(k);
    g.fill(0.0);
    rhs.fill(0.0);
    for (ic, vc) in idx
        .chunks(kernels::GRAM_CHUNK)
        .zip(val.chunks(kernels::GRAM_CHUNK))
    {
        kernels::gather_rows(ic, f, k, gathered);
        kernels::gram_tiled(gathered, vc, k, g, rhs);
    }
    let trace: f64 = (0..k).map(|c| g[c * k + c]).sum();
    let shift = ridge.max(1e-12 * trace / k as f64);
    for c in 0..k {
        g[c * k + c] += shift;
    }
    if k >= FAER_CHOLESKY_FROM {
        // g's lower triangle (row-major) as a full symmetric matrix for faer
        let m = Mat::<f64>::from_fn(k, k, |i, j| if j <= i { g[i * k + j] } else { g[j * k + i] });
        match m.llt(faer::Side::Lower) {
            Ok(l) => {
                let sol = l.solve(MatRef::from_column_major_slice(rhs, k, 1));
                for (c, xc) in x.iter_mut().enumerate() {
                    *xc = sol[(c, 0)];
                }
            }
            Err(_) => dense_fallback(idx, val, f, k, shift, x),
        }
        return;
    }
    if !kernels::cholesky_solve(g, rhs, inv, k, x) {
        dense_fallback(idx, val, f, k, shift, x);
    }
}

/// From this rank on an exact row's k × k system is factorised by faer's blocked
/// Cholesky instead of [`kernels::cholesky_solve`]: on MovieLens-100k (few observations
/// per row, so the k³ factorisation dominates) ALS sweeps took 0.79 s instead of 1.04 s
/// at rank 128 and 8.8 s instead of 19.9 s at rank 400, 0.23 against 0.25 s at 64, but
/// 0.08 against 0.05 s at rank 16 (faer's set-up); on the bench's 400 observations per
/// row the two tie at 64.
const FAER_CHOLESKY_FROM: usize = 64;

/// LU on the shifted Gram matrix (rows whose Gram matrix is numerically indefinite).
fn dense_fallback(idx: &[u32], val: &[f64], f: &[f64], k: usize, shift: f64, x: &mut [f64]) {
    let mut g = Mat::<f64>::zeros(k, k);
    let mut rhs = Mat::<f64>::zeros(k, 1);
    for (&j, &v) in idx.iter().zip(val) {
        let fj = &f[j as usize * k..(j as usize + 1) * k];
        for c in 0..k {
            rhs[(c, 0)] += v * fj[c];
            for r in 0..k {
                g[(r, c)] += fj[r] * fj[c];
            }
        }
    }
    for c in 0..k {
        g[(c, c)] += shift;
    }
    g.partial_piv_lu().solve_in_place(rhs.as_mut());
    for c in 0..k {
        x[c] = rhs[(c, 0)];
    }
}

/// Warm-started CG on the normal equations of one row; returns the iterations taken.
#[allow(clippy::too_many_arguments)]
pub fn cg_row(
    idx: &[u32],
    val: &[f64],
    f: &[f64],
    k: usize,
    ridge: f64,
    reduction: f64,
    max_iters: usize,
    x: &mut [f64],
) -> usize {
    let mut op = Scattered {
        idx,
        val,
        f,
        k,
        ridge,
    };
    pcg_row(&mut op, k, reduction, max_iters, x, None, &mut vec![0.0; 4 * k]).0
}

/// The normal-equation operator `FᵀF + ridge·I` of one row, with its right side `Fᵀm`.
trait RowNormal {
    /// `q = (FᵀF + ridge·I) p`.
    fn apply(&mut self, p: &[f64], q: &mut [f64]);
    /// `r = Fᵀm − (FᵀF + ridge·I) x`.
    fn residual(&mut self, x: &[f64], r: &mut [f64]);
}

/// The row's factor rows read where they lie in F (any row size; heavy rows).
struct Scattered<'a> {
    idx: &'a [u32],
    val: &'a [f64],
    f: &'a [f64],
    k: usize,
    ridge: f64,
}

impl RowNormal for Scattered<'_> {
    fn apply(&mut self, p: &[f64], q: &mut [f64]) {
        normal_apply(self.idx, self.f, self.k, self.ridge, p, q);
    }
    fn residual(&mut self, x: &[f64], r: &mut [f64]) {
        let k = self.k;
        normal_apply(self.idx, self.f, k, self.ridge, x, r);
        r.iter_mut().for_each(|v| *v = -*v);
        for (&j, &v) in self.idx.iter().zip(self.val) {
            let fj = &self.f[j as usize * k..(j as usize + 1) * k];
            for (rc, fc) in r.iter_mut().zip(fj) {
                *rc += v * fc;
            }
        }
    }
}

/// The row's factor rows gathered column by column ([`kernels::gather_cols`]), with a
/// scratch vector of one entry per observation.
struct Gathered<'a> {
    cols: &'a [f64],
    val: &'a [f64],
    k: usize,
    ridge: f64,
    s: &'a mut [f64],
}

impl RowNormal for Gathered<'_> {
    fn apply(&mut self, p: &[f64], q: &mut [f64]) {
        kernels::cols_normal_apply(self.cols, self.k, self.ridge, p, self.s, q);
    }
    fn residual(&mut self, x: &[f64], r: &mut [f64]) {
        kernels::cols_residual(self.cols, self.val, self.k, self.ridge, x, self.s, r);
    }
}

/// Preconditioned CG ([`solvent_linalg::cg::pcg`]) on `(FᵀF + ridge·I) x = Fᵀm` from the
/// current `x`, `precond(r, z)` applying M⁻¹ (`None`: no preconditioner); stops when the (unpreconditioned) residual fell by `reduction` or after
/// `max_iters`, returning the iterations taken and whether the reduction was reached.
/// `work` holds the four k-vectors of the recurrence (at least 4k; reused from row to
/// row by the half-step, so a row allocates nothing).
#[allow(clippy::too_many_arguments)]
fn pcg_row(
    op: &mut impl RowNormal,
    k: usize,
    reduction: f64,
    max_iters: usize,
    x: &mut [f64],
    precond: PrecondFn<'_, '_>,
    work: &mut [f64],
) -> (usize, bool) {
    let (r, rest) = work[..4 * k].split_at_mut(k);
    op.residual(x, r);
    let stop = reduction * reduction * dot(r, r);
    let apply = |p: &[f64], q: &mut [f64]| -> std::result::Result<(), std::convert::Infallible> {
        op.apply(p, q);
        Ok(())
    };
    match pcg(x, r, rest, stop, max_iters, apply, precond) {
        Ok(out) => (out.iterations, out.rr <= stop),
        Err(never) => match never {},
    }
}

/// SplitMix64: the deterministic hash behind the sketch and the sample split.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sketch-and-precondition for a row with n_i ≫ k² observations: a CountSketch of the
/// n_i × k regression matrix to 2k² rows (each observation added, with a random sign, to
/// one random row: O(n_i k); 2k² rows make it a subspace embedding), stacked on
/// √ridge·I, QR'd to R (k × k, O(k⁴)); then CG on the normal equations preconditioned by
/// M = RᵀR ≈ FᵀF + ridge·I, whose condition number is O(1) whatever F's, so the
/// iteration count no longer depends on the conditioning. Same stopping rule as
/// [`cg_row`]; returns the iterations taken.
#[allow(clippy::too_many_arguments)]
pub fn sketch_cg_row(
    idx: &[u32],
    val: &[f64],
    f: &[f64],
    k: usize,
    ridge: f64,
    reduction: f64,
    max_iters: usize,
    seed: u64,
    x: &mut [f64],
) -> usize {
    let s = (2 * k * k).min(idx.len()).max(k);
    let mut sk = Mat::<f64>::zeros(s + k, k);
    for (t, &j) in idx.iter().enumerate() {
        let h = mix(seed.wrapping_mul(0x1000_0000_01B3) ^ t as u64);
        let (row, sign) = ((h % s as u64) as usize, if h >> 63 == 0 { 1.0 } else { -1.0 });
        let fj = &f[j as usize * k..(j as usize + 1) * k];
        for c in 0..k {
            sk[(row, c)] += sign * fj[c];
        }
    }
    let sr = ridge.sqrt();
    for c in 0..k {
        sk[(s + c, c)] = sr;
    }
    let r = sk.qr().thin_R().to_owned();
    if (0..k).any(|c| r[(c, c)] == 0.0 || !r[(c, c)].is_finite()) {
        return cg_row(idx, val, f, k, ridge, reduction, max_iters, x);
    }
    // z = M⁻¹ r = R⁻¹ R⁻ᵀ r
    let mut precond = |rv: &[f64], z: &mut [f64]| {
        for a in 0..k {
            let mut acc = rv[a];
            for b in 0..a {
                acc -= r[(b, a)] * z[b];
            }
            z[a] = acc / r[(a, a)];
        }
        for a in (0..k).rev() {
            let mut acc = z[a];
            for b in a + 1..k {
                acc -= r[(a, b)] * z[b];
            }
            z[a] = acc / r[(a, a)];
        }
    };
    let mut op = Scattered {
        idx,
        val,
        f,
        k,
        ridge,
    };
    pcg_row(
        &mut op,
        k,
        reduction,
        max_iters,
        x,
        Some(&mut precond),
        &mut vec![0.0; 4 * k],
    )
    .0
}
