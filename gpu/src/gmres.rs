//! Device-resident GMRES(m), right-preconditioned with Jacobi, CGS2 Gram–Schmidt.
//!
//! The basis V (m+1 vectors) lives on the device. An Arnoldi step is eleven launches
//! (D⁻¹v_j, SpMV, two fused multi-dot + subtract passes, norm, normalise) in one
//! submission, and its only read-back is the new Hessenberg column (j+2 scalars). The
//! Givens rotations and the small triangular solve run on the CPU; the update
//! x += D⁻¹V y is one launch.

use crate::context::{from_bytes, to_bytes};
use crate::error::{GpuError, Result};
use crate::kernels::{record, Launch, Module};
use crate::matrix::{check_finite, GpuMatrix};
use solvent_linalg::small::{rotate_column, solve_triangular};

/// Settings of a device GMRES run.
#[derive(Clone, Copy, Debug)]
pub struct GmresSettings {
    /// Relative tolerance on the GMRES residual estimate ‖r‖/‖b‖.
    pub tol: f64,
    /// Iteration (Arnoldi step) limit.
    pub max_iters: usize,
    /// Basis size m.
    pub restart: usize,
    /// Jacobi right preconditioning (needs a non-zero diagonal).
    pub jacobi: bool,
    /// Stop (not converged) at the first restart after this instant.
    pub deadline: Option<std::time::Instant>,
}

impl Default for GmresSettings {
    fn default() -> Self {
        Self {
            tol: 1e-8,
            max_iters: 10_000,
            restart: 40,
            jacobi: true,
            deadline: None,
        }
    }
}

/// Outcome of [`gmres`].
#[derive(Clone, Debug)]
pub struct GmresResult {
    /// The final iterate.
    pub x: Vec<f64>,
    /// Arnoldi steps taken.
    pub iterations: usize,
    /// The residual estimate ‖r‖/‖b‖ at the end (recomputed on the device at each restart).
    pub est_relres: f64,
    /// Whether the estimate reached `tol`.
    pub converged: bool,
}

/// Solves `A x = b` from x = 0 with GMRES(m) on the device.
pub fn gmres(a: &GpuMatrix, b: &[f64], settings: &GmresSettings) -> Result<GmresResult> {
    if a.batch != 1 {
        return Err(GpuError::Shape(format!(
            "one right-hand side for a batch of {} matrices",
            a.batch
        )));
    }
    Ok(gmres_batch(a, b, settings)?.remove(0))
}

/// Solves `A_s x_s = b_s` for every system of the batch (`rhs` holds systems·n values; the
/// matrix holds one value set per system, or one for all) with GMRES(m) from x = 0, all
/// systems in one launch sequence: each Arnoldi step is one submission for the whole batch
/// and one read-back of every system's Hessenberg column; the rotations run per system on
/// the CPU, and a system that converges stops counting iterations while the batch goes on.
pub fn gmres_batch(a: &GpuMatrix, rhs: &[f64], settings: &GmresSettings) -> Result<Vec<GmresResult>> {
    let n = a.n;
    if rhs.is_empty() || !rhs.len().is_multiple_of(n) {
        return Err(GpuError::Shape(format!(
            "right-hand sides of {} values for systems of order {n}",
            rhs.len()
        )));
    }
    let k = rhs.len() / n;
    if a.batch != 1 && a.batch != k {
        return Err(GpuError::Shape(format!(
            "{k} right-hand sides for a batch of {} matrices",
            a.batch
        )));
    }
    let m = settings.restart;
    if m == 0 || !(settings.tol > 0.0 && settings.tol < 1.0) || settings.max_iters == 0 {
        return Err(GpuError::Setting(format!(
            "GMRES needs restart ≥ 1, 0 < tol < 1 and max_iters ≥ 1, got {m}, {}, {}",
            settings.tol, settings.max_iters
        )));
    }
    let ctx = &a.ctx;
    if (k * (m + 1)) as u64 > ctx.max_groups() as u64 {
        return Err(GpuError::Shape(format!(
            "{k} systems × {} basis vectors exceed the adapter's {} workgroups per dimension; split the batch",
            m + 1,
            ctx.max_groups()
        )));
    }
    if settings.jacobi && a.min_diag == 0.0 {
        return Err(GpuError::Setting(
            "Jacobi preconditioning needs a non-zero diagonal; the matrix has a zero on it".into(),
        ));
    }
    check_finite("right-hand side", rhs)?;
    let prec = a.prec;
    let bnorm: Vec<f64> = rhs
        .chunks(n)
        .map(|b| b.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let hint = if k > 1 {
        "split the batch or use a smaller --restart"
    } else {
        "use a smaller --restart"
    };
    ctx.check_fits("the GMRES basis", (k * (m + 1) * n) as u64 * prec.bytes(), hint)?;
    let vbuf = ctx.storage("GMRES basis", k * (m + 1) * n, prec)?;
    let w = ctx.storage("GMRES work vector", k * n, prec)?;
    let z = ctx.storage("GMRES work vector", k * n, prec)?;
    let (dinv_buf, dstride) = a.diagonal_scaling(settings.jacobi)?;
    let dinv = &dinv_buf;
    let np = ctx.groups_for(n);
    let (ldv, ldh) = (m + 1, m + 2);
    let part = ctx.storage("partial sums", np as usize * k * ldv, prec)?;
    let hp = ctx.storage("Gram–Schmidt coefficients", k * ldv, prec)?;
    let hc = ctx.storage("Hessenberg columns", k * ldh, prec)?;
    let x = ctx.storage("solution", k * n, prec)?;
    let bbuf = ctx.upload("right-hand side", rhs, prec)?;
    let ycoef = ctx.storage("update coefficients", k * ldv, prec)?;
    let (n32, e, f) = (n as u32, ldv as u32, dstride);
    let pj = ctx.params([n32, np, 0, 0, 0, 0, e, f]);
    let pset = ctx.params([n32, np, 0, 1, 0, 0, e, f]);
    let padd = ctx.params([n32, np, 1, 1, 0, 0, e, f]);
    let ky = k as u32;
    let launch = |entry: &'static str,
                  params: &wgpu::Buffer,
                  x: u32,
                  binds: &[(u32, &wgpu::Buffer)]|
     -> Result<Launch> {
        let pipeline = ctx.pipeline(Module::Gmres, entry, prec)?;
        let mut all = vec![(0u32, params)];
        all.extend_from_slice(binds);
        Ok(Launch {
            group: ctx.bind(&pipeline, &all),
            pipeline,
            x,
            y: ky,
        })
    };
    let jscale = launch("jscale", &pj, np, &[(1, &vbuf), (3, &z), (4, dinv)])?;
    let spmv_z = a.spmv_launch(&z, &w, k, 0, 0)?;
    let spmv_x = a.spmv_launch(&x, &w, k, 0, 0)?;
    let mut mdot = launch("mdot", &pj, np, &[(1, &vbuf), (2, &w), (5, &part)])?;
    let mut fin_set = launch("mdot_finish", &pset, 1, &[(5, &part), (6, &hp), (7, &hc)])?;
    let mut fin_add = launch("mdot_finish", &padd, 1, &[(5, &part), (6, &hp), (7, &hc)])?;
    let gs_sub = launch("gs_sub", &pj, np, &[(1, &vbuf), (2, &w), (6, &hp)])?;
    let sq = launch("sq", &pj, np, &[(2, &w), (5, &part)])?;
    let nrm = launch("nrm_finish", &pj, 1, &[(5, &part), (7, &hc)])?;
    let normalize = launch("normalize", &pj, np, &[(1, &vbuf), (2, &w), (7, &hc)])?;
    let combine = launch(
        "combine",
        &pj,
        np,
        &[(1, &vbuf), (4, dinv), (8, &x), (10, &ycoef)],
    )?;
    let residual = launch("residual", &pj, np, &[(2, &w), (9, &bbuf)])?;
    let staging = ctx.staging((k * ldh) as u64 * prec.bytes());
    let read_hc = |enc: wgpu::CommandEncoder| -> Result<Vec<f64>> {
        let raw = ctx.read_back(enc, &hc, &staging, (k * ldh) as u64 * prec.bytes())?;
        let mut v = vec![0.0; k * ldh];
        from_bytes(&raw, prec, &mut v);
        Ok(v)
    };

    let mut its = vec![0usize; k];
    let mut est = vec![0.0f64; k];
    let mut done: Vec<bool> = bnorm.iter().map(|&b| b == 0.0).collect();
    let mut pending: Option<usize> = None;
    loop {
        // r = b − A x, v0 = r/‖r‖ (after the previous cycle's update, in the same submission)
        let mut enc = ctx.encoder();
        ctx.set_params(&pj, [n32, np, 0, pending.unwrap_or(0) as u32, 0, 0, e, f]);
        if pending.take().is_some() {
            record(&mut enc, &[&combine]);
        }
        record(&mut enc, &[&spmv_x, &residual, &sq, &nrm, &normalize]);
        let h = read_hc(enc)?;
        for s in 0..k {
            if bnorm[s] == 0.0 {
                continue;
            }
            let beta = h[s * ldh];
            if !beta.is_finite() {
                return Err(GpuError::Setting(format!(
                    "GMRES residual of system {s} is not finite: the data overflow the device precision"
                )));
            }
            est[s] = beta / bnorm[s];
            done[s] = est[s] <= settings.tol || its[s] >= settings.max_iters;
        }
        if done.iter().all(|&d| d) || crate::cg::past(settings.deadline) {
            break;
        }
        // one cycle for the whole batch; systems finish (converge) at their own step
        let mut g: Vec<Vec<f64>> = (0..k)
            .map(|s| {
                let mut g = vec![0.0; m + 1];
                g[0] = if done[s] { 0.0 } else { h[s * ldh] };
                g
            })
            .collect();
        // per system: rotations and the rotated (triangular) columns, column-major with
        // leading dimension m + 1 (the layout of solvent_linalg::small)
        let ldr = m + 1;
        let mut cs = vec![vec![0.0; m]; k];
        let mut sn = vec![vec![0.0; m]; k];
        let mut rt = vec![vec![0.0; ldr * m]; k];
        let mut jdone = vec![0usize; k];
        let mut open: Vec<bool> = done.iter().map(|d| !d).collect();
        for j in 0..m {
            let cnt = j as u32 + 1;
            ctx.set_params(&pj, [n32, np, j as u32, cnt, cnt, 0, e, f]);
            ctx.set_params(&pset, [n32, np, 0, cnt, 0, 0, e, f]);
            ctx.set_params(&padd, [n32, np, 1, cnt, 0, 0, e, f]);
            mdot.y = ky * cnt;
            fin_set.y = ky * cnt;
            fin_add.y = ky * cnt;
            let mut enc = ctx.encoder();
            record(
                &mut enc,
                &[
                    &jscale, &spmv_z, &mdot, &fin_set, &gs_sub, &mdot, &fin_add, &gs_sub, &sq, &nrm,
                    &normalize,
                ],
            );
            let h = read_hc(enc)?;
            for s in 0..k {
                if !open[s] {
                    continue;
                }
                let col = &mut rt[s][j * ldr..j * ldr + j + 2];
                col.copy_from_slice(&h[s * ldh..s * ldh + j + 2]);
                let breakdown = col[j + 1] == 0.0;
                if rotate_column(col, j, &mut cs[s], &mut sn[s], &mut g[s]).is_none() {
                    // a zero column (singular operator): the cycle ends before it
                    open[s] = false;
                    continue;
                }
                let res = g[s][j + 1].abs();
                its[s] += 1;
                jdone[s] = j + 1;
                est[s] = res / bnorm[s];
                if est[s] <= settings.tol || its[s] >= settings.max_iters || breakdown || !res.is_finite() {
                    open[s] = false;
                }
            }
            if !open.iter().any(|&o| o) {
                break;
            }
        }
        // y_s = R_s⁻¹ g_s, padded to the longest cycle; x += D⁻¹ V y on the next submission
        let jmax = jdone.iter().copied().max().unwrap_or(0);
        let mut y = vec![0.0; k * ldv];
        for s in 0..k {
            let ys = solve_triangular(&rt[s], ldr, &g[s], jdone[s]);
            y[s * ldv..s * ldv + jdone[s]].copy_from_slice(&ys);
        }
        ctx.queue.write_buffer(&ycoef, 0, &to_bytes(&y, prec));
        pending = Some(jmax);
        if est.iter().any(|e| !e.is_finite()) {
            return Err(GpuError::Setting(
                "GMRES residual estimate is not finite: the data overflow the device precision".into(),
            ));
        }
    }
    let xbytes = (k * n) as u64 * prec.bytes();
    let xstage = ctx.staging(xbytes);
    let raw = ctx.read_back(ctx.encoder(), &x, &xstage, xbytes)?;
    let mut xs = vec![0.0; k * n];
    from_bytes(&raw, prec, &mut xs);
    Ok((0..k)
        .map(|s| GmresResult {
            x: xs[s * n..(s + 1) * n].to_vec(),
            iterations: its[s],
            est_relres: est[s],
            converged: est[s] <= settings.tol,
        })
        .collect())
}
