//! The two per-observation kernels every half-step spends its time in — the Gram
//! accumulation of an exact (ALS) row and the normal-equation product of a CG row — each
//! compiled twice: for the baseline target, and for AVX2 + FMA, picked at run time when
//! the CPU has them (the way faer dispatches its own kernels). The crate is built for
//! the generic x86-64 target, whose 2-lane SSE2 code without fused multiply-add would
//! leave both solvers at a fraction of what the machine does; both get the same
//! treatment so that the ALS-versus-altmin comparison stays like for like (see
//! [`solvent_linalg::simd`]).

use solvent_linalg::avx2_fma_dispatch;
use solvent_linalg::simd::madd;

avx2_fma_dispatch! {
    /// Adds `Σ_j f_j f_jᵀ` to the lower triangle of `g` (k × k, row-major: `g[r·k + c]`
    /// for c ≤ r) and `Σ_j v_j f_j` to `rhs`, over the observations (`idx`, `val`) of one
    /// row, `f_j` being row j of the fixed factor `f` (k columns). Entries above the
    /// diagonal may be written too (rows are rounded up to a multiple of 4 so the inner
    /// loops have no scalar tails); they are never meaningful.
    pub fn gram_lower(idx: &[u32], val: &[f64], f: &[f64], k: usize, g: &mut [f64], rhs: &mut [f64]) => gram_lower_impl
}

/// Four observations per pass over the triangle (a rank-4 update: one load and store of
/// g per four multiply-adds), then the remaining ones singly.
#[inline(always)]
fn gram_lower_impl<const FMA: bool>(
    idx: &[u32],
    val: &[f64],
    f: &[f64],
    k: usize,
    g: &mut [f64],
    rhs: &mut [f64],
) {
    assert!(g.len() >= k * k && rhs.len() >= k && idx.len() == val.len());
    let row_len = |r: usize| ((r + 4) & !3).min(k);
    let frow = |j: u32| &f[j as usize * k..(j as usize + 1) * k];
    for (js, vs) in idx.chunks_exact(4).zip(val.chunks_exact(4)) {
        let (f0, f1, f2, f3) = (frow(js[0]), frow(js[1]), frow(js[2]), frow(js[3]));
        for r in 0..k {
            let (a0, a1, a2, a3) = (f0[r], f1[r], f2[r], f3[r]);
            rhs[r] = madd::<FMA>(
                vs[3],
                a3,
                madd::<FMA>(vs[2], a2, madd::<FMA>(vs[1], a1, madd::<FMA>(vs[0], a0, rhs[r]))),
            );
            let len = row_len(r);
            let gr = &mut g[r * k..r * k + len];
            let (b0, b1, b2, b3) = (&f0[..len], &f1[..len], &f2[..len], &f3[..len]);
            for c in 0..len {
                gr[c] = madd::<FMA>(
                    a3,
                    b3[c],
                    madd::<FMA>(a2, b2[c], madd::<FMA>(a1, b1[c], madd::<FMA>(a0, b0[c], gr[c]))),
                );
            }
        }
    }
    let rest = idx.len() / 4 * 4;
    for (&j, &v) in idx[rest..].iter().zip(&val[rest..]) {
        let fj = frow(j);
        for r in 0..k {
            let fr = fj[r];
            rhs[r] = madd::<FMA>(v, fr, rhs[r]);
            let len = row_len(r);
            for (gc, fc) in g[r * k..r * k + len].iter_mut().zip(&fj[..len]) {
                *gc = madd::<FMA>(fr, *fc, *gc);
            }
        }
    }
}

avx2_fma_dispatch! {
    /// `q = Fᵀ(F p) + ridge·p` over the observed rows `idx` of F (k columns): the product
    /// a CG row iteration costs, O(n_i k), without forming FᵀF.
    pub fn normal_apply(idx: &[u32], f: &[f64], k: usize, ridge: f64, p: &[f64], q: &mut [f64]) => normal_apply_impl
}

/// Dot products in four partial sums (so they vectorise without reassociation by the
/// compiler), four observations per update of q.
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
    let dot = |a: &[f64]| {
        let mut s = [0.0; 4];
        let (ac, pc) = (a.chunks_exact(4), p.chunks_exact(4));
        let (ar, pr) = (ac.remainder(), pc.remainder());
        for (x, y) in ac.zip(pc) {
            for l in 0..4 {
                s[l] = madd::<FMA>(x[l], y[l], s[l]);
            }
        }
        let mut t = (s[0] + s[1]) + (s[2] + s[3]);
        for (x, y) in ar.iter().zip(pr) {
            t = madd::<FMA>(*x, *y, t);
        }
        t
    };
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
        // ranks off and on the 4-wide blocks, counts with and without a remainder of 4
        for k in [1usize, 3, 4, 5, 8, 10, 16, 17] {
            let f = factor(40, k);
            for n in [0usize, 1, 3, 4, 7, 9] {
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
                // the dispatched kernels (AVX2 + FMA where the CPU has them)
                let (mut g, mut rhs, mut q) = (vec![0.0; k * k], vec![0.0; k], vec![0.0; k]);
                gram_lower(&idx, &val, &f, k, &mut g, &mut rhs);
                normal_apply(&idx, &f, k, 0.7, &p, &mut q);
                check(&g, &rhs, &q, "dispatched");
                // the baseline build of the same kernels
                let (mut g, mut rhs, mut q) = (vec![0.0; k * k], vec![0.0; k], vec![0.0; k]);
                gram_lower_impl::<false>(&idx, &val, &f, k, &mut g, &mut rhs);
                normal_apply_impl::<false>(&idx, &f, k, 0.7, &p, &mut q);
                check(&g, &rhs, &q, "baseline");
            }
        }
    }
}
