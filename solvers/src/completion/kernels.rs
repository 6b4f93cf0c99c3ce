//! The kernels every half-step spends its time in. A row first gathers the factor rows
//! its observations point to into contiguous memory — by rows in chunks for an exact
//! (ALS) row, whose Gram matrix a register-tiled kernel builds ([`gram_tiled`]) and a
//! small Cholesky solves ([`cholesky_solve`]); by columns, once, for a CG row, whose
//! normal-equation products are then long column passes ([`cols_normal_apply`]). Rows
//! too heavy to gather use the in-place product [`normal_apply`]. Each kernel is
//! compiled twice: for the baseline target, and for AVX2 + FMA, picked at run time when
//! the CPU has them (the way faer dispatches its own kernels). The crate is built for
//! the generic x86-64 target, whose 2-lane SSE2 code without fused multiply-add would
//! leave both solvers at a fraction of what the machine does; both get the same
//! treatment so that the ALS-versus-altmin comparison stays like for like (see
//! [`solvent_linalg::simd`]).

use solvent_linalg::avx2_fma_dispatch;
use solvent_linalg::simd::madd;

/// Rows and columns of one register tile of the Gram matrix: 4 × 8 accumulators (eight
/// 4-wide registers under AVX2) stay in registers over a whole chunk of observations.
const TILE_ROWS: usize = 4;
const TILE_COLS: usize = 8;

/// Observations gathered per chunk of an exact row: 256 gathered rows (128 KiB at
/// k = 64) stay in L2 while the tiles stream them.
pub const GRAM_CHUNK: usize = 256;

/// The padded width of a gathered factor row: k rounded up to a whole tile of columns.
pub fn padded_width(k: usize) -> usize {
    k.div_ceil(TILE_COLS) * TILE_COLS
}

/// Copies rows `idx` of the factor `f` (k columns) into `out`, one after the other with
/// stride [`padded_width`]`(k)`, zero-padded: the contiguous block the tiled Gram kernel
/// streams, instead of rows scattered across the factor.
pub fn gather_rows(idx: &[u32], f: &[f64], k: usize, out: &mut Vec<f64>) {
    let kp = padded_width(k);
    // every entry is written below: no need to clear what the buffer held
    out.resize(idx.len() * kp, 0.0);
    for (dst, &j) in out.chunks_exact_mut(kp).zip(idx) {
        dst[..k].copy_from_slice(&f[j as usize * k..(j as usize + 1) * k]);
        dst[k..].fill(0.0);
    }
}

avx2_fma_dispatch! {
    /// Adds `BᵀB` to the lower triangle of `g` (k × k, row-major: `g[r·k + c]` for c ≤ r)
    /// and `Bᵀval` to `rhs`, B being the gathered rows `b` ([`gather_rows`]: one row per
    /// entry of `val`, stride [`padded_width`]`(k)`). Entries above the diagonal are not
    /// touched.
    pub fn gram_tiled(b: &[f64], val: &[f64], k: usize, g: &mut [f64], rhs: &mut [f64]) => gram_tiled_impl
}

/// The Gram matrix tile by tile (a syrk): each 4 × 8 tile on or below the diagonal is
/// accumulated in registers over all rows of B — per row four broadcasts, two loads and
/// eight multiply-adds, no load or store of g — and the tiles of the last block row
/// carry `val` as a fifth row, which gives `rhs`.
#[inline(always)]
fn gram_tiled_impl<const FMA: bool>(b: &[f64], val: &[f64], k: usize, g: &mut [f64], rhs: &mut [f64]) {
    let kp = padded_width(k);
    assert!(b.len() == val.len() * kp && g.len() >= k * k && rhs.len() >= k);
    if k == 0 {
        return;
    }
    let last = (k - 1) / TILE_ROWS;
    for rb in 0..=last {
        let r0 = rb * TILE_ROWS;
        let c_end = (r0 + TILE_ROWS).min(k);
        for c0 in (0..c_end).step_by(TILE_COLS) {
            let (acc, acc_val) = if rb == last {
                tile::<FMA, true>(b, val, kp, r0, c0)
            } else {
                tile::<FMA, false>(b, val, kp, r0, c0)
            };
            for (ri, acc_r) in acc.iter().enumerate() {
                let r = r0 + ri;
                if r >= k {
                    break;
                }
                let c_hi = (r + 1).min(c0 + TILE_COLS);
                for (gc, a) in g[r * k + c0..r * k + c_hi].iter_mut().zip(acc_r) {
                    *gc += a;
                }
            }
            if rb == last {
                let c_hi = k.min(c0 + TILE_COLS);
                for (rc, a) in rhs[c0..c_hi].iter_mut().zip(&acc_val) {
                    *rc += a;
                }
            }
        }
    }
}

/// One tile: `Σ_t B[t, r0..r0+4]ᵀ B[t, c0..c0+8]` and, with `VAL`, `Σ_t val_t B[t, c0..c0+8]`.
#[inline(always)]
fn tile<const FMA: bool, const VAL: bool>(
    b: &[f64],
    val: &[f64],
    kp: usize,
    r0: usize,
    c0: usize,
) -> ([[f64; TILE_COLS]; TILE_ROWS], [f64; TILE_COLS]) {
    let mut acc = [[0.0; TILE_COLS]; TILE_ROWS];
    let mut acc_val = [0.0; TILE_COLS];
    for (row, &v) in b.chunks_exact(kp).zip(val) {
        let rs: &[f64; TILE_ROWS] = row[r0..r0 + TILE_ROWS].try_into().unwrap();
        let cs: &[f64; TILE_COLS] = row[c0..c0 + TILE_COLS].try_into().unwrap();
        for (acc_r, &a) in acc.iter_mut().zip(rs) {
            for (x, &c) in acc_r.iter_mut().zip(cs) {
                *x = madd::<FMA>(a, c, *x);
            }
        }
        if VAL {
            for (x, &c) in acc_val.iter_mut().zip(cs) {
                *x = madd::<FMA>(v, c, *x);
            }
        }
    }
    (acc, acc_val)
}

/// The most doubles a CG row gathers (n_i · k ≤ 2²⁰: 8 MiB per worker, whatever the
/// rank); heavier rows are read where they lie ([`gathers`]).
pub const GATHER_MAX_ENTRIES: usize = 1 << 20;

/// Whether a CG row with `n_i` observations at rank `k` is gathered ([`gather_cols`]).
pub fn gathers(n_i: usize, k: usize) -> bool {
    n_i.saturating_mul(k) <= GATHER_MAX_ENTRIES
}

/// Copies rows `idx` of the factor `f` (k columns) into `out` column by column: B is
/// n_i × k column-major (`out[c·n_i + t]` = component c of observation t, each component
/// contiguous), so that the products of a CG row are long vector operations over
/// contiguous memory instead of one short dot product per observation, and the
/// scattered rows are fetched once per half-step instead of once per CG iteration.
pub fn gather_cols(idx: &[u32], f: &[f64], k: usize, out: &mut Vec<f64>) {
    let n = idx.len();
    // every entry is written below: no need to clear what the buffer held
    out.resize(n * k, 0.0);
    let row = |j: u32| &f[j as usize * k..(j as usize + 1) * k];
    // eight observations at a time, so that each component is written as one run of
    // eight contiguous values (a cache line) rather than as eight scattered stores
    let blocks = n / 8 * 8;
    for (b, js) in idx[..blocks].chunks_exact(8).enumerate() {
        let rows: [&[f64]; 8] = std::array::from_fn(|l| row(js[l]));
        for (c, dst) in out.chunks_exact_mut(n).enumerate() {
            let dst: &mut [f64; 8] = (&mut dst[b * 8..b * 8 + 8]).try_into().unwrap();
            for (d, r) in dst.iter_mut().zip(&rows) {
                *d = r[c];
            }
        }
    }
    for (t, &j) in idx.iter().enumerate().skip(blocks) {
        for (dst, &v) in out.chunks_exact_mut(n).zip(row(j)) {
            dst[t] = v;
        }
    }
}

avx2_fma_dispatch! {
    /// `s = val − B x` and `r = Bᵀs − ridge·x` (the normal-equation residual
    /// `Fᵀm − (FᵀF + ridge·I) x` of a row), B being the gathered columns `cols`
    /// ([`gather_cols`]: n × k column-major, n = `val.len()`); `s` is scratch of length n.
    pub fn cols_residual(cols: &[f64], val: &[f64], k: usize, ridge: f64, x: &[f64], s: &mut [f64], r: &mut [f64]) => cols_residual_impl
}

#[inline(always)]
fn cols_residual_impl<const FMA: bool>(
    cols: &[f64],
    val: &[f64],
    k: usize,
    ridge: f64,
    x: &[f64],
    s: &mut [f64],
    r: &mut [f64],
) {
    assert!(x.len() == k && r.len() == k);
    s.copy_from_slice(val);
    cols_axpy::<FMA>(cols, -1.0, x, s);
    cols_tdot::<FMA>(cols, s, r);
    for (rc, xc) in r.iter_mut().zip(x) {
        *rc = madd::<FMA>(-ridge, *xc, *rc);
    }
}

avx2_fma_dispatch! {
    /// `q = Bᵀ(B p) + ridge·p` on the gathered columns `cols` ([`gather_cols`]: n × k
    /// column-major, n = `s.len()`): a CG row iteration's product, as two passes over
    /// contiguous memory.
    pub fn cols_normal_apply(cols: &[f64], k: usize, ridge: f64, p: &[f64], s: &mut [f64], q: &mut [f64]) => cols_normal_apply_impl
}

#[inline(always)]
fn cols_normal_apply_impl<const FMA: bool>(
    cols: &[f64],
    k: usize,
    ridge: f64,
    p: &[f64],
    s: &mut [f64],
    q: &mut [f64],
) {
    assert!(p.len() == k && q.len() == k);
    s.fill(0.0);
    cols_axpy::<FMA>(cols, 1.0, p, s);
    cols_tdot::<FMA>(cols, s, q);
    for (qc, pc) in q.iter_mut().zip(p) {
        *qc = madd::<FMA>(ridge, *pc, *qc);
    }
}

/// Columns of B per pass over s in [`cols_axpy`] and [`cols_tdot`]: eight loads of B per
/// eight multiply-adds, against one load (and one store) of s.
const COL_BLOCK: usize = 8;

/// `s += a·B y` for B = `cols` (n × k column-major, n = `s.len()`), eight columns per
/// pass over s (a last, partial block repeats its first column with weight 0).
#[inline(always)]
fn cols_axpy<const FMA: bool>(cols: &[f64], a: f64, y: &[f64], s: &mut [f64]) {
    let n = s.len();
    let k = y.len();
    assert!(cols.len() == n * k);
    let mut c = 0;
    while c < k {
        let w = COL_BLOCK.min(k - c);
        let ys: [f64; COL_BLOCK] = std::array::from_fn(|l| if l < w { a * y[c + l] } else { 0.0 });
        // past the last column: column c again, with weight 0
        let cs: [&[f64]; COL_BLOCK] = std::array::from_fn(|l| {
            let cl = if l < w { c + l } else { c };
            &cols[cl * n..cl * n + n]
        });
        for (t, st) in s.iter_mut().enumerate() {
            let mut v = *st;
            for l in 0..COL_BLOCK {
                v = madd::<FMA>(ys[l], cs[l][t], v);
            }
            *st = v;
        }
        c += w;
    }
}

/// `q = Bᵀ s` for B = `cols` (n × k column-major, n = `s.len()`): eight columns per pass
/// over s, each summed in four lanes (eight independent multiply-adds in flight).
#[inline(always)]
fn cols_tdot<const FMA: bool>(cols: &[f64], s: &[f64], q: &mut [f64]) {
    let n = s.len();
    let k = q.len();
    assert!(cols.len() == n * k);
    let chunks = n / 4;
    let mut c = 0;
    while c < k {
        let w = COL_BLOCK.min(k - c);
        let cs: [&[f64]; COL_BLOCK] = std::array::from_fn(|l| {
            let cl = if l < w { c + l } else { c };
            &cols[cl * n..cl * n + n]
        });
        let mut acc = [[0.0; 4]; COL_BLOCK];
        for i in 0..chunks {
            let sv: &[f64; 4] = s[4 * i..4 * i + 4].try_into().unwrap();
            for l in 0..COL_BLOCK {
                let b: &[f64; 4] = cs[l][4 * i..4 * i + 4].try_into().unwrap();
                for m in 0..4 {
                    acc[l][m] = madd::<FMA>(b[m], sv[m], acc[l][m]);
                }
            }
        }
        for l in 0..w {
            let mut t = (acc[l][0] + acc[l][1]) + (acc[l][2] + acc[l][3]);
            for (x, y) in cs[l][4 * chunks..].iter().zip(&s[4 * chunks..]) {
                t = madd::<FMA>(*x, *y, t);
            }
            q[c + l] = t;
        }
        c += w;
    }
}

/// `Σ a_t b_t` in four partial sums, so that it vectorises without the compiler having
/// to reassociate (a single running sum is one dependent multiply-add per term).
#[inline(always)]
fn dot4<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..4 {
            s[l] = madd::<FMA>(x[l], y[l], s[l]);
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ar.iter().zip(br) {
        t = madd::<FMA>(*x, *y, t);
    }
    t
}

avx2_fma_dispatch! {
    /// Solves `G x = rhs` for the symmetric positive definite `G` whose lower triangle
    /// `g` holds (k × k, row-major), by Cholesky `G = L Lᵀ` in place (`g` then holds L,
    /// `inv` the reciprocals of its diagonal, `rhs` the forward solve). Returns false —
    /// leaving `x` untouched — when a pivot is not positive and finite.
    pub fn cholesky_solve(g: &mut [f64], rhs: &mut [f64], inv: &mut [f64], k: usize, x: &mut [f64]) -> bool => cholesky_solve_impl
}

/// Left-looking (row-by-row) Cholesky whose inner products run over contiguous rows of
/// L in four partial sums, one division per column; the back substitution goes by
/// columns of Lᵀ (contiguous rows of L) as updates of the remaining right-hand side.
#[inline(always)]
fn cholesky_solve_impl<const FMA: bool>(
    g: &mut [f64],
    rhs: &mut [f64],
    inv: &mut [f64],
    k: usize,
    x: &mut [f64],
) -> bool {
    assert!(g.len() >= k * k && rhs.len() >= k && inv.len() >= k && x.len() >= k);
    for r in 0..k {
        let (done, row) = g.split_at_mut(r * k);
        let row = &mut row[..=r];
        for c in 0..r {
            let lc = &done[c * k..c * k + c];
            row[c] = (row[c] - dot4::<FMA>(&row[..c], lc)) * inv[c];
        }
        let d = row[r] - dot4::<FMA>(&row[..r], &row[..r]);
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        row[r] = d;
        inv[r] = 1.0 / d;
    }
    // L y = rhs
    for r in 0..k {
        rhs[r] = (rhs[r] - dot4::<FMA>(&g[r * k..r * k + r], &rhs[..r])) * inv[r];
    }
    // Lᵀ x = y, by columns of Lᵀ: once x_r is known, take L_{r,t} x_r off y_t for t < r
    for r in (0..k).rev() {
        let xr = rhs[r] * inv[r];
        x[r] = xr;
        let (lr, y) = (&g[r * k..r * k + r], &mut rhs[..r]);
        for (yt, l) in y.iter_mut().zip(lr) {
            *yt = madd::<FMA>(-xr, *l, *yt);
        }
    }
    true
}

avx2_fma_dispatch! {
    /// `q = Fᵀ(F p) + ridge·p` over the observed rows `idx` of F (k columns): the product
    /// a CG row iteration costs, O(n_i k), without forming FᵀF.
    pub fn normal_apply(idx: &[u32], f: &[f64], k: usize, ridge: f64, p: &[f64], q: &mut [f64]) => normal_apply_impl
}

/// Dot products in four partial sums ([`dot4`]), four observations per update of q.
#[inline(always)]
fn normal_apply_impl<const FMA: bool>(
    idx: &[u32],
    f: &[f64],
    k: usize,
    ridge: f64,
    p: &[f64],
    q: &mut [f64],
) {
    assert!(p.len() == k && q.len() == k);
    let frow = |j: u32| &f[j as usize * k..(j as usize + 1) * k];
    let dot = |a: &[f64]| dot4::<FMA>(a, p);
    for (qc, pc) in q.iter_mut().zip(p) {
        *qc = ridge * pc;
    }
    for js in idx.chunks_exact(4) {
        let (f0, f1, f2, f3) = (frow(js[0]), frow(js[1]), frow(js[2]), frow(js[3]));
        let (t0, t1, t2, t3) = (dot(f0), dot(f1), dot(f2), dot(f3));
        for c in 0..k {
            q[c] = madd::<FMA>(
                t3,
                f3[c],
                madd::<FMA>(t2, f2[c], madd::<FMA>(t1, f1[c], madd::<FMA>(t0, f0[c], q[c]))),
            );
        }
    }
    for &j in &idx[idx.len() / 4 * 4..] {
        let fj = frow(j);
        let t = dot(fj);
        for (qc, fc) in q.iter_mut().zip(fj) {
            *qc = madd::<FMA>(t, *fc, *qc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic fixed factor with `rows` rows of k columns.
    fn factor(rows: usize, k: usize) -> Vec<f64> {
        (0..rows * k)
            .map(|t| ((t * 7919 + 13) % 101) as f64 / 50.0 - 1.0)
            .collect()
    }

    #[test]
    fn kernels_match_the_plain_sums_at_every_rank_and_count() {
        // ranks off and on the 4-row and 8-column tiles and column blocks, counts with and
        // without a remainder of 4 and of 8
        for k in [1usize, 3, 4, 5, 8, 10, 12, 16, 17, 24, 29] {
            let f = factor(40, k);
            for n in [0usize, 1, 3, 4, 7, 9, 17, 35] {
                let idx: Vec<u32> = (0..n).map(|t| ((t * 17 + k) % 40) as u32).collect();
                let val: Vec<f64> = (0..n).map(|t| t as f64 * 0.3 - 1.0).collect();
                let p: Vec<f64> = (0..k).map(|c| 0.5 - c as f64 * 0.1).collect();
                // plain references
                let mut g_ref = vec![0.0; k * k];
                let mut rhs_ref = vec![0.0; k];
                let mut q_ref: Vec<f64> = p.iter().map(|v| 0.7 * v).collect();
                for (&j, &v) in idx.iter().zip(&val) {
                    let fj = &f[j as usize * k..(j as usize + 1) * k];
                    let t: f64 = fj.iter().zip(&p).map(|(a, b)| a * b).sum();
                    for r in 0..k {
                        rhs_ref[r] += v * fj[r];
                        q_ref[r] += t * fj[r];
                        for c in 0..=r {
                            g_ref[r * k + c] += fj[r] * fj[c];
                        }
                    }
                }
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
                let check = |g: &[f64], rhs: &[f64], q: &[f64], path: &str| {
                    for r in 0..k {
                        assert!(close(rhs[r], rhs_ref[r]), "{path} k={k} n={n} rhs[{r}]");
                        assert!(close(q[r], q_ref[r]), "{path} k={k} n={n} q[{r}]");
                        for c in 0..=r {
                            assert!(
                                close(g[r * k + c], g_ref[r * k + c]),
                                "{path} k={k} n={n} g[{r},{c}]"
                            );
                        }
                    }
                };
                let mut gathered = Vec::new();
                gather_rows(&idx, &f, k, &mut gathered);
                let mut cols = Vec::new();
                gather_cols(&idx, &f, k, &mut cols);
                // the residual at x = p: Fᵀm − (FᵀF + 0.7) p
                let r_ref: Vec<f64> = rhs_ref.iter().zip(&q_ref).map(|(a, b)| a - b).collect();
                type ColsApply = fn(&[f64], usize, f64, &[f64], &mut [f64], &mut [f64]);
                type ColsResidual = fn(&[f64], &[f64], usize, f64, &[f64], &mut [f64], &mut [f64]);
                let col_builds: [(&str, ColsApply, ColsResidual); 2] = [
                    ("dispatched", cols_normal_apply, cols_residual),
                    (
                        "baseline",
                        cols_normal_apply_impl::<false>,
                        cols_residual_impl::<false>,
                    ),
                ];
                for (path, apply, residual) in col_builds {
                    let (mut q, mut r, mut sc) = (vec![0.0; k], vec![0.0; k], vec![f64::NAN; n]);
                    apply(&cols, k, 0.7, &p, &mut sc, &mut q);
                    residual(&cols, &val, k, 0.7, &p, &mut sc, &mut r);
                    for c in 0..k {
                        assert!(close(q[c], q_ref[c]), "{path} columns k={k} n={n} q[{c}]");
                        assert!(
                            (r[c] - r_ref[c]).abs() <= 1e-12 * (1.0 + rhs_ref[c].abs() + q_ref[c].abs()),
                            "{path} columns k={k} n={n} residual[{c}]"
                        );
                    }
                }
                // the dispatched kernels (AVX2 + FMA where the CPU has them), then the
                // baseline build of the same kernels
                type Gram = fn(&[f64], &[f64], usize, &mut [f64], &mut [f64]);
                type Normal = fn(&[u32], &[f64], usize, f64, &[f64], &mut [f64]);
                let builds: [(&str, Gram, Normal); 2] = [
                    ("dispatched", gram_tiled, normal_apply),
                    ("baseline", gram_tiled_impl::<false>, normal_apply_impl::<false>),
                ];
                for (path, gram, normal) in builds {
                    // the Gram kernel adds to what g and rhs hold (chunks accumulate):
                    // start from 1 on and below the diagonal, a NaN sentinel above it
                    let mut g: Vec<f64> = (0..k * k)
                        .map(|t| if t % k <= t / k { 1.0 } else { f64::NAN })
                        .collect();
                    let (mut rhs, mut q) = (vec![1.0; k], vec![0.0; k]);
                    gram(&gathered, &val, k, &mut g, &mut rhs);
                    normal(&idx, &f, k, 0.7, &p, &mut q);
                    let g: Vec<f64> = g.iter().map(|v| v - 1.0).collect();
                    let rhs: Vec<f64> = rhs.iter().map(|v| v - 1.0).collect();
                    check(&g, &rhs, &q, path);
                    // above the diagonal: untouched
                    assert!(
                        (0..k).all(|r| (r + 1..k).all(|c| g[r * k + c].is_nan())),
                        "{path} k={k}"
                    );
                }
            }
        }
    }

    #[test]
    fn cholesky_solve_matches_a_dense_solve_and_refuses_an_indefinite_matrix() {
        use faer::linalg::solvers::Solve;
        for k in [1usize, 2, 5, 8, 16, 17, 33] {
            // G = BᵀB + I (SPD), lower triangle only, junk above the diagonal
            let b = factor(k + 3, k);
            let mut g = vec![f64::NAN; k * k];
            let mut dense = faer::Mat::<f64>::zeros(k, k);
            for r in 0..k {
                for c in 0..k {
                    let v: f64 = (0..k + 3).map(|t| b[t * k + r] * b[t * k + c]).sum::<f64>()
                        + if r == c { 1.0 } else { 0.0 };
                    dense[(r, c)] = v;
                    if c <= r {
                        g[r * k + c] = v;
                    }
                }
            }
            let rhs: Vec<f64> = (0..k).map(|r| 1.0 - 0.3 * r as f64).collect();
            let mut want = faer::Mat::<f64>::from_fn(k, 1, |r, _| rhs[r]);
            dense.partial_piv_lu().solve_in_place(want.as_mut());
            type Kernel = fn(&mut [f64], &mut [f64], &mut [f64], usize, &mut [f64]) -> bool;
            let paths: [(&str, Kernel); 2] = [
                ("dispatched", cholesky_solve),
                ("baseline", cholesky_solve_impl::<false>),
            ];
            for (path, kernel) in paths {
                let (mut g, mut y, mut inv, mut x) = (g.clone(), rhs.clone(), vec![0.0; k], vec![0.0; k]);
                assert!(kernel(&mut g, &mut y, &mut inv, k, &mut x), "{path} k={k}");
                for r in 0..k {
                    assert!(
                        (x[r] - want[(r, 0)]).abs() <= 1e-10 * (1.0 + want[(r, 0)].abs()),
                        "{path} k={k} x[{r}]"
                    );
                }
                // a negative pivot in the last row: refused, x untouched
                let mut bad: Vec<f64> = (0..k * k).map(|t| dense[(t / k, t % k)]).collect();
                bad[k * k - 1] = -1.0;
                let mut x2 = vec![7.0; k];
                assert!(
                    !kernel(&mut bad, &mut rhs.clone(), &mut inv, k, &mut x2),
                    "{path} k={k}"
                );
                assert!(x2.iter().all(|&v| v == 7.0));
            }
        }
    }
}
