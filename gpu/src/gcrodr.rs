//! Device-resident GCRO-DR(m, k): GMRES with a recycled subspace, carried from one solve
//! to the next along a sequence (Parks et al. 2006; the CPU solver is
//! `solvent_solvers::krylov::GcroDr`, and both share the small dense refresh
//! [`harmonic_ritz_coefficients`]).
//!
//! Right-preconditioned with Jacobi: `U` lives in the preconditioned variable and
//! `C = A M⁻¹ U` has orthonormal columns. The basis buffer holds `[C, V]`, so an Arnoldi
//! step is the GMRES step over `kk + j + 1` columns (its first `kk` coefficients are the
//! column of `B = Cᵀ A M⁻¹ V`), with one read-back of that column. Per cycle the device
//! also computes `[C V]ᵀ U` (one read-back), the CPU solves the small harmonic Ritz
//! problem, and the device forms the new `C = [C V] Q` and `U = [U D, V] P R⁻¹` as block
//! combinations. When the matrix changes, `C = A M⁻¹ U` is recomputed and
//! re-orthonormalised (Cholesky of the Gram matrix on the CPU, `C R⁻¹`, `U R⁻¹` on the
//! device).

use crate::context::{from_bytes, to_bytes, GpuContext, Precision};
use crate::error::{GpuError, Result};
use crate::kernels::{record, Launch, Module};
use crate::matrix::{check_finite, GpuMatrix};
use faer::{Mat, Side};
use solvent_linalg::small::{harmonic_ritz_coefficients, rotate_column, solve_triangular, SmallCycle};
use std::sync::Arc;

/// Settings of a device GCRO-DR solve.
#[derive(Clone, Copy, Debug)]
pub struct GcroDrSettings {
    /// Relative tolerance on the residual estimate ‖r‖/‖b‖.
    pub tol: f64,
    /// Iteration (Arnoldi step) limit.
    pub max_iters: usize,
    /// Jacobi right preconditioning.
    pub jacobi: bool,
    /// Stop (not converged) at the first cycle start after this instant.
    pub deadline: Option<std::time::Instant>,
}

impl Default for GcroDrSettings {
    fn default() -> Self {
        Self {
            tol: 1e-8,
            max_iters: 10_000,
            jacobi: true,
            deadline: None,
        }
    }
}

/// Outcome of one [`GpuGcroDr::solve`].
#[derive(Clone, Debug)]
pub struct GcroDrResult {
    /// The final iterate.
    pub x: Vec<f64>,
    /// Arnoldi steps taken.
    pub iterations: usize,
    /// Residual estimate ‖r‖/‖b‖ at the end (recomputed on the device at the last cycle start).
    pub est_relres: f64,
    /// Whether the estimate reached `tol`.
    pub converged: bool,
    /// Recycled vectors at the start of the solve.
    pub recycled_at_start: usize,
}

/// A GCRO-DR(m, k) solver whose recycled space (`U`, `C`) stays on the device between
/// solves of one size.
pub struct GpuGcroDr {
    ctx: Arc<GpuContext>,
    prec: Precision,
    n: usize,
    m: usize,
    k: usize,
    cv: wgpu::Buffer,
    u: wgpu::Buffer,
    out1: wgpu::Buffer,
    out2: wgpu::Buffer,
    kk: usize,
    d: Vec<f64>,
}

impl std::fmt::Debug for GpuGcroDr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GpuGcroDr(m = {}, k = {}, recycled {})",
            self.m, self.k, self.kk
        )
    }
}

/// Launch builder over the Gmres module.
struct Kit<'a> {
    ctx: &'a GpuContext,
    prec: Precision,
    np: u32,
}

impl Kit<'_> {
    fn launch(
        &self,
        entry: &'static str,
        params: &wgpu::Buffer,
        wide: bool,
        binds: &[(u32, &wgpu::Buffer)],
    ) -> Result<Launch> {
        let pipeline = self.ctx.pipeline(Module::Gmres, entry, self.prec)?;
        let mut all = vec![(0u32, params)];
        all.extend_from_slice(binds);
        Ok(Launch {
            group: self.ctx.bind(&pipeline, &all),
            pipeline,
            x: if wide { self.np } else { 1 },
            y: 1,
        })
    }
    fn finish(&self, params: &wgpu::Buffer, part: &wgpu::Buffer, out: &wgpu::Buffer) -> Result<Launch> {
        let pipeline = self.ctx.pipeline(Module::Finish, "main", self.prec)?;
        Ok(Launch {
            group: self.ctx.bind(&pipeline, &[(0, params), (1, part), (2, out)]),
            pipeline,
            x: 1,
            y: 1,
        })
    }
}

fn with_y(l: &Launch, y: usize) -> Launch {
    Launch {
        pipeline: l.pipeline.clone(),
        group: l.group.clone(),
        x: l.x,
        y: y as u32,
    }
}

impl GpuGcroDr {
    /// A solver for systems of order `n` with basis size `m` and `k < m` recycled vectors.
    pub fn new(ctx: &Arc<GpuContext>, n: usize, m: usize, k: usize, prec: Precision) -> Result<Self> {
        if m < 2 || k == 0 || k >= m {
            return Err(GpuError::Setting(format!(
                "GCRO-DR needs restart m ≥ 2 and 1 ≤ recycle k < m, got m = {m}, k = {k}"
            )));
        }
        ctx.check_precision(prec)?;
        if ((m + 1) * k) as u64 > ctx.max_groups() as u64 {
            return Err(GpuError::Setting(format!(
                "GCRO-DR({m}, {k}) needs (m+1)·k = {} Gram entries per launch, over the adapter's {} workgroups per dimension; use a smaller restart or recycle dimension",
                (m + 1) * k,
                ctx.max_groups()
            )));
        }
        ctx.check_fits(
            "the GCRO-DR basis [C V]",
            (m as u64 + 1) * n as u64 * prec.bytes(),
            "use a smaller --restart",
        )?;
        Ok(Self {
            ctx: ctx.clone(),
            prec,
            n,
            m,
            k,
            cv: ctx.storage("GCRO-DR basis [C V]", (m + 1) * n, prec)?,
            u: ctx.storage("GCRO-DR recycled U", k * n, prec)?,
            out1: ctx.storage("GCRO-DR block work", k * n, prec)?,
            out2: ctx.storage("GCRO-DR block work", k * n, prec)?,
            kk: 0,
            d: vec![1.0; k],
        })
    }

    /// The device context.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Recycled vectors currently held.
    pub fn recycled(&self) -> usize {
        self.kk
    }

    /// Drops the recycled space.
    pub fn clear(&mut self) {
        self.kk = 0;
    }

    fn read(
        &self,
        enc: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<f64>> {
        let raw = self
            .ctx
            .read_back(enc, src, staging, len as u64 * self.prec.bytes())?;
        let mut v = vec![0.0; len];
        from_bytes(&raw, self.prec, &mut v);
        Ok(v)
    }

    fn copy_cols(&self, enc: &mut wgpu::CommandEncoder, src: &wgpu::Buffer, dst: &wgpu::Buffer, cols: usize) {
        let bytes = (cols * self.n) as u64 * self.prec.bytes();
        if bytes > 0 {
            enc.copy_buffer_to_buffer(src, 0, dst, 0, bytes);
        }
    }

    /// Solves `A x = b` from x = 0. With `same_operator` the recycled space is used as
    /// is; otherwise (a new matrix of the sequence) it is first re-targeted to `A`.
    pub fn solve(
        &mut self,
        a: &GpuMatrix,
        b: &[f64],
        s: &GcroDrSettings,
        same_operator: bool,
    ) -> Result<GcroDrResult> {
        let (n, m, k, prec) = (self.n, self.m, self.k, self.prec);
        if a.n != n || b.len() != n || a.batch != 1 || a.prec != prec {
            return Err(GpuError::Shape(format!(
                "GCRO-DR set up for order {n} ({prec:?}) got a matrix of order {} ({:?}, batch {}) and b of length {}",
                a.n,
                a.prec,
                a.batch,
                b.len()
            )));
        }
        if !(s.tol > 0.0 && s.tol < 1.0) || s.max_iters == 0 {
            return Err(GpuError::Setting(format!(
                "GCRO-DR needs 0 < tol < 1 and max_iters ≥ 1, got {} and {}",
                s.tol, s.max_iters
            )));
        }
        if s.jacobi && a.min_diag == 0.0 {
            return Err(GpuError::Setting(
                "Jacobi preconditioning needs a non-zero diagonal; the matrix has a zero on it".into(),
            ));
        }
        check_finite("right-hand side", b)?;
        let bnorm = b.iter().map(|v| v * v).sum::<f64>().sqrt();
        let ctx = self.ctx.clone();
        if bnorm == 0.0 {
            return Ok(GcroDrResult {
                x: vec![0.0; n],
                iterations: 0,
                est_relres: 0.0,
                converged: true,
                recycled_at_start: self.kk,
            });
        }
        let np = ctx.groups_for(n);
        let kit = Kit { ctx: &ctx, prec, np };
        let w = ctx.storage("GCRO-DR work vector", n, prec)?;
        let z = ctx.storage("GCRO-DR work vector", n, prec)?;
        let (dinv_buf, _) = a.diagonal_scaling(s.jacobi)?;
        let dinv = &dinv_buf;
        let blocks = (m + 1) * k.max(m + 1);
        let part = ctx.storage("partial sums", np as usize * blocks, prec)?;
        let hp = ctx.storage("Gram–Schmidt coefficients", m + 1, prec)?;
        let hc = ctx.storage("Hessenberg column", m + 2, prec)?;
        let x = ctx.storage("solution", n, prec)?;
        let bbuf = ctx.upload("right-hand side", b, prec)?;
        let ycoef = ctx.storage("update coefficients", m + 1, prec)?;
        let ycoefu = ctx.storage("update coefficients", k, prec)?;
        let gram = ctx.storage("Gram block", blocks, prec)?;
        let mc = [
            ctx.storage("block coefficients", (m + 1) * k, prec)?,
            ctx.storage("block coefficients", (m + 1) * k, prec)?,
            ctx.storage("block coefficients", (m + 1) * k, prec)?,
        ];
        let staging = ctx.staging(blocks.max(m + 2) as u64 * prec.bytes());
        let (n32, np32) = (n as u32, np);
        let pj = ctx.params([n32, np32, 0, 0, 0, 0, 0, 0]);
        let pcu = ctx.params([n32, np32, 0, 0, 0, 0, 0, 0]);
        let pg = ctx.params([n32, np32, 0, 0, 0, 0, 0, 0]);
        let pset = ctx.params([n32, np32, 0, 0, 0, 0, 0, 0]);
        let padd = ctx.params([n32, np32, 1, 0, 0, 0, 0, 0]);
        let pm: Vec<wgpu::Buffer> = (0..3)
            .map(|_| ctx.params([n32, np32, 0, 0, 0, 0, 0, 0]))
            .collect();
        let (cv_buf, u_buf, out1, out2) = (
            self.cv.clone(),
            self.u.clone(),
            self.out1.clone(),
            self.out2.clone(),
        );
        let (cv, u) = (&cv_buf, &u_buf);
        let jscale = kit.launch("jscale", &pj, true, &[(1, cv), (3, &z), (4, dinv)])?;
        let jscale_u = kit.launch("jscale_u", &pj, true, &[(11, u), (3, &z), (4, dinv)])?;
        let spmv_z = a.spmv_launch(&z, &w, 1, 0, 0)?;
        let spmv_x = a.spmv_launch(&x, &w, 1, 0, 0)?;
        let mdot = kit.launch("mdot", &pj, true, &[(1, cv), (2, &w), (5, &part)])?;
        let fin_set = kit.launch("mdot_finish", &pset, false, &[(5, &part), (6, &hp), (7, &hc)])?;
        let fin_add = kit.launch("mdot_finish", &padd, false, &[(5, &part), (6, &hp), (7, &hc)])?;
        let gs_sub = kit.launch("gs_sub", &pj, true, &[(1, cv), (2, &w), (6, &hp)])?;
        let sq = kit.launch("sq", &pj, true, &[(2, &w), (5, &part)])?;
        let nrm = kit.launch("nrm_finish", &pj, false, &[(5, &part), (7, &hc)])?;
        let normalize = kit.launch("normalize", &pj, true, &[(1, cv), (2, &w), (7, &hc)])?;
        let residual = kit.launch("residual", &pj, true, &[(2, &w), (9, &bbuf)])?;
        let combine = kit.launch("combine", &pj, true, &[(1, cv), (4, dinv), (8, &x), (10, &ycoef)])?;
        let combine_u = kit.launch(
            "combine_u",
            &pcu,
            true,
            &[(11, u), (4, dinv), (8, &x), (10, &ycoefu)],
        )?;
        let combine_u_hp = kit.launch(
            "combine_u_hp",
            &pj,
            true,
            &[(11, u), (4, dinv), (8, &x), (6, &hp)],
        )?;
        let gram_vu = kit.launch("gram_vu", &pg, true, &[(1, cv), (11, u), (5, &part)])?;
        let gram_vv = kit.launch("gram_vv", &pg, true, &[(1, cv), (5, &part)])?;
        let gram_uu = kit.launch("gram_uu", &pg, true, &[(11, u), (5, &part)])?;
        let gfin = kit.finish(&pg, &part, &gram)?;
        let mc_v2 = kit.launch("mcombine_v", &pm[0], true, &[(1, cv), (12, &out2), (13, &mc[0])])?;
        let mc_u2 = kit.launch("mcombine_u", &pm[1], true, &[(11, u), (12, &out2), (13, &mc[1])])?;
        let mc_v1 = kit.launch("mcombine_v", &pm[2], true, &[(1, cv), (12, &out1), (13, &mc[2])])?;
        let mc_u1 = kit.launch("mcombine_u", &pm[2], true, &[(11, u), (12, &out2), (13, &mc[2])])?;

        // Column norms of U → d, after U changed.
        let refresh_d = |this: &mut Self| -> Result<()> {
            let kk = this.kk;
            ctx.set_params(&pg, [n32, np32, 0, kk as u32, 0, 0, 0, 0]);
            let mut enc = ctx.encoder();
            record(&mut enc, &[&with_y(&gram_uu, kk * kk), &with_y(&gfin, kk * kk)]);
            let g = this.read(enc, &gram, &staging, kk * kk)?;
            for i in 0..kk {
                let nu = g[i * kk + i].max(0.0).sqrt();
                this.d[i] = if nu > 0.0 { 1.0 / nu } else { 1.0 };
            }
            Ok(())
        };

        // Re-target the space to this operator: C = A M⁻¹ U, then [C, U] R⁻¹ with CᵀC = RᵀR.
        if self.kk > 0 && !same_operator {
            let kk = self.kk;
            for j in 0..kk {
                ctx.set_params(&pj, [n32, np32, j as u32, 0, 0, 0, 0, 0]);
                let mut enc = ctx.encoder();
                record(&mut enc, &[&jscale_u, &spmv_z]);
                enc.copy_buffer_to_buffer(&w, 0, cv, (j * n) as u64 * prec.bytes(), n as u64 * prec.bytes());
                ctx.queue.submit([enc.finish()]);
            }
            // CholeskyQR twice: the second pass restores orthogonality lost in device precision
            for _pass in 0..2 {
                ctx.set_params(&pg, [n32, np32, 0, kk as u32, 0, 0, 0, 0]);
                let mut enc = ctx.encoder();
                record(&mut enc, &[&with_y(&gram_vv, kk * kk), &with_y(&gfin, kk * kk)]);
                let g = self.read(enc, &gram, &staging, kk * kk)?;
                let gm = Mat::<f64>::from_fn(kk, kk, |i, j| g[j * kk + i]);
                let Ok(f) = gm.llt(Side::Lower) else {
                    // C is numerically rank-deficient: start this system without a space
                    self.kk = 0;
                    break;
                };
                // R = Lᵀ; R⁻¹ column-major (upper triangular)
                let l = f.L().to_owned();
                let mut rinv = vec![0.0; kk * kk];
                for c in 0..kk {
                    for i in (0..=c).rev() {
                        let mut acc = if i == c { 1.0 } else { 0.0 };
                        for l2 in i + 1..=c {
                            acc -= l[(l2, i)] * rinv[c * kk + l2];
                        }
                        rinv[c * kk + i] = acc / l[(i, i)];
                    }
                }
                ctx.queue.write_buffer(&mc[2], 0, &to_bytes(&rinv, prec));
                ctx.set_params(&pm[2], [n32, np32, 0, kk as u32, 0, 0, 0, 0]);
                let mut enc = ctx.encoder();
                record(&mut enc, &[&with_y(&mc_v1, kk), &with_y(&mc_u1, kk)]);
                self.copy_cols(&mut enc, &out1, cv, kk);
                self.copy_cols(&mut enc, &out2, u, kk);
                ctx.queue.submit([enc.finish()]);
            }
            if self.kk > 0 {
                refresh_d(self)?;
            }
        }
        let recycled_at_start = self.kk;

        let mut its = 0usize;
        let mut est;
        let mut hcol = vec![0.0; m + 2];
        loop {
            let kk = self.kk;
            // cycle start: r = b − A x, projected off C (x += M⁻¹ U Cᵀ r), v = r/‖r‖
            let mut enc = ctx.encoder();
            ctx.set_params(&pj, [n32, np32, 0, kk as u32, kk as u32, 0, 0, 0]);
            ctx.set_params(&pset, [n32, np32, 0, kk as u32, 0, 0, 0, 0]);
            record(&mut enc, &[&spmv_x, &residual]);
            if kk > 0 {
                record(
                    &mut enc,
                    &[&with_y(&mdot, kk), &with_y(&fin_set, kk), &gs_sub, &combine_u_hp],
                );
            }
            record(&mut enc, &[&sq, &nrm, &normalize]);
            let beta = self.read(enc, &hc, &staging, kk + 1)?[kk];
            if !beta.is_finite() {
                return Err(GpuError::Setting(
                    "GCRO-DR residual is not finite: the data overflow the device precision".into(),
                ));
            }
            est = beta / bnorm;
            if est <= s.tol || its >= s.max_iters || crate::cg::past(s.deadline) {
                break;
            }
            let steps = m - kk;
            let mut g = vec![0.0; steps + 1];
            g[0] = beta;
            // rotations and rotated (triangular) columns, column-major, leading dimension
            // steps + 1 (the layout of solvent_linalg::small)
            let ldr = steps + 1;
            let (mut cs, mut sn) = (vec![0.0; steps], vec![0.0; steps]);
            let mut rot = vec![0.0; ldr * steps];
            let mut raw: Vec<Vec<f64>> = Vec::with_capacity(steps);
            let mut bcols: Vec<Vec<f64>> = Vec::with_capacity(steps);
            let mut jdone = 0;
            for j in 0..steps {
                let col = kk + j;
                ctx.set_params(
                    &pj,
                    [n32, np32, col as u32, col as u32 + 1, col as u32 + 1, 0, 0, 0],
                );
                ctx.set_params(&pset, [n32, np32, 0, col as u32 + 1, 0, 0, 0, 0]);
                ctx.set_params(&padd, [n32, np32, 1, col as u32 + 1, 0, 0, 0, 0]);
                let mut enc = ctx.encoder();
                let (md, fs, fa) = (
                    with_y(&mdot, col + 1),
                    with_y(&fin_set, col + 1),
                    with_y(&fin_add, col + 1),
                );
                record(
                    &mut enc,
                    &[
                        &jscale, &spmv_z, &md, &fs, &gs_sub, &md, &fa, &gs_sub, &sq, &nrm, &normalize,
                    ],
                );
                let h = self.read(enc, &hc, &staging, col + 2)?;
                hcol[..col + 2].copy_from_slice(&h);
                bcols.push(h[..kk].to_vec());
                let hj = h[kk..].to_vec();
                raw.push(hj.clone());
                let hr = &mut rot[j * ldr..j * ldr + j + 2];
                hr.copy_from_slice(&hj);
                let breakdown = hr[j + 1] == 0.0;
                if rotate_column(hr, j, &mut cs, &mut sn, &mut g).is_none() {
                    // a zero column (singular operator): the cycle ends before it
                    raw.pop();
                    bcols.pop();
                    break;
                }
                let res = g[j + 1].abs();
                its += 1;
                jdone = j + 1;
                est = res / bnorm;
                if est <= s.tol || its >= s.max_iters || breakdown || !res.is_finite() {
                    break;
                }
            }
            // y = R⁻¹ g; correction x += M⁻¹ (V y − U B y)
            let y = solve_triangular(&rot, ldr, &g, jdone);
            let mut by = vec![0.0; kk];
            for (c, yc) in y.iter().enumerate() {
                for (i, bi) in by.iter_mut().enumerate() {
                    *bi -= bcols[c][i] * yc;
                }
            }
            ctx.queue.write_buffer(&ycoef, 0, &to_bytes(&y, prec));
            if kk > 0 {
                ctx.queue.write_buffer(&ycoefu, 0, &to_bytes(&by, prec));
            }
            ctx.set_params(&pj, [n32, np32, 0, jdone as u32, 0, kk as u32, 0, 0]);
            ctx.set_params(&pcu, [n32, np32, 0, kk as u32, 0, 0, 0, 0]);
            let rows = kk + jdone + 1;
            ctx.set_params(&pg, [n32, np32, 0, rows as u32, 0, 0, 0, 0]);
            let mut enc = ctx.encoder();
            record(&mut enc, &[&combine]);
            if kk > 0 {
                record(
                    &mut enc,
                    &[
                        &combine_u,
                        &with_y(&gram_vu, rows * kk),
                        &with_y(&gfin, rows * kk),
                    ],
                );
            }
            // [C V]ᵀ U (rows × kk, column-major: entry (r, c) at c·rows + r)
            let cvu_flat = if kk > 0 {
                self.read(enc, &gram, &staging, rows * kk)?
            } else {
                ctx.queue.submit([enc.finish()]);
                Vec::new()
            };
            let cvu = Mat::<f64>::from_fn(rows, kk, |r, c| cvu_flat[c * rows + r]);
            // harmonic Ritz refresh of (U, C)
            let ldh = m + 1;
            let mut hflat = vec![0.0; ldh * jdone];
            for (jj, h) in raw.iter().enumerate() {
                hflat[jj * ldh..jj * ldh + h.len()].copy_from_slice(h);
            }
            let mut bflat = vec![0.0; k * jdone];
            for (jj, bc) in bcols.iter().enumerate() {
                bflat[jj * k..jj * k + kk].copy_from_slice(bc);
            }
            let small = SmallCycle {
                kk,
                j: jdone,
                d: &self.d[..kk],
                b: &bflat,
                ldb: k,
                h: &hflat,
                ldh,
            };
            if let Some((q, pr)) = harmonic_ritz_coefficients(&small, k, cvu.as_ref()) {
                let kept = q.ncols();
                // U_new = [C V_{0..j}] [0; PR_V] + U (D PR_U);  C_new = [C V_{0..j+1}] Q
                let s1 = kk + jdone;
                let mut c1 = vec![0.0; s1 * kept];
                for c in 0..kept {
                    for r in kk..s1 {
                        c1[c * s1 + r] = pr[(r, c)];
                    }
                }
                let mut c2 = vec![0.0; kk.max(1) * kept];
                for c in 0..kept {
                    for r in 0..kk {
                        c2[c * kk + r] = self.d[r] * pr[(r, c)];
                    }
                }
                let mut c3 = vec![0.0; rows * kept];
                for c in 0..kept {
                    for r in 0..rows {
                        c3[c * rows + r] = q[(r, c)];
                    }
                }
                ctx.queue.write_buffer(&mc[0], 0, &to_bytes(&c1, prec));
                ctx.queue.write_buffer(&mc[1], 0, &to_bytes(&c2, prec));
                ctx.queue.write_buffer(&mc[2], 0, &to_bytes(&c3, prec));
                ctx.set_params(&pm[0], [n32, np32, 0, s1 as u32, 0, 0, 0, 0]);
                ctx.set_params(&pm[1], [n32, np32, 1, kk as u32, 0, 0, 0, 0]);
                ctx.set_params(&pm[2], [n32, np32, 0, rows as u32, 0, 0, 0, 0]);
                let mut enc = ctx.encoder();
                record(&mut enc, &[&with_y(&mc_v2, kept)]);
                if kk > 0 {
                    record(&mut enc, &[&with_y(&mc_u2, kept)]);
                }
                record(&mut enc, &[&with_y(&mc_v1, kept)]);
                self.copy_cols(&mut enc, &out1, cv, kept);
                self.copy_cols(&mut enc, &out2, u, kept);
                ctx.queue.submit([enc.finish()]);
                self.kk = kept;
                refresh_d(self)?;
            }
            if !est.is_finite() {
                return Err(GpuError::Setting(
                    "GCRO-DR residual estimate is not finite: the data overflow the device precision".into(),
                ));
            }
        }
        let xs = self.read(ctx.encoder(), &x, &ctx.staging(n as u64 * prec.bytes()), n)?;
        Ok(GcroDrResult {
            x: xs,
            iterations: its,
            est_relres: est,
            converged: est <= s.tol,
            recycled_at_start,
        })
    }
}
