//! Orthogonalisation against a Krylov basis: two-pass classical Gram–Schmidt.
//!
//! CGS2 reads the basis twice per new vector (`h = Vᵀw`, `w −= V h`, then once
//! more to correct) instead of modified Gram–Schmidt's one dependent pass per
//! basis vector, so it streams memory and parallelises; with the second pass
//! it is as stable as MGS in practice (Giraud, Langou, Rozložník 2005).

use crate::simd::madd;
use crate::vector::{dot_serial, PAR_MIN_LEN};
use rayon::prelude::*;

/// A block of `capacity` vectors of length `n`, stored column after column in
/// one allocation (no allocation per iteration). The default is an empty block.
#[derive(Clone, Debug, Default)]
pub struct Basis {
    n: usize,
    capacity: usize,
    data: Vec<f64>,
}

impl Basis {
    /// `capacity` zero vectors of length `n`.
    pub fn zeros(n: usize, capacity: usize) -> Self {
        Self {
            n,
            capacity,
            data: vec![0.0; n * capacity],
        }
    }
    /// Vector length.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of vectors held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Vector `j`.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.n..(j + 1) * self.n]
    }
    /// Vector `j`, mutable.
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.n..(j + 1) * self.n]
    }
    /// Vectors `0..j` as one column-major slice.
    pub fn first(&self, j: usize) -> &[f64] {
        &self.data[..j * self.n]
    }
    /// Vectors `0..j` as one column-major slice, mutable.
    pub fn first_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[..j * self.n]
    }
    /// Vector `j` mutably and vectors `0..j` immutably, at once.
    pub fn split_at_col(&mut self, j: usize) -> (&[f64], &mut [f64]) {
        let (head, tail) = self.data.split_at_mut(j * self.n);
        (head, &mut tail[..self.n])
    }
}

/// Rows per block in the Gram–Schmidt kernels for vectors of length `n`. Serial
/// sweeps (`n <` [`PAR_MIN_LEN`]) use 512-row blocks: a backward sweep reuses the
/// blocks the forward sweep before it left in L2, and the finer the blocks the more of
/// them are still there (at n = 10⁴ against 30 vectors, 2.4 MB, one CGS2 step took
/// 184 µs with 4096-row blocks swept forward only, 154 µs with 1024-row blocks
/// alternating, 150 µs with 512 and 171 µs with 256; `benches/kernels.rs`,
/// `cgs2_n1e4`). Parallel sweeps keep 4096-row tasks. A function of `n` alone, so
/// sums are the same on any thread count.
fn gs_rows(n: usize) -> usize {
    if n < PAR_MIN_LEN {
        512
    } else {
        4096
    }
}

/// Bytes of basis a block of the fused sweep ([`subtract_then_project`]) may span: it
/// reads the block twice, and the second read should come from a 2 MiB L2 cache.
const REUSE_BYTES: usize = 1 << 20;

/// Rows per block of the fused sweep over `j` basis vectors of length `n`:
/// [`gs_rows`]`(n)`, fewer when that block would pass [`REUSE_BYTES`] (at 75 vectors,
/// 4096-row blocks were 2.4 MB and the second read went to L3). A function of `n` and
/// `j` alone, so sums stay the same on any thread count.
fn reuse_rows(n: usize, j: usize) -> usize {
    // serial blocks may get short; parallel ones stay long enough to be worth a task
    let floor = if n < PAR_MIN_LEN { 64 } else { 512 };
    (REUSE_BYTES / (8 * j.max(1)) / 8 * 8).clamp(floor, gs_rows(n))
}

/// Which end of the vectors a serial sweep over row blocks starts from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sweep {
    /// First rows first.
    Forward,
    /// Last rows first: starts where a forward sweep ended, so when the basis is a
    /// little larger than L2 the blocks the previous sweep read last are still there.
    Backward,
}

/// Runs `f(block, rows)` over blocks of `rows` rows — in parallel for long vectors,
/// serially in `order` for short ones — and sums the per-block vectors of length `j`
/// in block order (deterministic whatever the thread count or order).
fn reduce_blocks(
    n: usize,
    rows: usize,
    j: usize,
    order: Sweep,
    out: &mut [f64],
    f: impl Fn(usize, usize, usize, &mut [f64]) + Sync,
) {
    debug_assert!(rows > 0);
    out.fill(0.0);
    if j == 0 {
        return;
    }
    let nb = n.div_ceil(rows);
    // one allocation for all per-block partial results
    let mut parts = vec![0.0; nb * j];
    let run = |(c, part): (usize, &mut [f64])| f(c, c * rows, ((c + 1) * rows).min(n), part);
    if n >= PAR_MIN_LEN {
        parts.par_chunks_mut(j).enumerate().for_each(run);
    } else if order == Sweep::Backward {
        parts.chunks_mut(j).enumerate().rev().for_each(run);
    } else {
        parts.chunks_mut(j).enumerate().for_each(run);
    }
    for p in parts.chunks(j) {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
}

/// `h = Vᵀ w` for the `j = h.len()` column-major vectors in `v`.
pub fn project(v: &[f64], n: usize, w: &[f64], h: &mut [f64]) {
    let j = h.len();
    debug_assert!(v.len() >= j * n && w.len() == n);
    reduce_blocks(n, gs_rows(n), j, Sweep::Forward, h, |_, s, e, part| {
        block_project(v, n, s, e, &w[s..e], part)
    });
}

crate::avx2_fma_dispatch! {
    /// `part[k] = v_k[s..e] · wb` for every basis vector k, four vectors at a
    /// time so each element of `wb` is loaded once per four dot products.
    fn block_project(v: &[f64], n: usize, s: usize, e: usize, wb: &[f64], part: &mut [f64]) => block_project_impl
}

/// Rows per step of [`block_project`]: eight lanes per basis vector, so the four
/// vectors of a sweep keep eight independent multiply-add chains (two 4-wide
/// registers each) — enough to cover the FMA latency.
const PROJECT_LANES: usize = 8;

#[inline(always)]
fn block_project_impl<const FMA: bool>(
    v: &[f64],
    n: usize,
    s: usize,
    e: usize,
    wb: &[f64],
    part: &mut [f64],
) {
    let j = part.len();
    let len = e - s;
    let body = len - len % PROJECT_LANES;
    let mut k = 0;
    while k + 4 <= j {
        let vs: [&[f64]; 4] = std::array::from_fn(|q| &v[(k + q) * n + s..(k + q) * n + e]);
        let acc = if FMA {
            lanes4_fast(vs, &wb[..body])
        } else {
            lanes4::<false>(vs, &wb[..body])
        };
        for (q, acc_q) in acc.iter().enumerate() {
            let mut t = ((acc_q[0] + acc_q[4]) + (acc_q[1] + acc_q[5]))
                + ((acc_q[2] + acc_q[6]) + (acc_q[3] + acc_q[7]));
            for r in body..len {
                t += vs[q][r] * wb[r];
            }
            part[k + q] = t;
        }
        k += 4;
    }
    for (kk, pk) in part.iter_mut().enumerate().skip(k) {
        *pk = dot_serial(&v[kk * n + s..kk * n + e], wb);
    }
}

/// `acc[q][l] = Σ_i vs[q][8i + l] · wb[8i + l]` over the whole of `wb` (a multiple of
/// [`PROJECT_LANES`] long): the lanes of four dot products, for the caller to add up.
#[inline(always)]
fn lanes4<const FMA: bool>(vs: [&[f64]; 4], wb: &[f64]) -> [[f64; PROJECT_LANES]; 4] {
    const L: usize = PROJECT_LANES;
    let mut acc = [[0.0f64; L]; 4];
    for (i, wl) in wb.chunks_exact(L).enumerate() {
        let wl: &[f64; L] = wl.try_into().unwrap();
        for (acc_q, vq) in acc.iter_mut().zip(&vs) {
            let vq: &[f64; L] = vq[i * L..(i + 1) * L].try_into().unwrap();
            for ((a, &x), &y) in acc_q.iter_mut().zip(vq).zip(wl) {
                *a = madd::<FMA>(x, y, *a);
            }
        }
    }
    acc
}

/// [`lanes4`] for the AVX2 + FMA build, written with intrinsics: left to itself the
/// compiler vectorised the loop across the four vectors instead of along them and spent
/// its time shuffling (`benches/kernels.rs`, `cgs2_n1e4`).
#[inline(always)]
fn lanes4_fast(vs: [&[f64]; 4], wb: &[f64]) -> [[f64; PROJECT_LANES]; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        // Only the AVX2 + FMA build of `block_project` (`FMA` true, which the dispatch
        // macro runs only on CPUs that have both) calls this; never call
        // `block_project_impl::<true>` directly.
        debug_assert!(crate::simd::has_avx2_fma());
        // SAFETY: see above: the CPU has AVX2 and FMA.
        unsafe { lanes4_avx2(vs, wb) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lanes4::<true>(vs, wb)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lanes4_avx2(vs: [&[f64]; 4], wb: &[f64]) -> [[f64; PROJECT_LANES]; 4] {
    use std::arch::x86_64::{_mm256_fmadd_pd, _mm256_loadu_pd, _mm256_setzero_pd, _mm256_storeu_pd};
    let len = wb.len();
    assert!(len.is_multiple_of(PROJECT_LANES) && vs.iter().all(|v| v.len() >= len));
    let mut acc = [_mm256_setzero_pd(); 8];
    let mut i = 0;
    while i < len {
        // SAFETY: i + 8 ≤ len ≤ the length of wb and of every vs[q] (asserted above).
        unsafe {
            let w0 = _mm256_loadu_pd(wb.as_ptr().add(i));
            let w1 = _mm256_loadu_pd(wb.as_ptr().add(i + 4));
            for (q, vq) in vs.iter().enumerate() {
                let p = vq.as_ptr().add(i);
                acc[2 * q] = _mm256_fmadd_pd(_mm256_loadu_pd(p), w0, acc[2 * q]);
                acc[2 * q + 1] = _mm256_fmadd_pd(_mm256_loadu_pd(p.add(4)), w1, acc[2 * q + 1]);
            }
        }
        i += PROJECT_LANES;
    }
    let mut out = [[0.0; PROJECT_LANES]; 4];
    for (q, o) in out.iter_mut().enumerate() {
        // SAFETY: each half of `o` holds four doubles.
        unsafe {
            _mm256_storeu_pd(o.as_mut_ptr(), acc[2 * q]);
            _mm256_storeu_pd(o.as_mut_ptr().add(4), acc[2 * q + 1]);
        }
    }
    out
}

crate::avx2_fma_dispatch! {
    /// `wc −= Σ_k h_k v_k[s..e]`, eight basis vectors per sweep over `wc` (then four, then
    /// one at a time), each element's terms added in basis order.
    fn block_subtract(v: &[f64], n: usize, s: usize, h: &[f64], wc: &mut [f64]) => block_subtract_impl
}

#[inline(always)]
fn block_subtract_impl<const FMA: bool>(v: &[f64], n: usize, s: usize, h: &[f64], wc: &mut [f64]) {
    let e = s + wc.len();
    let j = h.len();
    let mut k = 0;
    while k + 8 <= j {
        let vs: [&[f64]; 8] = std::array::from_fn(|q| &v[(k + q) * n + s..(k + q) * n + e]);
        let hs: [f64; 8] = std::array::from_fn(|q| -h[k + q]);
        for (i, wi) in wc.iter_mut().enumerate() {
            let mut t = *wi;
            for q in 0..8 {
                t = madd::<FMA>(hs[q], vs[q][i], t);
            }
            *wi = t;
        }
        k += 8;
    }
    while k + 4 <= j {
        let vs: [&[f64]; 4] = std::array::from_fn(|q| &v[(k + q) * n + s..(k + q) * n + e]);
        let hs = [-h[k], -h[k + 1], -h[k + 2], -h[k + 3]];
        for (i, wi) in wc.iter_mut().enumerate() {
            *wi = madd::<FMA>(
                hs[3],
                vs[3][i],
                madd::<FMA>(
                    hs[2],
                    vs[2][i],
                    madd::<FMA>(hs[1], vs[1][i], madd::<FMA>(hs[0], vs[0][i], *wi)),
                ),
            );
        }
        k += 4;
    }
    for (kk, &hk) in h.iter().enumerate().skip(k) {
        let vk = &v[kk * n + s..kk * n + e];
        wc.iter_mut()
            .zip(vk)
            .for_each(|(wi, &vi)| *wi = madd::<FMA>(-hk, vi, *wi));
    }
}

/// `w ← w − V h` for the `j = h.len()` column-major vectors in `v`.
pub fn subtract(v: &[f64], n: usize, h: &[f64], w: &mut [f64]) {
    let rows = gs_rows(n);
    let update = |c: usize, wc: &mut [f64]| block_subtract(v, n, c * rows, h, wc);
    if n < PAR_MIN_LEN {
        w.chunks_mut(rows).enumerate().for_each(|(c, wc)| update(c, wc));
    } else {
        w.par_chunks_mut(rows)
            .enumerate()
            .for_each(|(c, wc)| update(c, wc));
    }
}

/// `w ← w − V h`, then `g = Vᵀ w` on the updated `w`, block by block in one
/// sweep: each block of V is read once from memory for both. Returns `‖w‖²` of
/// the updated `w` (summed in the same sweep, in block order).
fn subtract_then_project(v: &[f64], n: usize, h: &[f64], w: &mut [f64], g: &mut [f64]) -> f64 {
    let j = h.len();
    let mut out = vec![0.0; j + 1];
    // Blocks of w are disjoint: hand each task its own block through raw parts.
    let wptr = SendPtr(w.as_mut_ptr());
    // backwards: `cgs2`'s first pass before it ended at the last rows, and the next
    // Krylov step's first pass starts at the first rows, where this sweep ends
    reduce_blocks(
        n,
        reuse_rows(n, j),
        j + 1,
        Sweep::Backward,
        &mut out,
        |_, s, e, part| {
            // SAFETY: every task gets a distinct block [s, e) of w, within 0..n.
            let wc = unsafe { std::slice::from_raw_parts_mut(wptr.get().add(s), e - s) };
            block_subtract(v, n, s, h, wc);
            let (gp, sq) = part.split_at_mut(j);
            block_project(v, n, s, e, wc, gp);
            sq[0] = dot_serial(wc, wc);
        },
    );
    g.copy_from_slice(&out[..j]);
    out[j]
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f64);
// SAFETY: used only to hand disjoint blocks of one slice to rayon tasks.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f64 {
        self.0
    }
}

/// Largest `‖Vᵀw‖ / ‖w‖` left by the first pass that counts as orthogonal: the
/// second pass's subtraction is skipped below it (it would change `w` by less than
/// this relative amount).
pub const ONE_PASS_ENOUGH: f64 = 1e-12;

/// Orthogonalises `w` against the first `h.len()` vectors of `v` (assumed
/// orthonormal) with two passes of classical Gram–Schmidt, storing the
/// projection coefficients in `h` (both passes summed). `scratch` must have
/// `h.len()` entries. Returns `‖w‖₂` after orthogonalisation.
///
/// The first pass's subtraction and the second pass's projection share one
/// sweep over the basis, so the basis is read three times, not four — and only
/// twice when that projection shows the first pass already left `w` orthogonal
/// to working accuracy (`‖Vᵀw‖ ≤` [`ONE_PASS_ENOUGH`]`·‖w‖`, the common case
/// without cancellation); with cancellation (`w` nearly in the span of `V`) the
/// second pass runs as always.
pub fn cgs2(v: &[f64], n: usize, w: &mut [f64], h: &mut [f64], scratch: &mut [f64]) -> f64 {
    if h.is_empty() {
        return crate::vector::norm2(w);
    }
    project(v, n, w, h);
    let ww = subtract_then_project(v, n, h, w, scratch).sqrt();
    let g = scratch.iter().map(|x| x * x).sum::<f64>().sqrt();
    if g <= ONE_PASS_ENOUGH * ww {
        return ww;
    }
    subtract(v, n, scratch, w);
    for (a, b) in h.iter_mut().zip(scratch.iter()) {
        *a += b;
    }
    crate::vector::norm2(w)
}

/// `u = V y` for the `j = y.len()` column-major vectors in `v`, in one sweep.
pub fn combine(v: &[f64], n: usize, y: &[f64], u: &mut [f64]) {
    u.fill(0.0);
    let neg: Vec<f64> = y.iter().map(|c| -c).collect();
    subtract(v, n, &neg, u);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{dot, norm2, scale};

    /// Every pair of the first `m` basis vectors has inner product δ_ab within `tol`.
    fn assert_orthonormal(basis: &Basis, m: usize, tol: f64) {
        for a in 0..m {
            for b in 0..m {
                let d = dot(basis.col(a), basis.col(b));
                let e = if a == b { 1.0 } else { 0.0 };
                assert!((d - e).abs() < tol, "n={} ({a},{b}) = {d}", basis.n());
            }
        }
    }

    #[test]
    fn cgs2_builds_an_orthonormal_basis_for_nearly_dependent_vectors() {
        // Columns that differ from a common vector by 1e-7 (condition number
        // ~1e7): one-pass classical Gram–Schmidt loses orthogonality here.
        for &n in &[200usize, 120_000] {
            let m = 12;
            let mut basis = Basis::zeros(n, m);
            let mut h = vec![0.0; m];
            let mut s = vec![0.0; m];
            for j in 0..m {
                let mut w: Vec<f64> = (0..n)
                    .map(|i| 1.0 + 1e-7 * ((i as f64 + 0.5) * (j as f64 + 1.0) * 0.001).sin())
                    .collect();
                let (prev, _) = basis.split_at_col(j);
                let nrm = cgs2(prev, n, &mut w, &mut h[..j], &mut s[..j]);
                scale(1.0 / nrm, &mut w);
                basis.col_mut(j).copy_from_slice(&w);
            }
            assert_orthonormal(&basis, m, 1e-12);
            assert!((norm2(basis.col(0)) - 1.0).abs() < 1e-14);
        }
    }

    #[test]
    fn one_pass_suffices_without_cancellation_and_the_basis_stays_orthonormal() {
        // well-spread vectors: the first pass leaves ‖Vᵀw‖ ~ 1e-16‖w‖, so the second
        // subtraction is skipped (h = the first pass's coefficients, to the bit) and the
        // basis is still orthonormal to working accuracy
        for &n in &[3000usize, 120_000] {
            let m = 10;
            let mut basis = Basis::zeros(n, m);
            let mut h = vec![0.0; m];
            let mut s = vec![0.0; m];
            let vec_j = |j: usize| -> Vec<f64> {
                (0..n)
                    .map(|i| ((i * 7919 + j * 104_729) % 1009) as f64 / 1009.0 - 0.5)
                    .collect()
            };
            for j in 0..m {
                let mut w = vec_j(j);
                let mut first = vec![0.0; j];
                project(basis.first(j), n, &w, &mut first);
                let (prev, _) = basis.split_at_col(j);
                let nrm = cgs2(prev, n, &mut w, &mut h[..j], &mut s[..j]);
                assert_eq!(&h[..j], &first[..], "n={n} j={j}: a second pass ran");
                assert!((nrm - norm2(&w)).abs() <= 1e-12 * nrm);
                scale(1.0 / nrm, &mut w);
                basis.col_mut(j).copy_from_slice(&w);
            }
            assert_orthonormal(&basis, m, 1e-13);
        }
    }

    #[test]
    fn project_matches_plain_dot_products_in_both_builds() {
        // lengths around the 8-lane body and past block ends (4096 = eight 512-row serial
        // blocks), counts around the 4-vector sweeps
        for n in [1, 7, 8, 9, 23, 64, 4096 + 13, 3 * 4096 + 5] {
            for j in 0..=9 {
                let v: Vec<f64> = (0..n * j)
                    .map(|i| ((i * 37 + 11) % 23) as f64 / 23.0 - 0.5)
                    .collect();
                let w: Vec<f64> = (0..n).map(|i| ((i * 7 + 3) % 19) as f64 / 19.0 - 0.4).collect();
                let plain: Vec<f64> = (0..j)
                    .map(|k| (0..n).map(|i| v[k * n + i] * w[i]).sum())
                    .collect();
                let mut h = vec![f64::NAN; j];
                project(&v, n, &w, &mut h);
                let mut base = vec![f64::NAN; j];
                block_project_impl::<false>(&v, n, 0, n, &w, &mut base);
                for k in 0..j {
                    let tol = 1e-12 * (n as f64);
                    assert!(
                        (h[k] - plain[k]).abs() <= tol,
                        "n {n}, j {j}, k {k}: {} vs {}",
                        h[k],
                        plain[k]
                    );
                    assert!((base[k] - plain[k]).abs() <= tol, "baseline n {n}, j {j}, k {k}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn intrinsics_lanes_equal_the_portable_fused_build_bit_for_bit() {
        if !crate::simd::has_avx2_fma() {
            return; // nothing to compare on this CPU
        }
        let len = 8 * 37;
        let data: Vec<Vec<f64>> = (0..4)
            .map(|q| {
                (0..len)
                    .map(|i| ((i * (q + 7) + 5) % 31) as f64 / 31.0 - 0.45)
                    .collect()
            })
            .collect();
        let wb: Vec<f64> = (0..len)
            .map(|i| ((i * 11 + 2) % 17) as f64 / 17.0 - 0.5)
            .collect();
        let vs: [&[f64]; 4] = std::array::from_fn(|q| data[q].as_slice());
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        let fast = unsafe { lanes4_avx2(vs, &wb) };
        // the same fused multiply-adds in the same order per lane
        assert_eq!(fast, lanes4::<true>(vs, &wb));
    }

    #[test]
    fn fused_sweep_with_shorter_blocks_matches_separate_passes() {
        // 300 vectors: blocks of reuse_rows(n, 300) < gs_rows(n) rows in the fused sweep
        let (n, j) = (10_007, 300);
        assert!(reuse_rows(n, j) < gs_rows(n));
        let v: Vec<f64> = (0..n * j).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
        let y: Vec<f64> = (0..j).map(|k| (k % 5) as f64 * 0.25 - 0.5).collect();
        assert_fused_sweep_matches_separate_passes(&v, n, &y);
    }

    #[test]
    fn backward_and_forward_sweeps_sum_to_the_same_bits() {
        // the per-block partial sums are added in block order whichever end the sweep
        // starts from, so the order only changes which blocks are still in cache
        let (n, j) = (10_007, 6);
        let v: Vec<f64> = (0..n * j)
            .map(|i| ((i * 37) % 101) as f64 / 101.0 - 0.5)
            .collect();
        let w: Vec<f64> = (0..n).map(|i| ((i * 13) % 29) as f64 / 29.0 - 0.5).collect();
        let mut sums = [vec![0.0; j], vec![0.0; j]];
        for (order, out) in [Sweep::Forward, Sweep::Backward].into_iter().zip(sums.iter_mut()) {
            reduce_blocks(n, gs_rows(n), j, order, out, |_, s, e, part| {
                block_project(&v, n, s, e, &w[s..e], part)
            });
        }
        assert_eq!(sums[0], sums[1]);
        // and the backward sweep does visit the blocks last first
        for (order, want_first) in [(Sweep::Forward, 0), (Sweep::Backward, n.div_ceil(gs_rows(n)) - 1)] {
            let visits = std::sync::Mutex::new(Vec::new());
            let mut out = vec![0.0; 1];
            reduce_blocks(n, gs_rows(n), 1, order, &mut out, |c, _, _, part| {
                visits.lock().unwrap().push(c);
                part[0] = 1.0;
            });
            let visits = visits.into_inner().unwrap();
            assert_eq!(visits[0], want_first, "{order:?}");
            assert_eq!(visits.len(), n.div_ceil(gs_rows(n)));
            assert_eq!(out[0], visits.len() as f64);
        }
        let mut h = vec![0.0; j];
        project(&v, n, &w, &mut h);
        assert_eq!(h, sums[0]);
        let plain: f64 = (0..n).map(|i| v[2 * n + i] * w[i]).sum();
        assert!((h[2] - plain).abs() <= 1e-10 * plain.abs().max(1.0));
    }

    /// The fused `subtract_then_project` against `subtract` then `project`: the same `w`
    /// bit for bit, the same `Vᵀw` and `‖w‖²` to rounding.
    fn assert_fused_sweep_matches_separate_passes(v: &[f64], n: usize, y: &[f64]) {
        let j = y.len();
        let w0: Vec<f64> = (0..n).map(|i| (i % 13) as f64).collect();
        let (mut w, mut g) = (w0.clone(), vec![0.0; j]);
        let sq = subtract_then_project(v, n, y, &mut w, &mut g);
        let mut w2 = w0;
        subtract(v, n, y, &mut w2);
        assert_eq!(w, w2);
        let mut g2 = vec![0.0; j];
        project(v, n, &w2, &mut g2);
        for k in 0..j {
            assert!((g[k] - g2[k]).abs() <= 1e-9 * g2[k].abs().max(1.0), "k {k}");
        }
        let sq2: f64 = w2.iter().map(|x| x * x).sum();
        assert!((sq - sq2).abs() <= 1e-9 * sq2);
    }

    #[test]
    fn combine_and_fused_sweep_match_plain_loops() {
        let (n, j) = (150_000, 5);
        let v: Vec<f64> = (0..n * j).map(|i| ((i * 31) % 17) as f64 - 8.0).collect();
        let y = [0.5, -1.0, 2.0, 0.25, 3.0];
        let mut u = vec![7.0; n];
        combine(&v, n, &y, &mut u);
        for i in [0, 4095, 4096, n - 1] {
            let e: f64 = (0..j).map(|k| y[k] * v[k * n + i]).sum();
            assert!((u[i] - e).abs() < 1e-12);
        }
        assert_fused_sweep_matches_separate_passes(&v, n, &y);
    }
}
