//! Device-resident Jacobi-preconditioned CG for a batch of SPD systems.
//!
//! Every vector and scalar stays on the device: an iteration is six launches (SpMV,
//! pᵀq partials, α, fused x/r/z update with the rᵀz and ‖r‖² partials, β with the
//! convergence test, p update), recorded into one compute pass, several iterations
//! per submission. The host reads back the 8-scalar block of each system once per
//! `check_every` iterations. Systems that converge freeze (α = 0) while the others go
//! on, so one launch sequence serves the whole batch, and a batch of one is the
//! single-system solver.

use crate::context::{from_bytes, Precision};
use crate::error::{GpuError, Result};
use crate::kernels::{record, Launch, Module};
use crate::matrix::{check_finite, GpuMatrix};

/// Settings of a device CG run.
#[derive(Clone, Copy, Debug)]
pub struct CgSettings {
    /// Relative tolerance on the recursive residual ‖r‖/‖b‖ (in device precision).
    pub tol: f64,
    /// Iteration limit.
    pub max_iters: usize,
    /// Jacobi preconditioning (needs a positive diagonal).
    pub jacobi: bool,
    /// Iterations between read-backs of the scalars.
    pub check_every: usize,
    /// Stop (not converged) at the first read-back after this instant.
    pub deadline: Option<std::time::Instant>,
}

impl Default for CgSettings {
    fn default() -> Self {
        Self {
            tol: 1e-8,
            max_iters: 10_000,
            jacobi: true,
            check_every: 16,
            deadline: None,
        }
    }
}

/// How a system of the batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgState {
    /// Still iterating when the limit was reached.
    Running,
    /// ‖r‖ ≤ tol·‖b‖ (recursive residual).
    Converged,
    /// pᵀAp ≤ 0 or a non-finite value: the matrix is not SPD, or the data overflowed.
    Breakdown,
}

/// Per-system outcome of [`cg_batch`].
#[derive(Clone, Debug)]
pub struct CgBatchResult {
    /// Solutions, system after system (length systems·n).
    pub x: Vec<f64>,
    /// Iterations each system took.
    pub iterations: Vec<usize>,
    /// Final state of each system.
    pub state: Vec<CgState>,
    /// Recursive ‖r‖/‖b‖ (device precision) of each system.
    pub est_relres: Vec<f64>,
    /// Iterations the batch ran (the slowest system's count).
    pub batch_iterations: usize,
}

/// Solves `A_s x_s = b_s` for every system s of the batch (`rhs` holds systems·n values;
/// the matrix holds one value set per system, or one shared by all), from x = 0.
pub fn cg_batch(a: &GpuMatrix, rhs: &[f64], settings: &CgSettings) -> Result<CgBatchResult> {
    let n = a.n;
    if rhs.is_empty() || !rhs.len().is_multiple_of(n) {
        return Err(GpuError::Shape(format!(
            "right-hand sides of {} values for systems of order {n}",
            rhs.len()
        )));
    }
    let systems = rhs.len() / n;
    if systems as u32 > a.ctx.max_groups() {
        return Err(GpuError::Shape(format!(
            "{systems} systems in one batch exceed the adapter's {} workgroups per dimension; split the batch",
            a.ctx.max_groups()
        )));
    }
    if !(settings.tol > 0.0 && settings.tol < 1.0) || settings.max_iters == 0 {
        return Err(GpuError::Setting(format!(
            "CG needs 0 < tol < 1 and max_iters ≥ 1, got tol {} and max_iters {}",
            settings.tol, settings.max_iters
        )));
    }
    if settings.jacobi && a.min_diag <= 0.0 {
        return Err(GpuError::Setting(format!(
            "Jacobi-preconditioned CG needs a positive diagonal; the smallest diagonal entry is {}",
            a.min_diag
        )));
    }
    check_finite("right-hand side", rhs)?;
    let ctx = &a.ctx;
    let prec = a.prec;
    let what = "CG work vectors (one of x, r, z, p, q)";
    ctx.check_fits(what, rhs.len() as u64 * prec.bytes(), "split the batch")?;
    let b = ctx.upload("right-hand sides", rhs, prec)?;
    let x = ctx.storage(what, rhs.len(), prec)?;
    let r = ctx.storage(what, rhs.len(), prec)?;
    let z = ctx.storage(what, rhs.len(), prec)?;
    let p = ctx.storage(what, rhs.len(), prec)?;
    let q = ctx.storage(what, rhs.len(), prec)?;
    let (dinv_buf, dstride) = a.diagonal_scaling(settings.jacobi)?;
    let dinv = &dinv_buf;
    let np = ctx.groups_for(n);
    let part = ctx.storage("partial sums", 2 * np as usize * systems, prec)?;
    let scal = ctx.storage("CG scalars", 8 * systems, prec)?;
    let tol2 = (settings.tol * settings.tol) as f32;
    let params = ctx.params([n as u32, np, dstride, 0, tol2.to_bits(), 0, 0, 0]);
    let ys = systems as u32;
    let launch = |entry: &'static str, wide: bool, bindings: &[(u32, &wgpu::Buffer)]| -> Result<Launch> {
        let pipeline = ctx.pipeline(Module::Cg, entry, prec)?;
        let mut all = vec![(0u32, &params)];
        all.extend_from_slice(bindings);
        Ok(Launch {
            group: ctx.bind(&pipeline, &all),
            pipeline,
            x: if wide { np } else { 1 },
            y: ys,
        })
    };
    let init = launch(
        "init",
        true,
        &[(2, &part), (3, &b), (4, dinv), (5, &x), (6, &r), (7, &z), (8, &p)],
    )?;
    let init_finish = launch("init_finish", false, &[(1, &scal), (2, &part)])?;
    let spmv = a.spmv_launch(&p, &q, systems, 0, 0)?;
    let pq = launch("pq", true, &[(2, &part), (8, &p), (9, &q)])?;
    let alpha = launch("alpha", false, &[(1, &scal), (2, &part)])?;
    let update = launch(
        "update",
        true,
        &[
            (1, &scal),
            (2, &part),
            (4, dinv),
            (5, &x),
            (6, &r),
            (7, &z),
            (8, &p),
            (9, &q),
        ],
    )?;
    let beta = launch("beta", false, &[(1, &scal), (2, &part)])?;
    let pupdate = launch("pupdate", true, &[(1, &scal), (7, &z), (8, &p)])?;
    let iteration = [&spmv, &pq, &alpha, &update, &beta, &pupdate];

    let sbytes = 8 * systems as u64 * prec.bytes();
    let staging = ctx.staging(sbytes);
    let mut s = vec![0.0; 8 * systems];
    let mut done = 0usize;
    let mut enc = ctx.encoder();
    record(&mut enc, &[&init, &init_finish]);
    loop {
        let chunk = settings.check_every.max(1).min(settings.max_iters - done);
        for _ in 0..chunk {
            record(&mut enc, &iteration);
        }
        done += chunk;
        let raw = ctx.read_back(enc, &scal, &staging, sbytes)?;
        from_bytes(&raw, prec, &mut s);
        let running = (0..systems).any(|i| s[8 * i + 6] > 0.5);
        if !running || done >= settings.max_iters || past(settings.deadline) {
            break;
        }
        enc = ctx.encoder();
    }
    let xbytes = rhs.len() as u64 * prec.bytes();
    let xstage = ctx.staging(xbytes);
    let raw = ctx.read_back(ctx.encoder(), &x, &xstage, xbytes)?;
    let mut xs = vec![0.0; rhs.len()];
    from_bytes(&raw, prec, &mut xs);
    let state = (0..systems)
        .map(|i| match s[8 * i + 6] {
            v if v > 0.5 => CgState::Running,
            v if v < -0.5 => CgState::Breakdown,
            _ => CgState::Converged,
        })
        .collect();
    Ok(CgBatchResult {
        x: xs,
        iterations: (0..systems).map(|i| s[8 * i + 7] as usize).collect(),
        state,
        est_relres: (0..systems)
            .map(|i| {
                let bb = s[8 * i + 5];
                if bb > 0.0 {
                    (s[8 * i + 4] / bb).sqrt()
                } else {
                    0.0
                }
            })
            .collect(),
        batch_iterations: done,
    })
}

/// The precision a `cg_batch` run should use for `tol` on this matrix: f64 on the device
/// reaches any tolerance down to ~1e-13; f32 stops near 1e-6 and needs refinement.
pub fn attainable(prec: Precision) -> f64 {
    match prec {
        Precision::F32 => 1e-5,
        Precision::F64 => 1e-13,
    }
}

/// Whether `deadline` has passed (never for `None`).
pub(crate) fn past(deadline: Option<std::time::Instant>) -> bool {
    deadline.is_some_and(|d| std::time::Instant::now() >= d)
}
