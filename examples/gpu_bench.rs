//! The GPU measurements of `scripts/gpu-bench.sh` (see there): SpMV bandwidth against the
//! device's peak, and Jacobi-CG on 2-D Poisson with n = grid² (default 2000² = 4·10⁶),
//! GPU against CPU, side by side in one run. Prints one table row per line as
//! `| what | value | note |`.
//!
//! Usage: `gpu_bench [GRID] [CG_ITERS]`. The CPU side uses the rayon pool (set
//! `RAYON_NUM_THREADS` to fix its size). Peak bandwidth: `SOLVENT_GPU_PEAK_GBS`, or the
//! datasheet figure for known adapters (H200, H100, A100), or "unknown"; the measured
//! device-to-device copy rate is printed beside it.

use solvent_gpu::cg::{cg_batch, CgSettings};
use solvent_gpu::refine::solve;
use solvent_gpu::vector::{time_spmv, time_stream};
use solvent_gpu::{
    GpuContext, GpuMatrix, GpuMethod, GpuRequest, GpuVector, Precision, RefineSettings, SpmvKernel,
};
use solvent_linalg::precond::PrecondKind;
use solvent_problems::generators::poisson2d;
use solvent_problems::LinearSystemProblem;
use solvent_solvers::krylov::{solve_system, Method, SolveConfig};
use solvent_solvers::Options;
use std::time::Instant;

fn peak_gbs(name: &str) -> Option<f64> {
    if let Some(v) = std::env::var("SOLVENT_GPU_PEAK_GBS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Some(v);
    }
    let n = name.to_lowercase();
    [("h200", 4800.0), ("h100", 3350.0), ("a100", 2039.0)]
        .iter()
        .find(|(k, _)| n.contains(k))
        .map(|&(_, v)| v)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let grid: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let cg_iters: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(300);
    let ctx = GpuContext::new(&GpuRequest { allow_software: true })?;
    let peak = peak_gbs(ctx.name());
    println!(
        "| adapter | {} | f64 kernels: {} |",
        ctx.describe(),
        ctx.has_f64()
    );
    // streaming ceiling: y = x + y over 2 × 512 MiB (f32), 3 × 512 MiB moved per pass
    let len = ((1usize << 27) as u64).min(ctx.max_binding() / 4) as usize;
    let stream_s = time_stream(&ctx, len, Precision::F32, 20)?;
    let copy_gbs = 3.0 * 4.0 * len as f64 / stream_s / 1e9;
    println!(
        "| streaming kernel bandwidth (y = x + y) | {copy_gbs:.0} GB/s | {} |",
        peak.map_or(
            "datasheet peak unknown (set SOLVENT_GPU_PEAK_GBS)".into(),
            |p| format!("{:.0}% of the datasheet peak {p:.0} GB/s", 100.0 * copy_gbs / p)
        )
    );
    let a = poisson2d(grid)?;
    let n = a.nrows();
    let ones = vec![1.0; n];
    let mut precs = vec![Precision::F32];
    if ctx.has_f64() {
        precs.push(Precision::F64);
    }
    for &prec in &precs {
        let x = GpuVector::from_slice(&ctx, &ones, 1, prec)?;
        let y = GpuVector::zeros(&ctx, n, 1, prec)?;
        for kernel in [SpmvKernel::Row, SpmvKernel::Warp] {
            let dev = GpuMatrix::new(&ctx, &a, prec)?.with_kernel(kernel);
            let s = time_spmv(&dev, &x, &y, 50)?;
            let gbs = dev.spmv_bytes(1) / s / 1e9;
            println!(
                "| SpMV {} n = {n}, {kernel:?} kernel{} | {:.3} ms, {gbs:.0} GB/s | {} of datasheet peak, {:.0}% of the streaming kernel |",
                prec.as_str(),
                if kernel == GpuMatrix::new(&ctx, &a, prec)?.kernel() { " (the one picked)" } else { "" },
                s * 1e3,
                peak.map_or("n/a".into(), |p| format!("{:.0}%", 100.0 * gbs / p)),
                100.0 * gbs / copy_gbs
            );
        }
    }
    // CG, fixed iteration count on both sides (same algorithm: Jacobi-PCG from zero)
    let prec = ctx.default_precision();
    let dev = GpuMatrix::new(&ctx, &a, prec)?;
    let fixed = CgSettings {
        tol: 1e-30_f64.max(f32::MIN_POSITIVE as f64 * 1e10),
        max_iters: cg_iters,
        jacobi: true,
        check_every: 50,
        deadline: None,
    };
    cg_batch(
        &dev,
        &ones,
        &CgSettings {
            max_iters: 10,
            ..fixed
        },
    )?; // warm-up (pipelines)
    let t = Instant::now();
    let g = cg_batch(&dev, &ones, &fixed)?;
    let gpu_it = t.elapsed().as_secs_f64() / g.batch_iterations as f64;
    let problem = LinearSystemProblem::new(a.clone(), ones.clone())?;
    let config = SolveConfig::new()
        .method(Method::Cg)
        .precond(Some(PrecondKind::Jacobi));
    let t = Instant::now();
    let c = solve_system(
        &problem,
        &config,
        &Options::default().tol(1e-30).max_iters(cg_iters),
        &mut [],
    )?;
    let cpu_it = t.elapsed().as_secs_f64() / c.report.iterations.max(1) as f64;
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!(
        "| Jacobi-CG per iteration, n = {n} | GPU ({}) {:.3} ms vs CPU ({threads} threads) {:.3} ms | speed-up {:.2}x ({} iterations each) |",
        prec.as_str(),
        gpu_it * 1e3,
        cpu_it * 1e3,
        cpu_it / gpu_it,
        cg_iters
    );
    // full GPU solve to 1e-8 (true residual, refined in f64)
    let t = Instant::now();
    let out = solve(&ctx, &a, &ones, &RefineSettings::new(GpuMethod::Cg, 1e-8, prec))?;
    let gpu_full = t.elapsed().as_secs_f64();
    println!(
        "| CG to 1e-8, n = {n} | GPU {gpu_full:.2} s ({} iterations, {} round(s), true relres {:.1e}) | CPU estimate {:.1} s at its measured per-iteration time: speed-up {:.2}x |",
        out.iterations,
        out.rounds,
        out.relres,
        cpu_it * out.iterations as f64,
        cpu_it * out.iterations as f64 / gpu_full
    );
    Ok(())
}
