//! A sequence on the GPU: batches with one launch sequence each (CG when SPD-like,
//! GMRES otherwise), or GCRO-DR one system at a time carrying the recycled space.

use super::job::{method_name, GpuJob};
use crate::metrics::Criterion;
use crate::sequence::{
    check_shape, GpuBackend, MatrixChange, OnDone, SequencePlan, SequenceReport, SystemRecord, SystemSource,
};
use crate::{Options, Result, Status};
use rayon::prelude::*;
use solvent_gpu::gcrodr::GpuGcroDr;
use solvent_gpu::refine::{solve, solve_batch, solve_recycled};
use solvent_gpu::{GpuContext, GpuMethod, SystemOutcome};
use solvent_linalg::CsrMatrix;
use std::time::Instant;

/// Largest batch that fits the adapter's binding limit and dispatch size (`basis`: the
/// Krylov vectors per system GMRES keeps, 0 for CG).
fn batch_capacity(ctx: &GpuContext, n: usize, nnz: usize, basis: usize, bytes: u64) -> usize {
    let per = (nnz.max(n).max(basis * n) as u64) * bytes;
    let by_binding = (ctx.max_binding() / per.max(1)) as usize;
    let by_dispatch = ctx.max_groups() as usize / basis.max(1);
    by_binding.min(by_dispatch).clamp(1, 4096)
}

/// The record of a device outcome.
fn record(
    i: usize,
    o: &SystemOutcome,
    tol: f64,
    solve_s: f64,
    assembly_s: f64,
    change: MatrixChange,
) -> SystemRecord {
    let status = if o.converged {
        Status::Converged {
            criterion: Criterion::RelativeResidual,
            value: o.relres,
            tol,
        }
    } else {
        match &o.note {
            Some(why) => Status::Stalled { detail: why.clone() },
            None => Status::IterationLimit { limit: o.iterations },
        }
    };
    SystemRecord {
        index: i,
        position: i,
        iterations: o.iterations,
        setup_s: 0.0,
        solve_s,
        assembly_s,
        relres: o.relres,
        converged: o.converged,
        status,
        change,
        reused: false,
        initial_relres: 1.0,
        switched_to_minres: false,
        fallback: o.note.clone().filter(|_| o.converged),
    }
}

/// Solves every system of `source` on the GPU of `gpu`, in the given order, calling
/// `on_done` in source order; SPD-like systems sharing one pattern go in batches through
/// device CG, others through batched GMRES, and `--method gcrodr` one at a time with the
/// recycled space carried along. Every solution is refined in f64 on the CPU.
pub(crate) fn solve_sequence(
    gpu: &GpuBackend,
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    options.validate()?;
    let wall = Instant::now();
    let ctx = &gpu.ctx;
    let job = GpuJob::new(gpu.requested, gpu.precond, options, plan.restart, plan.recycle);
    let tol = job.tol;
    let k = source.len();
    let t = Instant::now();
    let (a0, _) = source.system(0)?;
    let first_assembly = t.elapsed().as_secs_f64();
    let method = gpu.method;
    let precision = ctx.default_precision();
    let constant = source.matrix_is_constant() == Some(true);
    let mut records: Vec<Option<SystemRecord>> = vec![None; k];
    let mut emit = |i: usize, o: SystemOutcome, secs: f64, asm: f64, change: MatrixChange| -> Result<()> {
        let rec = record(i, &o, tol, secs, asm, change);
        on_done(&rec, &o.x)?;
        records[i] = Some(rec);
        Ok(())
    };
    let mut mode;
    let mut assembly_s = 0.0;
    if method != GpuMethod::Gcrodr {
        let basis = if method == GpuMethod::Gmres {
            job.restart + 1
        } else {
            0
        };
        let cap = batch_capacity(ctx, a0.nrows(), a0.nnz(), basis, precision.bytes());
        mode = match method {
            GpuMethod::Cg => format!(
                "batched Jacobi-PCG on the device ({} systems per batch)",
                cap.min(k)
            ),
            _ => format!(
                "batched {} with Jacobi on the device ({} systems per batch)",
                method_name(method, &job),
                cap.min(k)
            ),
        } + ", f64 refinement";
        let settings = job.settings(ctx, method);
        let mut start = 0;
        let mut rescued = 0usize;
        let mut prev: Option<CsrMatrix> = None;
        while start < k {
            let end = (start + cap).min(k);
            let t = Instant::now();
            // assemble the batch on all cores, then sort it into batch members and loners
            let systems: Vec<(CsrMatrix, Vec<f64>)> = (start..end)
                .into_par_iter()
                .map(|i| source.system(i))
                .collect::<Result<_>>()?;
            let batch_assembly = t.elapsed().as_secs_f64();
            assembly_s += batch_assembly;
            let asm_each = batch_assembly / (end - start) as f64;
            let mut changes = Vec::with_capacity(end - start);
            for (a, _) in &systems {
                changes.push(MatrixChange::between(prev.as_ref(), a));
                prev = Some(a.clone());
            }
            let (mut values, mut rhs, mut members, mut loners) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (i, (a, b)) in (start..end).zip(systems) {
                check_shape(source, i, &a, &b, a0.nrows())?;
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
            let t = Instant::now();
            let outs = if members.is_empty() {
                Vec::new()
            } else {
                solve_batch(ctx, &a0, &values, &rhs, &settings)?
            };
            let each = t.elapsed().as_secs_f64() / members.len().max(1) as f64;
            let mut results: Vec<(usize, SystemOutcome, f64)> =
                members.into_iter().zip(outs).map(|(i, o)| (i, o, each)).collect();
            for (i, a, b) in loners {
                let t = Instant::now();
                let o = solve(ctx, &a, &b, &settings)?;
                results.push((i, o, t.elapsed().as_secs_f64()));
            }
            results.sort_by_key(|r| r.0);
            for (i, o, s) in results {
                let (o, s) = if job.rescues(method) && o.indefinite {
                    // assembled again: the batch keeps only the values
                    let (a, b) = source.system(i)?;
                    let t = Instant::now();
                    let o = job.rescue(ctx, &a, &b, o)?;
                    rescued += 1;
                    (o, s + t.elapsed().as_secs_f64())
                } else {
                    (o, s)
                };
                emit(i, o, s, asm_each, changes[i - start])?;
            }
            start = end;
        }
        if rescued > 0 {
            mode += &format!(
                "; CG found {rescued} systems indefinite, solved again with device {} + Jacobi",
                method_name(crate::policy::GPU_BREAKDOWN_RETRY, &job)
            );
        }
    } else {
        let settings = job.settings(ctx, method);
        mode = format!(
            "device {} one system at a time, the recycled space carried along the sequence, f64 refinement",
            method_name(method, &job)
        );
        let mut recycler = GpuGcroDr::new(ctx, a0.nrows(), settings.restart, settings.recycle, precision)?;
        let mut prev: Option<CsrMatrix> = None;
        for i in 0..k {
            let t = Instant::now();
            let (a, b) = if i == 0 {
                (a0.clone(), source.system(0)?.1)
            } else {
                source.system(i)?
            };
            let asm = if i == 0 {
                first_assembly
            } else {
                t.elapsed().as_secs_f64()
            };
            assembly_s += asm;
            check_shape(source, i, &a, &b, a0.nrows())?;
            let change = MatrixChange::between(prev.as_ref(), &a);
            let t = Instant::now();
            let o = solve_recycled(&mut recycler, &a, &b, &settings, !(constant && i > 0))?;
            emit(i, o, t.elapsed().as_secs_f64(), asm, change)?;
            prev = Some(a);
        }
    }
    let systems: Vec<SystemRecord> = records.into_iter().flatten().collect();
    let mut plan = plan.clone();
    plan.reason = format!(
        "{} on {} ({} on the device)",
        mode,
        ctx.describe(),
        precision.as_str()
    );
    Ok(SequenceReport {
        plan,
        order: (0..k).collect(),
        ordering_s: 0.0,
        total_iterations: systems.iter().map(|r| r.iterations).sum(),
        solve_s: systems.iter().map(|r| r.solve_s).sum(),
        assembly_s,
        failed: systems.iter().filter(|r| !r.converged).map(|r| r.index).collect(),
        systems,
        wall_s: wall.elapsed().as_secs_f64(),
        solve_wall_s: wall.elapsed().as_secs_f64(),
    })
}
