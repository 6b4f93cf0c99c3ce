//! Data generation for neural operators: sample a PDE family, solve its systems as a
//! sequence (on the CPU or a GPU, from one plan), and gather coefficients, solutions and
//! per-sample records into a [`Dataset`] — what `solvent datagen` runs, callable from
//! Rust.
//!
//! ```
//! use solvent_problems::generators::PdeFamily;
//! use solvent_solvers::datagen::{generate, DatagenConfig};
//! use solvent_solvers::sequence::NoProgress;
//!
//! let config = DatagenConfig::new(PdeFamily::Darcy, 16, 4);
//! let out = generate(&config, &mut NoProgress).unwrap();
//! assert_eq!(out.dataset.sol.len(), 4 * 16 * 16);
//! assert!(out.report.failed.is_empty());
//! assert!(out.dataset.relres.iter().all(|&r| r <= 1e-8));
//! ```

mod dataset;
#[cfg(feature = "hdf5")]
mod hdf5;
#[cfg(test)]
mod tests;

pub use dataset::{check_output, grid_name, Dataset, Format, Precision};

use crate::krylov::Method;
use crate::policy::Device;
use crate::sequence::{
    plan_sequence, sequence_order, solve_sequence_piece, solve_sequence_piece_ordered, solve_with_progress,
    SamplerSource, SequenceConfig, SequenceProgress, SequenceReport, Strategy, SystemRecord,
};
use crate::{Options, Result, SolverError};
use serde::Serialize;
use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use std::time::Instant;

/// What to generate and how to solve it.
#[derive(Clone, Copy, Debug)]
pub struct DatagenConfig {
    /// The PDE family.
    pub family: PdeFamily,
    /// Interior grid points per side N (n = N² unknowns per system, N³ for the 3-D
    /// families).
    pub grid: usize,
    /// Samples K.
    pub count: usize,
    /// Seed of every random draw (sample i depends only on the seed and i).
    pub seed: u64,
    /// How to solve the sequence (strategy, method, preconditioner, chains, device).
    pub sequence: SequenceConfig,
    /// Tolerance on each system's relative residual.
    pub tol: f64,
    /// Iteration limit per system.
    pub max_iters: usize,
    /// Also solve everything with `independent` (the published GMRES baseline) and
    /// report the speed-up.
    pub baseline: bool,
    /// Element type the dataset's fields are stored in (recorded in the metadata).
    pub precision: Precision,
    /// The SKR paper's settings ([`FamilyConfig::published`]: its Darcy operator
    /// `L·diag(a)`, fields with α = 2.5 and τ = 7, Helmholtz k ~ U(0, 1)) instead of
    /// Solvent's.
    pub published: bool,
    /// `Some((i, R))`: generate only piece `i` of the `R` contiguous pieces of the
    /// globally sorted sequence — exactly the systems, solutions and records that chain
    /// `i` of a one-process run with `R` chains (`sequence.chains = R`) produces — so
    /// that R processes (a job array, Ray, Dask, MPI) can each make one piece and the
    /// pieces put together ([`Dataset::index`] says where each sample goes) are that
    /// run's data set. Every piece samples the parameters of all `count` samples (cheap)
    /// to compute the order. CPU only; no baseline.
    pub shard: Option<(usize, usize)>,
}

impl DatagenConfig {
    /// `count` samples of `family` on a `grid × grid` grid (`grid³` for the 3-D families),
    /// seed 0, strategy `auto`,
    /// tol 1e-8, at most 20,000 iterations per system, on the CPU, f32 fields.
    pub fn new(family: PdeFamily, grid: usize, count: usize) -> Self {
        Self {
            family,
            grid,
            count,
            seed: 0,
            sequence: SequenceConfig::default(),
            tol: 1e-8,
            max_iters: 20_000,
            baseline: false,
            precision: Precision::F32,
            published: false,
            shard: None,
        }
    }
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.grid < 2 {
            return Err(SolverError::setting("grid", self.grid, "must be at least 2"));
        }
        let dim = self.family.dim() as u32;
        if self
            .grid
            .checked_pow(dim)
            .is_none_or(|n| n >= u32::MAX as usize / 8)
        {
            return Err(SolverError::setting(
                "grid",
                self.grid,
                format!(
                    "{} is too many unknowns per system",
                    grid_name(self.grid, dim as usize)
                ),
            ));
        }
        if self.count == 0 {
            return Err(SolverError::setting("count", 0, "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol > 0.0 && self.tol < 1.0) {
            return Err(SolverError::setting("tol", self.tol, "must be in (0, 1)"));
        }
        if self.max_iters == 0 {
            return Err(SolverError::setting("max_iters", 0, "must be at least 1"));
        }
        if let Some((i, r)) = self.shard {
            if r == 0 || r > self.count {
                return Err(SolverError::setting(
                    "shard",
                    format!("({i}, {r})"),
                    format!(
                        "the number of pieces must be between 1 and the count ({})",
                        self.count
                    ),
                ));
            }
            if i >= r {
                return Err(SolverError::setting(
                    "shard",
                    format!("({i}, {r})"),
                    format!("the piece must be below the number of pieces ({r})"),
                ));
            }
            if self.baseline {
                return Err(SolverError::setting(
                    "shard",
                    format!("({i}, {r})"),
                    "a piece has no baseline: run the baseline on the whole sequence",
                ));
            }
        }
        if self.sequence.restart < 2 {
            return Err(SolverError::setting(
                "restart",
                self.sequence.restart,
                "must be at least 2",
            ));
        }
        Ok(())
    }
    /// The per-system stopping rules.
    pub fn options(&self) -> Options {
        Options::default().tol(self.tol).max_iters(self.max_iters)
    }
}

/// Speed-up of the run over the `independent` baseline.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Speedup {
    /// Baseline solve seconds over the run's.
    pub time: f64,
    /// Baseline iterations over the run's (`None` when the run took none: direct).
    pub iterations: Option<f64>,
}

/// A generated data set and how it was solved.
#[derive(Clone, Debug)]
pub struct Datagen {
    /// Coefficients, solutions, per-sample records and metadata.
    pub dataset: Dataset,
    /// The sequence report (plan, order, per-system records, totals).
    pub report: SequenceReport,
    /// The baseline's report, when asked for.
    pub baseline: Option<SequenceReport>,
    /// Wall-clock seconds of the whole call.
    pub wall_s: f64,
}

impl Datagen {
    /// The speed-up over the baseline, when one ran.
    pub fn speedup(&self) -> Option<Speedup> {
        self.baseline.as_ref().map(|b| Speedup {
            time: b.solve_s / self.report.solve_s.max(1e-12),
            iterations: (self.report.total_iterations > 0)
                .then(|| b.total_iterations as f64 / self.report.total_iterations as f64),
        })
    }
}

/// Generates the data set `config` describes: samples the family, plans the sequence
/// ([`plan_sequence`]: the CPU strategies, or the GPU when `config.sequence.device`
/// allows — under [`Device::Auto`] only for SPD families), solves it, and, with
/// `config.baseline`, solves it again with `independent`. A system that does not
/// converge is recorded (its residual is in the data) and the run goes on; bad settings
/// and unusable systems are errors.
pub fn generate(config: &DatagenConfig, progress: &mut dyn SequenceProgress) -> Result<Datagen> {
    generate_interruptible(config, progress, None)
}

/// [`generate`], stopped early when `interrupt` is set (a front end's Ctrl-C): the
/// running solve stops at its next iteration and no further system starts; what was
/// solved is returned, the rest with a NaN residual and zero fields (and no baseline).
pub fn generate_interruptible(
    config: &DatagenConfig,
    progress: &mut dyn SequenceProgress,
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> Result<Datagen> {
    generate_in(config, progress, interrupt, None)
}

/// The global solve order of the data set `config` describes — what [`generate`]
/// computes before it solves (sampling every sample's parameters, which is cheap) — so
/// that one process computes it and hands it to the processes that each make one piece
/// ([`generate_piece`]).
pub fn datagen_order(config: &DatagenConfig) -> Result<Vec<usize>> {
    config.validate()?;
    let setup = Setup::new(config)?;
    sequence_order(&setup.source, &setup.plan)
}

/// Piece `config.shard` of the data set, solved in the global solve order `order` (from
/// [`datagen_order`]) instead of computing it here: the same systems, solutions and
/// records as [`generate`] with that shard. The piece's data set holds only its samples
/// ([`Dataset::index`]); [`Dataset::place`] puts pieces together.
pub fn generate_piece(
    config: &DatagenConfig,
    order: Vec<usize>,
    progress: &mut dyn SequenceProgress,
) -> Result<Datagen> {
    if config.shard.is_none() {
        return Err(SolverError::setting(
            "shard",
            "none",
            "a piece needs `shard = Some((piece, pieces))`",
        ));
    }
    generate_in(config, progress, None, Some(order))
}

impl DatagenConfig {
    /// The sampler of this configuration's family, grid, seed and preset.
    pub fn sampler(&self) -> Result<PdeSampler> {
        let family_config = if self.published {
            FamilyConfig::published(self.grid, self.seed)
        } else {
            FamilyConfig::new(self.grid, self.seed)
        };
        Ok(PdeSampler::new(self.family, family_config)?)
    }
}

/// Writes the `count` assembled systems of `config` (unsolved) as one `.npz` of CSR
/// arrays in the layout `solvent solve-seq FILE.npz` reads
/// ([`crate::sequence::write_systems_npz`]), with the sampler's ordering features: the
/// same systems can then go to another solver, or to `solve-seq`.
pub fn export_systems(
    config: &DatagenConfig,
    path: &std::path::Path,
    progress: &mut dyn FnMut(usize),
) -> Result<()> {
    config.validate()?;
    let source = SamplerSource::new(config.sampler()?, config.count);
    crate::sequence::write_systems_npz(&source, path, progress)
}

/// What every generation starts from: the sampler, its systems, the effective sequence
/// settings and the plan.
struct Setup {
    sampler: PdeSampler,
    source: SamplerSource,
    seq: SequenceConfig,
    plan: crate::sequence::SequencePlan,
}

impl Setup {
    fn new(config: &DatagenConfig) -> Result<Self> {
        let sampler = config.sampler()?;
        let source = SamplerSource::new(sampler.clone(), config.count);
        let mut seq = config.sequence;
        if config.published && config.family == PdeFamily::Darcy && seq.precond.is_none() {
            // the paper's Darcy runs (19.1x fewer iterations) used no preconditioner
            seq.precond = Some(solvent_linalg::precond::PrecondKind::None);
        }
        if seq.device == Device::Auto && (!config.family.is_spd() || config.shard.is_some()) {
            // the batched device path is measured on SPD families only (and solves whole
            // sequences, not pieces)
            seq.device = Device::Cpu;
        }
        if let Some((_, r)) = config.shard {
            // the plan of the one-process run with R chains
            seq.chains = r;
        }
        let plan = plan_sequence(&source, &seq)?;
        Ok(Self {
            sampler,
            source,
            seq,
            plan,
        })
    }
}

fn generate_in(
    config: &DatagenConfig,
    progress: &mut dyn SequenceProgress,
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    order: Option<Vec<usize>>,
) -> Result<Datagen> {
    config.validate()?;
    let wall = Instant::now();
    let (k, g) = (config.count, config.grid);
    let dim = config.family.dim();
    let n = g.pow(dim as u32);
    // the data set is held in memory until it is written (coefficients and solutions in
    // f64; a piece holds its own samples only), and each chain holds one system, its
    // Krylov basis and work vectors
    let held = config.shard.map_or(k, |(_, r)| k.div_ceil(r));
    let chains = if config.shard.is_some() {
        1
    } else {
        config.sequence.chains.max(1)
    };
    let data_bytes = (2 * held * n + 4 * held) as f64 * 8.0;
    let basis = (config.sequence.restart
        + 2 * config
            .sequence
            .recycle
            .unwrap_or(crate::sequence::DEFAULT_RECYCLE)
        + 12) as f64;
    // a (2·dim + 1)-point stencil: 12 bytes per stored entry
    let system_bytes = n as f64 * ((2 * dim + 1) as f64 * 12.0 + 8.0 * basis);
    solvent_linalg::mem::check(
        data_bytes + system_bytes * chains as f64,
        &format!(
            "{held} samples on a {} grid (the data set {}, each system being solved {})",
            grid_name(g, dim),
            solvent_linalg::mem::human(data_bytes),
            solvent_linalg::mem::human(system_bytes)
        ),
    )?;
    let Setup {
        sampler,
        source,
        seq,
        plan,
    } = Setup::new(config)?;
    let options = match interrupt {
        Some(flag) => config.options().interrupt(flag),
        None => config.options(),
    };
    // the samples of this data set (all, or the piece's), and where each sample goes
    let mut slot: Vec<Option<usize>> = vec![None; k];
    let mut solutions: Vec<(usize, Vec<f64>, SystemRecord)> = Vec::new();
    let mut record = |rec: &SystemRecord, x: &[f64]| {
        solutions.push((rec.index, x.to_vec(), rec.clone()));
        Ok(())
    };
    let report = match config.shard {
        Some((piece, pieces)) => {
            progress.start(seq.strategy.as_str(), k.div_ceil(pieces));
            let mut on_done = |rec: &SystemRecord, x: &[f64]| {
                progress.system(rec);
                record(rec, x)
            };
            let r = match order {
                Some(order) => {
                    solve_sequence_piece_ordered(&source, &plan, &options, order, piece, pieces, &mut on_done)
                }
                None => solve_sequence_piece(&source, &plan, &options, piece, pieces, &mut on_done),
            };
            progress.finish();
            r?
        }
        None => solve_with_progress(
            &source,
            &plan,
            &options,
            seq.strategy.as_str(),
            progress,
            &mut record,
        )?,
    };
    let mut samples: Vec<usize> = match config.shard {
        Some(_) => solutions.iter().map(|s| s.0).collect(),
        None => (0..k).collect(),
    };
    samples.sort_unstable();
    for (j, &i) in samples.iter().enumerate() {
        slot[i] = Some(j);
    }
    let mut data = Dataset::with_dim(samples.len(), g, dim);
    for (i, x, rec) in solutions {
        let Some(j) = slot[i] else { continue };
        data.sol[j * n..(j + 1) * n].copy_from_slice(&x);
        data.iters[j] = rec.iterations as i64;
        data.relres[j] = rec.relres;
        data.solve_s[j] = rec.setup_s + rec.solve_s;
    }
    let interrupted = options.is_interrupted();
    for (j, &i) in samples.iter().enumerate() {
        if interrupted && data.relres[j].is_nan() {
            // not solved before the interruption: no fields (NaN residual), no waiting
            continue;
        }
        data.coeff[j * n..(j + 1) * n].copy_from_slice(&sampler.coefficient_field(i));
    }
    if config.family.has_wave_number() {
        data.scalar = Some((
            "k".into(),
            samples.iter().map(|&i| sampler.wave_number(i)).collect(),
        ));
    }
    if config.shard.is_some() {
        data.index = Some(samples.iter().map(|&i| i as i64).collect());
    }
    let baseline = if config.baseline && !interrupted {
        let bconf = SequenceConfig {
            strategy: Strategy::Independent,
            method: seq.method.filter(|m| *m != Method::Gcrodr),
            device: Device::Cpu,
            ..seq
        };
        let bplan = plan_sequence(&source, &bconf)?;
        Some(solve_with_progress(
            &source,
            &bplan,
            &options,
            "baseline",
            progress,
            &mut |_, _| Ok(()),
        )?)
    } else {
        None
    };
    let mut metadata = sampler.metadata();
    if let Some(m) = metadata.as_object_mut() {
        m.insert(
            "generator".into(),
            format!("solvent {}", env!("CARGO_PKG_VERSION")).into(),
        );
        m.insert("count".into(), k.into());
        if let Some((piece, pieces)) = config.shard {
            m.insert("shard".into(), serde_json::json!([piece, pieces]));
        }
        m.insert("tol".into(), config.tol.into());
        m.insert("strategy".into(), seq.strategy.as_str().into());
        m.insert(
            "plan".into(),
            serde_json::to_value(&report.plan).unwrap_or_default(),
        );
        m.insert("device".into(), device_name(&report).into());
        m.insert("precision".into(), config.precision.as_str().into());
    }
    data.metadata = metadata;
    Ok(Datagen {
        dataset: data,
        report,
        baseline,
        wall_s: wall.elapsed().as_secs_f64(),
    })
}

/// `"gpu"` or `"cpu"`: where a report's plan ran.
pub fn device_name(report: &SequenceReport) -> &'static str {
    match report.plan.backend {
        crate::sequence::Backend::Cpu => "cpu",
        #[cfg(feature = "gpu")]
        crate::sequence::Backend::Gpu(_) => "gpu",
    }
}
