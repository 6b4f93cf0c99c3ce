//! `solvent datagen`: a PDE data set for neural operators, solved as a sequence.

use super::device::{self, Device};
use super::sequence_args::{run_with_progress, SequenceArgs};
use super::{check_output_path, write_json, CliError};
use crate::dataset::{Dataset, Precision};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use solvent_solvers::krylov::{analyse, Method};
use solvent_solvers::sequence::{resolve_plan, SamplerSource, SequenceConfig, Strategy, SystemSource};
use std::path::PathBuf;
use std::process::ExitCode;

fn family_parser() -> impl TypedValueParser<Value = PdeFamily> {
    PossibleValuesParser::new(PdeFamily::ALL.map(PdeFamily::as_str))
        .map(|s| PdeFamily::parse(&s).expect("listed values parse"))
}

/// Arguments of `solvent datagen`.
#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// PDE family: darcy (−∇·(a∇u) = 1, a = exp(GRF)), darcy-threshold (a = 12/3), helmholtz
    /// (−Δu − k²u = f, random k and f), convdiff (random divergence-free velocity), poisson-rhs
    /// (only f varies).
    #[arg(value_parser = family_parser())]
    pub family: PdeFamily,
    /// Interior grid points per side N (n = N² unknowns per system).
    #[arg(long, default_value_t = 64)]
    pub grid: usize,
    /// Number of samples K.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seed of every random draw (sample i depends only on the seed and i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Solver flags.
    #[command(flatten)]
    pub seq: SequenceArgs,
    /// Also solve the same systems with `independent` and print the speed-up.
    #[arg(long)]
    pub baseline: bool,
    /// Output: .npz, or .h5 with the hdf5 feature (PDEBench layout).
    #[arg(long, default_value = "data.npz")]
    pub out: PathBuf,
    /// Element type of the stored fields.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: Precision,
    /// Write the machine-readable report (per-sample iterations, times, residuals) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `solvent datagen`.
pub fn run(args: &DatagenArgs) -> Result<ExitCode, CliError> {
    args.seq.validate()?;
    if args.grid < 2 {
        return Err(CliError::Usage(format!(
            "--grid must be at least 2, got {}",
            args.grid
        )));
    }
    if args.count == 0 {
        return Err(CliError::Usage("--count must be at least 1".into()));
    }
    check_output_path(&args.out, "the data set")?;
    if let Some(p) = &args.json {
        check_output_path(p, "the report")?;
    }
    if !matches!(
        args.out.extension().and_then(|e| e.to_str()),
        Some("npz" | "h5" | "hdf5")
    ) {
        return Err(CliError::Usage(format!(
            "--out {}: unknown format (use .npz, or .h5 with the hdf5 feature)",
            args.out.display()
        )));
    }
    if !cfg!(feature = "hdf5") && args.out.extension().is_some_and(|e| e != "npz") {
        return Err(CliError::Usage(format!(
            "--out {}: HDF5 output needs the `hdf5` feature (cargo build --release --features hdf5, with libhdf5-dev); use .npz",
            args.out.display()
        )));
    }
    let elem = match args.precision {
        Precision::F32 => 4u128,
        Precision::F64 => 8u128,
    };
    let field_bytes = args.count as u128 * (args.grid as u128).pow(2) * elem;
    if args.out.extension().is_some_and(|e| e == "npz") && field_bytes + 1024 >= u32::MAX as u128 {
        return Err(CliError::Usage(format!(
            "--out {}: {} samples of {g}×{g} take {:.1} GB per field, over the 4 GiB .npz member limit; write .h5 (feature hdf5), fewer samples, or --precision f32",
            args.out.display(),
            args.count,
            field_bytes as f64 / 1e9,
            g = args.grid
        )));
    }
    let config = FamilyConfig::new(args.grid, args.seed);
    let sampler = PdeSampler::new(args.family, config)?;
    let source = SamplerSource::new(sampler.clone(), args.count);
    let (a0, _) = source.system(0)?;
    let seq = args.seq.config();
    // only auto's choice needs the predicted fill
    let analysis = match seq.strategy {
        Strategy::Auto => analyse(&a0).with_fill(&a0),
        _ => analyse(&a0),
    };
    drop(a0);
    let constant = sampler.matrix_is_constant();
    let options = args.seq.options();

    let wall = std::time::Instant::now();
    let n = args.grid * args.grid;
    let mut data = Dataset::new(args.count, args.grid);
    let spd = matches!(
        args.family,
        PdeFamily::Darcy | PdeFamily::DarcyThreshold | PdeFamily::PoissonRhs
    );
    let job = args.seq.gpu_capable().and_then(|job| {
        if args.seq.device == Device::Auto && !spd {
            Err(format!(
                "{} systems are not SPD (no batched GPU solve)",
                args.family.as_str()
            ))
        } else {
            Ok(job)
        }
    });
    let ctx = device::open(
        args.seq.device,
        args.count * n,
        job.as_ref().map(|_| ()).map_err(Clone::clone),
        args.quiet,
    )?;
    let run = if let (Some(ctx), Ok(job)) = (&ctx, &job) {
        let sum = device::solve_source(ctx, job, &source, args.quiet, &mut |i, o| {
            data.sol[i * n..(i + 1) * n].copy_from_slice(&o.x);
            data.iters[i] = o.iterations as i64;
            data.relres[i] = o.relres;
            Ok(())
        })?;
        data.solve_s.copy_from_slice(&sum.solve_s_each);
        RunTotals {
            plan: serde_json::json!({"device": "gpu", "adapter": sum.adapter, "precision": sum.precision, "mode": sum.mode}),
            reason: format!(
                "{} on {} ({} on the device)",
                sum.mode, sum.adapter, sum.precision
            ),
            total_iterations: sum.total_iterations,
            solve_s: sum.solve_s,
            ordering_s: 0.0,
            assembly_s: sum.assembly_s,
            failed: sum.failed.clone(),
            report: serde_json::to_value(&sum).unwrap_or_default(),
            notes: String::new(),
        }
    } else {
        // the CPU plan is checked only when the CPU solves (the GPU path has its own rules)
        let plan = resolve_plan(&seq, args.count, &analysis, constant)?;
        let report = run_with_progress(
            &source,
            &plan,
            &options,
            args.seq.strategy.as_str(),
            args.quiet,
            &mut |rec, x| {
                let i = rec.index;
                data.sol[i * n..(i + 1) * n].copy_from_slice(x);
                data.iters[i] = rec.iterations as i64;
                data.relres[i] = rec.relres;
                data.solve_s[i] = rec.setup_s + rec.solve_s;
                Ok(())
            },
        )?;
        RunTotals {
            plan: serde_json::to_value(&report.plan).unwrap_or_default(),
            reason: report.plan.reason.clone(),
            total_iterations: report.total_iterations,
            solve_s: report.solve_s,
            ordering_s: report.ordering_s,
            assembly_s: report.assembly_s,
            failed: report.failed.clone(),
            report: serde_json::to_value(&report).unwrap_or_default(),
            notes: format!("{}{}", report.chains_note(), report.fallback_note()),
        }
    };
    let report = run;
    for i in 0..args.count {
        data.coeff[i * n..(i + 1) * n].copy_from_slice(&sampler.coefficient_field(i));
    }
    if args.family == PdeFamily::Helmholtz {
        data.scalar = Some((
            "k".into(),
            (0..args.count).map(|i| sampler.wave_number(i)).collect(),
        ));
    }
    let baseline = if args.baseline {
        let bconf = SequenceConfig {
            strategy: Strategy::Independent,
            method: args.seq.method.filter(|m| *m != Method::Gcrodr),
            ..seq
        };
        let bplan = resolve_plan(&bconf, args.count, &analysis, constant)?;
        Some(run_with_progress(
            &source,
            &bplan,
            &options,
            "baseline",
            args.quiet,
            &mut |_, _| Ok(()),
        )?)
    } else {
        None
    };
    data.metadata = serde_json::json!({
        "generator": format!("solvent {}", env!("CARGO_PKG_VERSION")),
        "family": args.family.as_str(),
        "equation": args.family.equation(),
        "domain": "unit square, Dirichlet u = 0; the N×N interior points x_j = (j+1)/(N+1), y_i = (i+1)/(N+1); coeff[s, i, j] and sol[s, i, j] sit at (x_j, y_i)",
        "discretisation": "5-point finite differences / finite volumes (harmonic-mean faces for Darcy, first-order upwind convection), matrices scaled by h², b = h² f",
        "grid": args.grid,
        "n": n,
        "count": args.count,
        "seed": args.seed,
        "grf": {"alpha": config.grf.alpha, "tau": config.grf.tau, "covariance": "(-lap + tau^2)^(-alpha) on the unit torus"},
        "k_range": [config.k_range.0, config.k_range.1],
        "eps": config.eps,
        "speed": config.speed,
        "tol": args.seq.tol,
        "strategy": args.seq.strategy.as_str(),
        "plan": report.plan,
        "device": if ctx.is_some() { "gpu" } else { "cpu" },
        "precision": format!("{:?}", args.precision).to_lowercase(),
    });
    data.write(&args.out, args.precision)?;
    let speedup = baseline.as_ref().map(|b| {
        serde_json::json!({
            "time": b.solve_s / report.solve_s.max(1e-12),
            "iterations": (report.total_iterations > 0)
                .then(|| b.total_iterations as f64 / report.total_iterations as f64),
        })
    });
    if let Some(p) = &args.json {
        let v = serde_json::json!({
            "command": "datagen",
            "out": args.out.display().to_string(),
            "metadata": data.metadata,
            "sequence": report.report,
            "baseline": baseline,
            "speedup": speedup,
            "wall_s": wall.elapsed().as_secs_f64(),
        });
        write_json(p, &v)?;
    }
    let worst = data.relres.iter().cloned().fold(0.0, f64::max);
    if !args.quiet {
        println!(
            "Generated {} {} samples on a {g}×{g} grid (n = {n}) → {}",
            args.count,
            args.family.as_str(),
            args.out.display(),
            g = args.grid
        );
        println!(
            "Plan ({}): {}",
            if ctx.is_some() {
                "gpu"
            } else {
                args.seq.strategy.as_str()
            },
            report.reason
        );
        println!(
            "Solve: {} iterations, {:.3} s ({:.2} ms per sample; ordering {:.3} s, assembly {:.3} s){}; largest relative residual {worst:.2e} (tol {:.0e})",
            report.total_iterations,
            report.solve_s,
            1e3 * report.solve_s / args.count as f64,
            report.ordering_s,
            report.assembly_s,
            report.notes,
            args.seq.tol
        );
        if let Some(b) = &baseline {
            let method = match b.plan.method {
                solvent_solvers::sequence::SeqMethod::Krylov {
                    method: Method::Gmres,
                } => {
                    format!("GMRES({})", b.plan.restart)
                }
                solvent_solvers::sequence::SeqMethod::Krylov { method } => {
                    format!("{method:?}").to_uppercase()
                }
                other => format!("{other:?}"),
            };
            let its = if report.total_iterations == 0 {
                "the direct solve needs no iterations".to_string()
            } else {
                format!(
                    "{:.1}x fewer iterations",
                    b.total_iterations as f64 / report.total_iterations as f64
                )
            };
            println!(
                "Baseline ({method} from zero per system, preconditioner {}): {} iterations, {:.3} s{} → {:.2}x faster; {its}",
                serde_json::to_value(b.plan.precond).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                b.total_iterations,
                b.solve_s,
                b.chains_note(),
                b.solve_s / report.solve_s.max(1e-12),
            );
        }
    }
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} of {} systems did not reach tol {:.0e} (samples {:?}); their relres is in the data set",
            report.failed.len(),
            args.count,
            args.seq.tol,
            &report.failed[..report.failed.len().min(10)]
        );
        Ok(ExitCode::from(2))
    }
}

/// What the summary and report need from either path (CPU sequence or GPU batches).
struct RunTotals {
    plan: serde_json::Value,
    reason: String,
    total_iterations: usize,
    solve_s: f64,
    ordering_s: f64,
    assembly_s: f64,
    failed: Vec<usize>,
    report: serde_json::Value,
    /// `SequenceReport::chains_note` and `fallback_note` of the CPU run (empty on the GPU).
    notes: String,
}
