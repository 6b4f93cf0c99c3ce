//! `--device cpu|gpu|auto`: where the solves of `solve`, `solve-seq` and `datagen` run,
//! and the GPU paths they share.
//!
//! `gpu` opens an adapter (software ones such as lavapipe included) or fails with the
//! list of adapters found. `auto` takes a hardware GPU when there is one and the work
//! is large enough to gain ([`AUTO_MIN_UNKNOWNS`] unknowns in total), else the CPU.
//! On the GPU, sequences with one pattern are solved as batches (one launch sequence for
//! many systems): device CG when SPD, device GMRES otherwise; `--method gcrodr` instead
//! solves them one at a time carrying GCRO-DR's recycled space along the sequence. Every
//! solution is refined in f64 on the CPU to the requested tolerance.

use super::CliError;
use clap::ValueEnum;
use rayon::prelude::*;
use solvent_gpu::gcrodr::GpuGcroDr;
use solvent_gpu::refine::{solve, solve_batch, solve_recycled};
use solvent_gpu::{GpuContext, GpuMethod, GpuRequest, RefineSettings, SystemOutcome};
use solvent_linalg::precond::PrecondKind;
use solvent_linalg::CsrMatrix;
use solvent_solvers::krylov::{analyse, Method};
use solvent_solvers::sequence::SystemSource;
use std::sync::Arc;
use std::time::Instant;

/// Where to solve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The CPU solvers.
    Cpu,
    /// A GPU through wgpu (fails when none can be opened).
    Gpu,
    /// A hardware GPU when present and the work is large enough, else the CPU.
    Auto,
}

/// Total unknowns (over all systems) from which `--device auto` prefers a hardware GPU.
pub const AUTO_MIN_UNKNOWNS: usize = 1_000_000;

/// Opens the device the flag asks for: `None` means the CPU. `work` is the total number
/// of unknowns; `gpu_capable` is false when the GPU path cannot serve this run (then
/// `auto` stays on the CPU and `gpu` is an error naming why).
pub fn open(
    device: Device,
    work: usize,
    gpu_capable: Result<(), String>,
    quiet: bool,
) -> Result<Option<Arc<GpuContext>>, CliError> {
    match device {
        Device::Cpu => Ok(None),
        Device::Gpu => {
            gpu_capable.map_err(|why| CliError::Usage(format!("--device gpu: {why}")))?;
            Ok(Some(GpuContext::new(&GpuRequest { allow_software: true })?))
        }
        Device::Auto => {
            if work < AUTO_MIN_UNKNOWNS || gpu_capable.is_err() {
                return Ok(None);
            }
            match GpuContext::new(&GpuRequest {
                allow_software: false,
            }) {
                Ok(c) => Ok(Some(c)),
                Err(e) => {
                    if !quiet {
                        eprintln!("note: --device auto: {e}; solving on the CPU");
                    }
                    Ok(None)
                }
            }
        }
    }
}

/// Checks that a method/preconditioner request can run on the GPU.
pub fn gpu_method(method: Option<Method>, precond: Option<PrecondKind>) -> Result<Option<GpuMethod>, String> {
    let m = match method {
        None | Some(Method::Auto) => None,
        Some(Method::Cg) => Some(GpuMethod::Cg),
        Some(Method::Gmres) => Some(GpuMethod::Gmres),
        Some(Method::Gcrodr) => Some(GpuMethod::Gcrodr),
        Some(other) => {
            return Err(format!(
                "method {} does not run on the GPU (cg, gmres, gcrodr or auto do)",
                format!("{other:?}").to_lowercase()
            ))
        }
    };
    match precond {
        None | Some(PrecondKind::Jacobi) | Some(PrecondKind::None) => Ok(m),
        Some(k) => Err(format!(
            "preconditioner {} does not run on the GPU (jacobi, none or auto do)",
            k.as_str()
        )),
    }
}

/// The settings of GPU solves for a CLI run.
#[derive(Clone, Copy, Debug)]
pub struct GpuJob {
    /// Method, or `None` to pick CG for symmetric matrices with a positive diagonal, GMRES otherwise.
    pub method: Option<GpuMethod>,
    /// Jacobi preconditioning (default on).
    pub jacobi: bool,
    /// Tolerance on the true relative residual.
    pub tol: f64,
    /// Iteration limit per system.
    pub max_iters: usize,
    /// GMRES / GCRO-DR basis size.
    pub restart: usize,
    /// GCRO-DR recycled vectors.
    pub recycle: usize,
}

impl GpuJob {
    fn settings(&self, ctx: &GpuContext, method: GpuMethod) -> RefineSettings {
        let mut s = RefineSettings::new(method, self.tol, ctx.default_precision());
        s.max_iters = self.max_iters;
        s.restart = self.restart;
        s.recycle = self.recycle.min(self.restart.saturating_sub(1)).max(1);
        s.jacobi = self.jacobi;
        s
    }
    /// Whether [`GpuJob::rescue`] applies: the method was chosen automatically and CG
    /// found the matrix indefinite.
    fn needs_rescue(&self, o: &SystemOutcome) -> bool {
        self.method.is_none() && o.indefinite
    }
    /// Solves again, with device GMRES(m) + Jacobi, a system CG found indefinite
    /// (symmetric with a positive diagonal, but not positive definite: Helmholtz) — the
    /// CPU's `auto` retries with MINRES, which the device lacks. The outcome counts both
    /// runs' iterations and says so in its note.
    fn rescue(
        &self,
        ctx: &Arc<GpuContext>,
        a: &CsrMatrix,
        b: &[f64],
        first: SystemOutcome,
    ) -> Result<SystemOutcome, CliError> {
        let mut o = solve(ctx, a, b, &self.settings(ctx, GpuMethod::Gmres))?;
        o.iterations += first.iterations;
        o.rounds += first.rounds;
        let retry = format!(
            "CG found the matrix indefinite: solved again with device GMRES({})",
            self.restart
        );
        o.note = Some(match o.note {
            Some(why) => format!("{retry}, which stopped short: {why}"),
            None => retry,
        });
        Ok(o)
    }
    fn method_for(&self, a: &CsrMatrix) -> GpuMethod {
        self.method.unwrap_or_else(|| {
            let an = analyse(a);
            if an.symmetric && an.positive_diagonal {
                GpuMethod::Cg
            } else {
                GpuMethod::Gmres
            }
        })
    }
}

/// Solves one system on the GPU.
pub fn solve_one(
    ctx: &Arc<GpuContext>,
    job: &GpuJob,
    a: &CsrMatrix,
    b: &[f64],
) -> Result<(SystemOutcome, GpuMethod), CliError> {
    let method = job.method_for(a);
    let first = solve(ctx, a, b, &job.settings(ctx, method))?;
    if job.needs_rescue(&first) {
        return Ok((job.rescue(ctx, a, b, first)?, GpuMethod::Gmres));
    }
    Ok((first, method))
}

/// Totals of a GPU sequence run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GpuRunSummary {
    /// Adapter used.
    pub adapter: String,
    /// Device precision (refined to f64 on the CPU).
    pub precision: &'static str,
    /// How the systems were solved.
    pub mode: String,
    /// Device iterations over all systems.
    pub total_iterations: usize,
    /// Seconds in the device solves (uploads, refinement included).
    pub solve_s: f64,
    /// Seconds assembling systems on the CPU.
    pub assembly_s: f64,
    /// Systems (indices) that missed the tolerance.
    pub failed: Vec<usize>,
    /// Iterations per system, in source order.
    pub iterations: Vec<usize>,
    /// True relative residual per system.
    pub relres: Vec<f64>,
    /// Solve seconds attributed to each system (a batch's time split evenly).
    pub solve_s_each: Vec<f64>,
}

/// Largest batch that fits the adapter's binding limit and dispatch size (`basis`: the
/// Krylov vectors per system GMRES keeps, 0 for CG).
fn batch_capacity(ctx: &GpuContext, n: usize, nnz: usize, basis: usize, bytes: u64) -> usize {
    let per = (nnz.max(n).max(basis * n) as u64) * bytes;
    let by_binding = (ctx.max_binding() / per.max(1)) as usize;
    let by_dispatch = ctx.max_groups() as usize / basis.max(1);
    by_binding.min(by_dispatch).clamp(1, 4096)
}

/// Solves every system of `source` on the GPU, calling `on_done(i, outcome)` in source
/// order. SPD systems sharing one pattern go in batches through device CG; the rest one
/// by one (CG or GMRES by the job's rule).
pub fn solve_source(
    ctx: &Arc<GpuContext>,
    job: &GpuJob,
    source: &dyn SystemSource,
    quiet: bool,
    on_done: &mut dyn FnMut(usize, &SystemOutcome) -> Result<(), CliError>,
) -> Result<GpuRunSummary, CliError> {
    let k = source.len();
    let (a0, _) = source.system(0)?;
    let method = job.method_for(&a0);
    let precision = ctx.default_precision();
    let constant = source.matrix_is_constant() == Some(true);
    let mut sum = GpuRunSummary {
        adapter: ctx.describe(),
        precision: precision.as_str(),
        mode: String::new(),
        total_iterations: 0,
        solve_s: 0.0,
        assembly_s: 0.0,
        failed: Vec::new(),
        iterations: vec![0; k],
        relres: vec![0.0; k],
        solve_s_each: vec![0.0; k],
    };
    let progress = super::sequence_args::progress(k, "gpu", quiet);
    let mut record =
        |sum: &mut GpuRunSummary, i: usize, o: &SystemOutcome, secs: f64| -> Result<(), CliError> {
            sum.total_iterations += o.iterations;
            sum.iterations[i] = o.iterations;
            sum.relres[i] = o.relres;
            sum.solve_s_each[i] = secs;
            if !o.converged {
                sum.failed.push(i);
            }
            progress.inc(1);
            progress.set_message(format!("{} its, residual {:.1e}", o.iterations, o.relres));
            on_done(i, o)
        };
    if method != GpuMethod::Gcrodr {
        let basis = if method == GpuMethod::Gmres {
            job.restart + 1
        } else {
            0
        };
        let cap = batch_capacity(ctx, a0.nrows(), a0.nnz(), basis, precision.bytes());
        sum.mode = match method {
            GpuMethod::Cg => format!(
                "batched Jacobi-PCG on the device ({} systems per batch)",
                cap.min(k)
            ),
            _ => format!(
                "batched GMRES({}) with Jacobi on the device ({} systems per batch)",
                job.restart,
                cap.min(k)
            ),
        } + ", f64 refinement";
        let settings = job.settings(ctx, method);
        let mut start = 0;
        let mut rescued = 0usize;
        while start < k {
            let end = (start + cap).min(k);
            let t = Instant::now();
            let mut values = Vec::new();
            let mut rhs = Vec::new();
            let mut members = Vec::new();
            let mut loners = Vec::new();
            // assemble the batch on all cores, then sort it into batch members and loners
            let systems: Vec<(CsrMatrix, Vec<f64>)> = (start..end)
                .into_par_iter()
                .map(|i| source.system(i))
                .collect::<Result<_, _>>()?;
            for (i, (a, b)) in (start..end).zip(systems) {
                let same = a.row_ptr() == a0.row_ptr() && a.col_idx() == a0.col_idx();
                if !same {
                    loners.push((i, a, b));
                    continue;
                }
                if !constant || values.is_empty() {
                    values.extend_from_slice(a.values());
                }
                rhs.extend_from_slice(&b);
                members.push(i);
            }
            sum.assembly_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let outs = if members.is_empty() {
                Vec::new()
            } else {
                solve_batch(ctx, &a0, &values, &rhs, &settings)?
            };
            let each = t.elapsed().as_secs_f64() / members.len().max(1) as f64;
            sum.solve_s += t.elapsed().as_secs_f64();
            let mut results: Vec<(usize, SystemOutcome, f64)> =
                members.into_iter().zip(outs).map(|(i, o)| (i, o, each)).collect();
            for (i, a, b) in loners {
                let t = Instant::now();
                let o = solve(ctx, &a, &b, &settings)?;
                let s = t.elapsed().as_secs_f64();
                sum.solve_s += s;
                results.push((i, o, s));
            }
            results.sort_by_key(|r| r.0);
            for (i, o, s) in results {
                let (o, s) = if job.needs_rescue(&o) {
                    // assembled again: the batch keeps only the values
                    let (a, b) = source.system(i)?;
                    let t = Instant::now();
                    let o = job.rescue(ctx, &a, &b, o)?;
                    let again = t.elapsed().as_secs_f64();
                    sum.solve_s += again;
                    rescued += 1;
                    (o, s + again)
                } else {
                    (o, s)
                };
                record(&mut sum, i, &o, s)?;
            }
            start = end;
        }
        if rescued > 0 {
            sum.mode += &format!(
                "; CG found {rescued} systems indefinite, solved again with device GMRES({}) + Jacobi",
                job.restart
            );
        }
    } else {
        let settings = job.settings(ctx, method);
        let mut recycler = if method == GpuMethod::Gcrodr {
            sum.mode = format!(
                "device GCRO-DR({}, {}) one system at a time, the recycled space carried along the sequence, f64 refinement",
                settings.restart, settings.recycle
            );
            Some(GpuGcroDr::new(
                ctx,
                a0.nrows(),
                settings.restart,
                settings.recycle,
                precision,
            )?)
        } else {
            sum.mode = format!(
                "device GMRES({}) one system at a time, f64 refinement",
                settings.restart
            );
            None
        };
        for i in 0..k {
            let t = Instant::now();
            let (a, b) = source.system(i)?;
            sum.assembly_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let o = match recycler.as_mut() {
                Some(r) if a.nrows() == a0.nrows() => {
                    solve_recycled(r, &a, &b, &settings, !(constant && i > 0))?
                }
                _ => solve(ctx, &a, &b, &settings)?,
            };
            let s = t.elapsed().as_secs_f64();
            sum.solve_s += s;
            record(&mut sum, i, &o, s)?;
        }
    }
    progress.finish_and_clear();
    Ok(sum)
}
