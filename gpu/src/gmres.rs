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
}

impl Default for GmresSettings {
    fn default() -> Self {
        Self {
            tol: 1e-8,
            max_iters: 10_000,
            restart: 40,
            jacobi: true,
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

/// Applies the stored rotations to a new Hessenberg column and makes a new one that
/// zeroes its last entry; returns the new residual estimate |g[j+1]|.
pub(crate) fn givens_step(h: &mut [f64], cs: &mut Vec<(f64, f64)>, g: &mut [f64], j: usize) -> f64 {
    for (i, &(c, s)) in cs.iter().enumerate() {
        let (a, b) = (h[i], h[i + 1]);
        h[i] = c * a + s * b;
        h[i + 1] = -s * a + c * b;
    }
    let (a, b) = (h[j], h[j + 1]);
    let r = a.hypot(b);
    let (c, s) = if r == 0.0 { (1.0, 0.0) } else { (a / r, b / r) };
    h[j] = r;
    h[j + 1] = 0.0;
    cs.push((c, s));
    g[j + 1] = -s * g[j];
    g[j] *= c;
    g[j + 1].abs()
}

/// Solves `A x = b` from x = 0 with GMRES(m) on the device.
pub fn gmres(a: &GpuMatrix, b: &[f64], settings: &GmresSettings) -> Result<GmresResult> {
    let n = a.n;
    if b.len() != n {
        return Err(GpuError::Shape(format!(
            "right-hand side of length {} for a matrix of order {n}",
            b.len()
        )));
    }
    if a.batch != 1 {
        return Err(GpuError::Shape(
            "GMRES on the device solves one system at a time".into(),
        ));
    }
    let m = settings.restart;
    if m == 0 || !(settings.tol > 0.0 && settings.tol < 1.0) || settings.max_iters == 0 {
        return Err(GpuError::Setting(format!(
            "GMRES needs restart ≥ 1, 0 < tol < 1 and max_iters ≥ 1, got {m}, {}, {}",
            settings.tol, settings.max_iters
        )));
    }
    if settings.jacobi && a.min_diag == 0.0 {
        return Err(GpuError::Setting(
            "Jacobi preconditioning needs a non-zero diagonal; the matrix has a zero on it".into(),
        ));
    }
    check_finite("right-hand side", b)?;
    let ctx = &a.ctx;
    let prec = a.prec;
    let bnorm = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    if bnorm == 0.0 {
        return Ok(GmresResult {
            x: vec![0.0; n],
            iterations: 0,
            est_relres: 0.0,
            converged: true,
        });
    }
    ctx.check_fits(
        "the GMRES basis",
        (m as u64 + 1) * n as u64 * prec.bytes(),
        "use a smaller --restart",
    )?;
    let vbuf = ctx.storage("GMRES basis", (m + 1) * n, prec)?;
    let w = ctx.storage("GMRES work vector", n, prec)?;
    let z = ctx.storage("GMRES work vector", n, prec)?;
    let ones;
    let dinv = if settings.jacobi {
        &a.dinv
    } else {
        ones = ctx.upload("unit diagonal", &vec![1.0; n], prec)?;
        &ones
    };
    let np = ctx.groups_for(n);
    let part = ctx.storage("partial sums", np as usize * (m + 1), prec)?;
    let hp = ctx.storage("Gram–Schmidt coefficients", m + 1, prec)?;
    let hc = ctx.storage("Hessenberg column", m + 2, prec)?;
    let x = ctx.storage("solution", n, prec)?;
    let bbuf = ctx.upload("right-hand side", b, prec)?;
    let ycoef = ctx.storage("update coefficients", m + 1, prec)?;
    let pj = ctx.params([n as u32, np, 0, 0, 0, 0, 0, 0]);
    let pset = ctx.params([n as u32, np, 0, 0, 0, 0, 0, 0]);
    let padd = ctx.params([n as u32, np, 1, 0, 0, 0, 0, 0]);
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
            y: 1,
        })
    };
    let jscale = launch("jscale", &pj, np, &[(1, &vbuf), (3, &z), (4, dinv)])?;
    let spmv_z = a.spmv_launch(&z, &w, 1, 0, 0)?;
    let spmv_x = a.spmv_launch(&x, &w, 1, 0, 0)?;
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
    let staging = ctx.staging((m as u64 + 2) * prec.bytes());

    let mut its = 0usize;
    let mut pending_update: Option<usize> = None;
    let mut est;
    let mut hcol = vec![0.0; m + 2];
    loop {
        // r = b − A x, v0 = r/‖r‖ (after the previous cycle's update, in the same submission)
        let mut enc = ctx.encoder();
        if let Some(count) = pending_update.take() {
            ctx.set_params(&pj, [n as u32, np, 0, count as u32, 0, 0, 0, 0]);
            record(&mut enc, &[&combine]);
        } else {
            ctx.set_params(&pj, [n as u32, np, 0, 0, 0, 0, 0, 0]);
        }
        record(&mut enc, &[&spmv_x, &residual, &sq, &nrm, &normalize]);
        let raw = ctx.read_back(enc, &hc, &staging, prec.bytes())?;
        let mut beta = [0.0];
        from_bytes(&raw, prec, &mut beta);
        let beta = beta[0];
        est = beta / bnorm;
        if !beta.is_finite() {
            return Err(GpuError::Setting(
                "GMRES residual is not finite: the data overflow the device precision".into(),
            ));
        }
        if est <= settings.tol || its >= settings.max_iters {
            break;
        }
        let mut g = vec![0.0; m + 1];
        g[0] = beta;
        let mut cs: Vec<(f64, f64)> = Vec::with_capacity(m);
        let mut hcols: Vec<Vec<f64>> = Vec::with_capacity(m);
        let mut jdone = 0;
        for j in 0..m {
            ctx.set_params(&pj, [n as u32, np, j as u32, j as u32 + 1, j as u32 + 1, 0, 0, 0]);
            mdot.y = j as u32 + 1;
            fin_set.y = j as u32 + 1;
            fin_add.y = j as u32 + 1;
            let mut enc = ctx.encoder();
            record(
                &mut enc,
                &[
                    &jscale, &spmv_z, &mdot, &fin_set, &gs_sub, &mdot, &fin_add, &gs_sub, &sq, &nrm,
                    &normalize,
                ],
            );
            let bytes = (j as u64 + 2) * prec.bytes();
            let raw = ctx.read_back(enc, &hc, &staging, bytes)?;
            from_bytes(&raw, prec, &mut hcol[..j + 2]);
            let mut h = hcol[..j + 2].to_vec();
            let breakdown = h[j + 1] == 0.0;
            let res = givens_step(&mut h, &mut cs, &mut g, j);
            hcols.push(h);
            its += 1;
            jdone = j + 1;
            est = res / bnorm;
            if est <= settings.tol || its >= settings.max_iters || breakdown || !res.is_finite() {
                break;
            }
        }
        // y = R⁻¹ g (back substitution), x += D⁻¹ V y on the next submission
        let mut y = vec![0.0; jdone];
        for i in (0..jdone).rev() {
            let mut acc = g[i];
            for (k, yk) in y.iter().enumerate().skip(i + 1) {
                acc -= hcols[k][i] * yk;
            }
            y[i] = if hcols[i][i] != 0.0 {
                acc / hcols[i][i]
            } else {
                0.0
            };
        }
        ctx.queue.write_buffer(&ycoef, 0, &to_bytes(&y, prec));
        pending_update = Some(jdone);
        if !est.is_finite() {
            return Err(GpuError::Setting(
                "GMRES residual estimate is not finite: the data overflow the device precision".into(),
            ));
        }
    }
    let xbytes = n as u64 * prec.bytes();
    let xstage = ctx.staging(xbytes);
    let raw = ctx.read_back(ctx.encoder(), &x, &xstage, xbytes)?;
    let mut xs = vec![0.0; n];
    from_bytes(&raw, prec, &mut xs);
    Ok(GmresResult {
        x: xs,
        iterations: its,
        est_relres: est,
        converged: est <= settings.tol,
    })
}
