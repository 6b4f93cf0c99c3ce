//! What to carry along a sequence: the strategies and the plan they resolve to.

use crate::krylov::Method;
use crate::policy::{self, Device, DeviceChoice, MatrixAnalysis};
use crate::{Result, SolverError};
use serde::Serialize;
use solvent_linalg::precond::PrecondKind;

/// The refresh interval of the recycled space that `auto` uses (and `skr` with
/// `refresh_every: Some(4)`). The published GCRO-DR refreshes every cycle ([`Strategy::Skr`]
/// does); on Darcy n = 10⁴ (`benches/sequence.rs`), refreshing every 4th cycle costs
/// ~7% more iterations than every cycle but ~30% less time: a refresh (three
/// `n × m × k` products and an `m × m` eigenproblem) costs about as much as the cycle's
/// Arnoldi steps.
pub const DEFAULT_REFRESH_EVERY: usize = 4;

/// Recycled vectors of GCRO-DR(m, k) under `skr` when none are named (the published
/// method's k = m/2 at the default m = 40).
pub const DEFAULT_RECYCLE: usize = 20;

/// Recycled vectors under `auto` when none are named, which runs GCRO-DR(m + k, k) (from
/// [`crate::policy::AUTO_RECYCLE_MIN_N`] unknowns): each cycle builds as many new Krylov
/// vectors as GMRES(m), plus k recycled ones. On convdiff3d (ILU(0), tol 1e-8;
/// `benches/seq3d_peers.sh`), k = 5 needed 11–16% fewer iterations than GMRES(40) +
/// ILU(0) at 1.38x (30³), 1.18x (60³) and 1.10x (80³) its time per iteration;
/// GCRO-DR(40, 20) needed as few iterations but cost 1.6x–1.9x per iteration (every
/// Arnoldi step orthogonalises against the k recycled vectors too, and these solves take
/// only one to three cycles).
pub const AUTO_RECYCLE: usize = 5;

/// The user-facing choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Every system from zero in the given order, with GMRES(m) (or the
    /// chosen Krylov method): the published baseline.
    Independent,
    /// Sorted, then GCRO-DR(m, k) from zero, carrying the recycled space:
    /// the published SKR method.
    Skr,
    /// Every trick, chosen per sequence (see [`resolve_plan`]).
    Auto,
}

solvent_linalg::named_enum!(Strategy, "strategy" {
    Auto => "auto",
    Skr => "skr",
    Independent => "independent",
});

/// How systems are ordered before solving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// As given.
    Given,
    /// Greedy nearest neighbour on the full parameter vectors (`O(K² d)`).
    Greedy,
    /// Random projection + chunked greedy (`O(K d)`), for large K.
    Projected,
}

/// The per-system solver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SeqMethod {
    /// A Krylov method of [`crate::krylov`], from scratch each system.
    Krylov {
        /// Which one.
        method: Method,
    },
    /// GCRO-DR(m, k), carrying the recycled space.
    GcroDr,
    /// Deflated CG (SPD), carrying its deflation space of `recycle` vectors.
    DeflatedCg,
    /// Sparse direct: symbolic analysis reused along the sequence, and
    /// the numeric factor too while the matrix does not change.
    Direct,
}

/// A fully resolved plan.
#[derive(Clone, Debug, Serialize)]
pub struct SequencePlan {
    /// Ordering.
    pub order: OrderKind,
    /// Per-system solver.
    pub method: SeqMethod,
    /// Preconditioner of iterative methods.
    pub precond: PrecondKind,
    /// Start each solve from the previous solution (optimally scaled).
    pub warm_start: bool,
    /// Keep the preconditioner while the matrix changes by less than
    /// [`SequencePlan::reuse_tol`] (relative Frobenius norm) from the one it
    /// was built for.
    pub reuse_precond: bool,
    /// Threshold for preconditioner reuse.
    pub reuse_tol: f64,
    /// Basis size `m` (GMRES and GCRO-DR).
    pub restart: usize,
    /// Recycled vectors `k` (GCRO-DR).
    pub recycle: usize,
    /// GCRO-DR refreshes its recycled space every this many cycles (and at
    /// the end of a solve that had no refresh yet); see
    /// [`crate::krylov::GcroDr::refresh_every`].
    pub refresh_every: usize,
    /// Contiguous pieces the solve order is cut into, solved at once on one thread
    /// each. Every chain carries its own recycled space, warm start, preconditioner
    /// and factor, so each chain's first system starts cold; the results depend on
    /// the number of chains, never on thread timing. 1 (the default): one chain, the
    /// published method; 0 is taken as 1, and more chains than systems as one per
    /// system (the report's plan holds the number that ran).
    pub chains: usize,
    /// With [`SeqMethod::Krylov`] CG only: when CG breaks down on a system (a direction
    /// of non-positive curvature: the matrix is not positive definite, as a Helmholtz
    /// operator with a positive diagonal), solve it again with MINRES + |Jacobi|
    /// (whatever [`SequencePlan::precond`] says), and the rest of its chain with MINRES
    /// from the start. `auto` sets it, as `solve --method auto` retries one system.
    pub minres_on_breakdown: bool,
    /// The preconditioner was chosen by `auto`, not by the user: one that cannot be
    /// built (IC(0) or ILU(0) meeting a bad pivot) falls back to Jacobi, then none, as
    /// in `solve --method auto`, instead of failing the system.
    pub precond_fallback: bool,
    /// Where it runs: the CPU, or the GPU [`resolve_plan`] opened for it.
    pub backend: Backend,
    /// Why this plan.
    pub reason: String,
}

/// Where a sequence plan runs.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// The CPU sequence solver (ordering, chains, carried state).
    #[default]
    Cpu,
    /// A GPU (feature `gpu`): batches of systems or device GCRO-DR along the sequence,
    /// refined in f64 on the CPU; the given order, one chain.
    #[cfg(feature = "gpu")]
    Gpu(GpuBackend),
}

/// The GPU a plan runs on and what it runs there.
#[cfg(feature = "gpu")]
#[derive(Clone, Serialize)]
pub struct GpuBackend {
    /// The opened device.
    #[serde(skip)]
    pub(crate) ctx: std::sync::Arc<solvent_gpu::GpuContext>,
    /// The adapter's description.
    pub adapter: String,
    /// The device precision (solutions are refined to f64 on the CPU).
    pub precision: &'static str,
    /// The method asked for (`auto`: chosen from the first matrix).
    pub requested: Method,
    /// The device method ([`crate::policy::gpu_method_for`]).
    #[serde(serialize_with = "gpu_method_name")]
    pub method: solvent_gpu::GpuMethod,
    /// The preconditioner asked for (`None`: Jacobi).
    pub precond: Option<PrecondKind>,
}

#[cfg(feature = "gpu")]
fn gpu_method_name<S: serde::Serializer>(
    m: &solvent_gpu::GpuMethod,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(match m {
        solvent_gpu::GpuMethod::Cg => "cg",
        solvent_gpu::GpuMethod::Gmres => "gmres",
        solvent_gpu::GpuMethod::Gcrodr => "gcrodr",
    })
}

#[cfg(feature = "gpu")]
impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("adapter", &self.adapter)
            .field("precision", &self.precision)
            .field("method", &self.method)
            .finish()
    }
}

impl SequencePlan {
    /// The published baseline: given order, GMRES(m) from zero, no preconditioner.
    pub fn independent(restart: usize) -> Self {
        Self {
            order: OrderKind::Given,
            method: SeqMethod::Krylov {
                method: Method::Gmres,
            },
            precond: PrecondKind::None,
            warm_start: false,
            reuse_precond: false,
            reuse_tol: 0.0,
            restart,
            recycle: 0,
            refresh_every: DEFAULT_REFRESH_EVERY,
            chains: 1,
            minres_on_breakdown: false,
            precond_fallback: false,
            backend: Backend::Cpu,
            reason: "independent: every system from zero".into(),
        }
    }
    /// The published SKR method: sorted, GCRO-DR(m, k) from zero, the recycled space
    /// refreshed every cycle.
    pub fn skr(restart: usize, recycle: usize) -> Self {
        Self {
            order: OrderKind::Greedy,
            method: SeqMethod::GcroDr,
            precond: PrecondKind::None,
            warm_start: false,
            reuse_precond: false,
            reuse_tol: 0.0,
            restart,
            recycle,
            refresh_every: 1,
            chains: 1,
            minres_on_breakdown: false,
            precond_fallback: false,
            backend: Backend::Cpu,
            reason: "skr: sorted, GCRO-DR with the recycled space carried along".into(),
        }
    }
}

/// Settings of a sequence solve.
#[derive(Clone, Copy, Debug)]
pub struct SequenceConfig {
    /// The strategy.
    pub strategy: Strategy,
    /// The Krylov method of `independent` (default GMRES); rejected for the others
    /// except `direct`, which `auto` also honours.
    pub method: Option<Method>,
    /// Preconditioner (default: none for `independent`/`skr`, chosen by `auto`).
    pub precond: Option<PrecondKind>,
    /// Basis size `m`.
    pub restart: usize,
    /// Recycled vectors `k` (`None`: [`DEFAULT_RECYCLE`] for `skr`, GCRO-DR(m, k) as
    /// published; [`AUTO_RECYCLE`] for `auto`, which runs GCRO-DR(m + k, k)).
    pub recycle: Option<usize>,
    /// Above this many systems the greedy ordering gives way to the projected one.
    pub greedy_max: usize,
    /// Chains solved in parallel ([`SequencePlan::chains`]); 0: one per available core.
    pub chains: usize,
    /// Where to solve ([`Device::Cpu`] by default; [`resolve_plan`] consults
    /// [`crate::policy::choose_device`]).
    pub device: Device,
    /// Refresh GCRO-DR's recycled space every this many cycles (`None`: every cycle for
    /// `skr`, as published; [`DEFAULT_REFRESH_EVERY`] for `auto`, measured faster).
    pub refresh_every: Option<usize>,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        Self {
            strategy: Strategy::Auto,
            method: None,
            precond: None,
            restart: 40,
            recycle: None,
            greedy_max: 5000,
            chains: 1,
            device: Device::Cpu,
            refresh_every: None,
        }
    }
}

/// Resolves a strategy against the first system's structure.
///
/// `auto` chooses, in this order: one factorisation for a sequence whose
/// matrix never changes; a sparse direct solve with the symbolic analysis
/// reused when the first system's predicted factor is 2-D-like
/// ([`crate::krylov::direct_pays`]: on 2-D grids that beat every Krylov method,
/// recycling included, up to the 10⁶ unknowns measured), or when it has at most 10⁵
/// unknowns and is neither SPD-like nor diagonally dominant; otherwise sorted
/// systems with warm starts and preconditioner reuse, solved by CG + IC(0)
/// when symmetric with a positive diagonal and by GCRO-DR + ILU(0) otherwise.
pub fn resolve_plan(
    config: &SequenceConfig,
    k: usize,
    first: &MatrixAnalysis,
    constant: bool,
) -> Result<SequencePlan> {
    let device_note =
        match policy::choose_device(config.device, k.saturating_mul(first.n), gpu_capable(config))? {
            DeviceChoice::Cpu { note } => note,
            #[cfg(feature = "gpu")]
            DeviceChoice::Gpu(ctx) => return Ok(gpu_plan(config, first, ctx)),
        };
    if config.restart < 2 {
        return Err(SolverError::setting(
            "restart",
            config.restart,
            "must be at least 2",
        ));
    }
    let sorted = if k > config.greedy_max {
        OrderKind::Projected
    } else {
        OrderKind::Greedy
    };
    let precond = config.precond;
    let mut plan = match config.strategy {
        Strategy::Independent => {
            let method = config.method.unwrap_or(Method::Gmres);
            if method == Method::Auto {
                return Err(SolverError::setting(
                    "method",
                    "auto",
                    "independent needs a concrete method (gmres, cg, minres, bicgstab, direct)",
                ));
            }
            if matches!(method, Method::Cg | Method::Minres) && !first.symmetric {
                return Err(SolverError::setting(
                    "method",
                    method,
                    "needs symmetric matrices and the first system's is not (checked to 1e-12 relative): use gmres or bicgstab",
                ));
            }
            let mut p = SequencePlan::independent(config.restart);
            p.method = match method {
                Method::Direct => SeqMethod::Direct,
                m => SeqMethod::Krylov { method: m },
            };
            p.precond = precond.unwrap_or_else(|| policy::baseline_precond(first));
            note_default_precond(&mut p, precond.is_none());
            p
        }
        Strategy::Skr => {
            if let Some(m) = config.method.filter(|m| *m != Method::Gcrodr) {
                return Err(SolverError::setting(
                    "method",
                    format!("{m:?}").to_lowercase(),
                    "skr always uses GCRO-DR; pick --strategy independent for another method",
                ));
            }
            let recycle = config.recycle.unwrap_or(DEFAULT_RECYCLE);
            if recycle == 0 || recycle >= config.restart {
                return Err(SolverError::setting(
                    "recycle",
                    recycle,
                    format!("must be between 1 and restart − 1 = {}", config.restart - 1),
                ));
            }
            let mut p = SequencePlan::skr(config.restart, recycle);
            p.order = sorted;
            p.precond = precond.unwrap_or_else(|| policy::baseline_precond(first));
            p.refresh_every = config.refresh_every.unwrap_or(1);
            note_default_precond(&mut p, precond.is_none());
            p
        }
        Strategy::Auto => {
            if let Some(m) = config.method.filter(|m| *m != Method::Direct) {
                return Err(SolverError::setting(
                    "method",
                    format!("{m:?}").to_lowercase(),
                    "auto chooses the method itself (only --method direct forces a choice); pick --strategy independent for a given Krylov method",
                ));
            }
            let spd_like = first.spd_like();
            // the Krylov depth of a cycle is GMRES(restart)'s; k recycled vectors on top
            let recycle = config.recycle.unwrap_or(AUTO_RECYCLE);
            let basis = config
                .restart
                .checked_add(recycle)
                .filter(|_| recycle >= 1)
                .ok_or_else(|| {
                    SolverError::setting(
                        "recycle",
                        recycle,
                        "must be at least 1 (auto runs GCRO-DR(restart + k, k))",
                    )
                })?;
            let mut p = SequencePlan::skr(basis, recycle);
            p.order = sorted;
            p.warm_start = true;
            p.refresh_every = config.refresh_every.unwrap_or(DEFAULT_REFRESH_EVERY);
            p.reuse_precond = true;
            p.reuse_tol = 0.05;
            p.precond_fallback = precond.is_none();
            let forced = config.method == Some(Method::Direct);
            // CG + AMG beats the direct solve on large 2-D-like operators too
            let amg = policy::amg_pays(first).filter(|_| !constant && !forced);
            let direct = policy::direct_pays(first).filter(|_| amg.is_none());
            if constant || forced || direct.is_some() {
                p.order = OrderKind::Given;
                p.method = SeqMethod::Direct;
                p.warm_start = false;
                let kind = if spd_like {
                    "Cholesky (LU if not positive definite)"
                } else {
                    "LU"
                };
                p.reason = if constant {
                    "the matrix never changes: factorise once (per chain), then one triangular solve per system".into()
                } else {
                    let why = direct.unwrap_or_else(|| "--method direct".into());
                    format!("{why}: sparse {kind} with the symbolic analysis reused")
                };
            } else if spd_like {
                p.method = SeqMethod::Krylov { method: Method::Cg };
                let (kind, why) = policy::cg_precond(first);
                p.precond = precond.unwrap_or(kind);
                p.minres_on_breakdown = true;
                let size = match &amg {
                    // chosen for its size, whatever the fill
                    Some(_) => format!("n = {}", first.n),
                    None => policy::iterative_pays(first),
                };
                p.reason = format!(
                    "{size}; symmetric with positive diagonal: sorted, warm-started CG + {} ({}; MINRES + |Jacobi| from the first system on which CG finds the matrix indefinite)",
                    precond_label(p.precond),
                    if precond.is_some() { "named".to_string() } else { why },
                );
            } else if first.n < policy::AUTO_RECYCLE_MIN_N && config.recycle.is_none() {
                // recycling costs more per iteration than it saves below this size
                p.method = SeqMethod::Krylov {
                    method: Method::Gmres,
                };
                p.restart = config.restart;
                p.recycle = 0;
                p.precond = precond.unwrap_or(PrecondKind::Ilu0);
                p.reason = format!(
                    "{}; not SPD: sorted, warm-started GMRES({}) + {} (n = {} < {}: GCRO-DR's recycled vectors cost more per iteration than they save; --recycle K asks for GCRO-DR)",
                    policy::iterative_pays(first),
                    config.restart,
                    precond_label(p.precond),
                    first.n,
                    policy::AUTO_RECYCLE_MIN_N,
                );
            } else {
                p.precond = precond.unwrap_or(PrecondKind::Ilu0);
                p.reason = format!(
                    "{}; not SPD: sorted, warm-started GCRO-DR({}, {recycle}) + {} (each cycle as deep as GMRES({}), {recycle} recycled vectors on top)",
                    policy::iterative_pays(first),
                    config.restart + recycle,
                    precond_label(p.precond),
                    config.restart,
                );
            }
            p
        }
    };
    plan.chains = match config.chains {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        c => c,
    };
    if let Some(note) = device_note {
        plan.reason.push_str(&format!("; {note}"));
    }
    Ok(plan)
}

/// The plan of a sequence the GPU solves: the given order, one chain, the device method
/// for the first matrix ([`crate::policy::gpu_method_for`]); the CPU strategy's other
/// settings do not apply there.
#[cfg(feature = "gpu")]
fn gpu_plan(
    config: &SequenceConfig,
    first: &MatrixAnalysis,
    ctx: std::sync::Arc<solvent_gpu::GpuContext>,
) -> SequencePlan {
    let requested = config.method.unwrap_or(Method::Auto);
    let method = policy::gpu_method_for(requested, first);
    let mut plan = SequencePlan::independent(config.restart);
    plan.recycle = config.recycle.unwrap_or(DEFAULT_RECYCLE);
    plan.reason = format!("on {}", ctx.describe());
    plan.backend = Backend::Gpu(GpuBackend {
        adapter: ctx.describe(),
        precision: ctx.default_precision().as_str(),
        requested,
        method,
        precond: config.precond,
        ctx,
    });
    plan
}

/// Says in the plan's reason which preconditioner a published strategy took by default.
fn note_default_precond(p: &mut SequencePlan, defaulted: bool) {
    if defaulted {
        p.reason.push_str(match p.precond {
            PrecondKind::None => "; no preconditioner (SPD-like and diagonally dominant)",
            _ => "; ILU(0) (not SPD-like and diagonally dominant: unpreconditioned restarted methods stall)",
        });
    }
}

/// Whether the GPU back end can run a sequence with these settings: it solves systems
/// independently (or, with `gcrodr`, one chain carrying GCRO-DR's space), so `skr`
/// and parallel chains stay on the CPU.
fn gpu_capable(config: &SequenceConfig) -> std::result::Result<(), String> {
    if config.strategy == Strategy::Skr {
        return Err("--strategy skr (sorted GCRO-DR) runs on the CPU only".into());
    }
    if config.chains != 1 {
        return Err(format!(
            "--jobs {} (parallel chains) runs on the CPU only",
            config.chains
        ));
    }
    policy::gpu_capable(config.method.unwrap_or(Method::Auto), config.precond)
}

/// How plan reasons spell a preconditioner.
fn precond_label(p: PrecondKind) -> &'static str {
    match p {
        PrecondKind::None => "no preconditioner",
        PrecondKind::Jacobi => "Jacobi",
        PrecondKind::Ssor => "SSOR",
        PrecondKind::Ilu0 => "ILU(0)",
        PrecondKind::Ic0 => "IC(0)",
        PrecondKind::Amg => "AMG",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(n: usize, symmetric: bool, positive_diagonal: bool) -> MatrixAnalysis {
        MatrixAnalysis {
            n,
            nnz: 5 * n,
            symmetric,
            positive_diagonal,
            zero_diagonal: false,
            // SPD-like test matrices stand for Darcy/Poisson, which are dominant
            diagonally_dominant: symmetric && positive_diagonal,
            cholesky_fill: None,
        }
    }

    #[test]
    fn strategies_resolve_to_the_documented_plans() {
        let cfg = |strategy, method| SequenceConfig {
            strategy,
            method,
            ..SequenceConfig::default()
        };
        let small = analysis(10_000, true, true);
        let big_spd = analysis(1_000_000, true, true);
        let big_gen = analysis(1_000_000, false, true);
        // independent: GMRES(m) without a preconditioner, or the chosen method
        let p = resolve_plan(&cfg(Strategy::Independent, None), 10, &small, false).unwrap();
        assert_eq!(
            p.method,
            SeqMethod::Krylov {
                method: Method::Gmres
            }
        );
        assert_eq!(
            (p.order, p.precond, p.warm_start),
            (OrderKind::Given, PrecondKind::None, false)
        );
        let p = resolve_plan(&cfg(Strategy::Independent, Some(Method::Cg)), 10, &small, false).unwrap();
        assert_eq!(p.method, SeqMethod::Krylov { method: Method::Cg });
        // the user's CG is run as asked: no MINRES switch, no preconditioner fallback
        assert!(!p.minres_on_breakdown && !p.precond_fallback);
        assert!(resolve_plan(&cfg(Strategy::Independent, Some(Method::Auto)), 10, &small, false).is_err());
        // skr: sorted GCRO-DR from zero; projected ordering for many systems
        let p = resolve_plan(&cfg(Strategy::Skr, None), 10, &small, false).unwrap();
        assert_eq!(
            (p.method, p.order, p.warm_start),
            (SeqMethod::GcroDr, OrderKind::Greedy, false)
        );
        let p = resolve_plan(&cfg(Strategy::Skr, None), 10_000, &small, false).unwrap();
        assert_eq!(p.order, OrderKind::Projected);
        // chains: one by default, as asked, or one per core for 0
        assert_eq!(p.chains, 1);
        for (asked, want) in [
            (3, 3),
            (0, std::thread::available_parallelism().map_or(1, usize::from)),
        ] {
            let c = SequenceConfig {
                chains: asked,
                ..cfg(Strategy::Skr, None)
            };
            assert_eq!(resolve_plan(&c, 10, &small, false).unwrap().chains, want);
        }
        assert!(resolve_plan(&cfg(Strategy::Skr, Some(Method::Cg)), 10, &small, false).is_err());
        // auto: factorise once / direct with reuse / CG + IC(0) / GCRO-DR + ILU(0)
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &big_spd, true).unwrap();
        assert_eq!(p.method, SeqMethod::Direct);
        assert!(p.reason.contains("factorise once"));
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &small, false).unwrap();
        assert_eq!(p.method, SeqMethod::Direct);
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &big_spd, false).unwrap();
        assert_eq!(p.method, SeqMethod::Krylov { method: Method::Cg });
        assert_eq!(
            (p.precond, p.warm_start, p.reuse_precond),
            (PrecondKind::Amg, true, true)
        );
        assert!(p.reason.contains("CG + AMG"), "{}", p.reason);
        assert!(p.minres_on_breakdown && p.precond_fallback);
        // below AUTO_AMG_MIN_N (3-D-like fill, so not direct): IC(0)
        let mid_spd = MatrixAnalysis {
            cholesky_fill: Some(300 * 100_000),
            ..analysis(100_000, true, true)
        };
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &mid_spd, false).unwrap();
        assert_eq!(
            (p.method, p.precond),
            (SeqMethod::Krylov { method: Method::Cg }, PrecondKind::Ic0)
        );
        // 2-D-like fill from AUTO_AMG_MIN_N_2D: CG + AMG instead of the direct solve,
        // but one factorisation when the matrix never changes
        let big_2d = MatrixAnalysis {
            cholesky_fill: Some(50 * 200_000),
            ..analysis(200_000, true, true)
        };
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &big_2d, false).unwrap();
        assert_eq!(
            (p.method, p.precond),
            (SeqMethod::Krylov { method: Method::Cg }, PrecondKind::Amg)
        );
        assert!(p.reason.starts_with("n = 200000; "), "{}", p.reason);
        assert_eq!(
            resolve_plan(&cfg(Strategy::Auto, None), 10, &big_2d, true)
                .unwrap()
                .method,
            SeqMethod::Direct
        );
        let small_2d = MatrixAnalysis {
            cholesky_fill: Some(50 * 50_000),
            ..analysis(50_000, true, true)
        };
        assert_eq!(
            resolve_plan(&cfg(Strategy::Auto, None), 10, &small_2d, false)
                .unwrap()
                .method,
            SeqMethod::Direct
        );
        // nonsymmetric: GCRO-DR(m + k, k), k = AUTO_RECYCLE unless named
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &big_gen, false).unwrap();
        assert_eq!((p.restart, p.recycle), (40 + AUTO_RECYCLE, AUTO_RECYCLE));
        // ... and warm-started GMRES(m) below AUTO_RECYCLE_MIN_N unless k is named
        let mid_gen = MatrixAnalysis {
            cholesky_fill: Some(300 * 100_000),
            diagonally_dominant: true,
            ..analysis(100_000, false, true)
        };
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &mid_gen, false).unwrap();
        assert_eq!(
            (p.method, p.precond, p.warm_start, p.restart),
            (
                SeqMethod::Krylov {
                    method: Method::Gmres
                },
                PrecondKind::Ilu0,
                true,
                40
            )
        );
        let asked = SequenceConfig {
            recycle: Some(5),
            ..cfg(Strategy::Auto, None)
        };
        assert_eq!(
            resolve_plan(&asked, 10, &mid_gen, false).unwrap().method,
            SeqMethod::GcroDr
        );
        let named = SequenceConfig {
            recycle: Some(10),
            ..cfg(Strategy::Auto, None)
        };
        let p = resolve_plan(&named, 10, &big_gen, false).unwrap();
        assert_eq!((p.restart, p.recycle), (50, 10));
        for bad in [0, usize::MAX] {
            let c = SequenceConfig {
                recycle: Some(bad),
                ..cfg(Strategy::Auto, None)
            };
            assert!(resolve_plan(&c, 10, &big_gen, false).is_err(), "recycle {bad}");
        }
        let p = resolve_plan(&cfg(Strategy::Skr, None), 10, &big_gen, false).unwrap();
        assert_eq!((p.restart, p.recycle), (40, DEFAULT_RECYCLE));
        // a preconditioner the user named is an error if it cannot be built
        let named = SequenceConfig {
            precond: Some(PrecondKind::Ic0),
            ..cfg(Strategy::Auto, None)
        };
        let p = resolve_plan(&named, 10, &big_spd, false).unwrap();
        assert!(p.minres_on_breakdown && !p.precond_fallback);
        let p = resolve_plan(&cfg(Strategy::Auto, None), 10, &big_gen, false).unwrap();
        assert_eq!((p.method, p.precond), (SeqMethod::GcroDr, PrecondKind::Ilu0));
        assert!(!p.minres_on_breakdown && p.precond_fallback);
        let p = resolve_plan(&cfg(Strategy::Skr, None), 10, &small, false).unwrap();
        assert!(!p.minres_on_breakdown && !p.precond_fallback);
        assert!(resolve_plan(&cfg(Strategy::Auto, Some(Method::Gmres)), 10, &small, false).is_err());
        let mut bad = cfg(Strategy::Skr, None);
        bad.recycle = Some(40);
        assert!(resolve_plan(&bad, 10, &small, false).is_err());
        assert_eq!(Strategy::parse("skr"), Some(Strategy::Skr));
        assert_eq!(Strategy::parse("fast"), None);
    }
}
