//! One decision policy: every automatic choice the engine makes — direct or Krylov,
//! which method and preconditioner, what falls back to what, where the work runs —
//! lives here, and every path consults it: [`crate::krylov::solve_system`], the
//! sequence plan ([`crate::sequence::resolve_plan`]) and the GPU back end. A decision
//! always comes with its reason, which plans and reports carry.
//!
//! - [`analysis`]: the cheap structural facts decisions read ([`MatrixAnalysis`]);
//! - [`direct_pays`] / [`iterative_pays`]: direct solve or Krylov method, and why;
//! - [`plan`]: method and preconditioner for one system; [`baseline_precond`]: the
//!   published strategies' default preconditioner;
//! - [`build_precond`]: a preconditioner with its fallbacks (Jacobi, then none);
//! - [`BREAKDOWN_RETRY`]: what a CG breakdown (an indefinite matrix) switches to;
//! - [`factorise`]: Cholesky when SPD-like and positive definite, LU otherwise;
//! - [`Device`] and [`choose_device`]: CPU or GPU.

pub mod analysis;
mod device;

pub use analysis::{analyse, MatrixAnalysis};
pub use device::{choose_device, gpu_capable, Device, DeviceChoice, AUTO_MIN_UNKNOWNS};
#[cfg(feature = "gpu")]
pub use device::{gpu_method_for, GPU_BREAKDOWN_RETRY};

use crate::krylov::{Method, SharedPrecond, SolveConfig, SolvePlan};
use crate::Result;
use solvent_linalg::direct::{DirectKind, DirectSolver};
use solvent_linalg::precond::{self, Amg, Jacobi, PrecondKind};
use solvent_linalg::{CsrMatrix, Preconditioner};
use std::sync::Arc;

/// Systems up to this size go to the sparse direct solver under `auto` when the fill
/// of their factor could not be predicted, and when they are neither SPD-like
/// (symmetric, positive diagonal) nor diagonally dominant with a positive diagonal: a
/// direct solve is the robust choice where Krylov methods may stall (a nonsymmetric
/// operator that is not dominant, such as central-difference convection at high cell
/// Péclet numbers, or a symmetric one with non-positive diagonal entries). Otherwise the
/// predicted fill decides ([`direct_pays`]).
pub const AUTO_DIRECT_MAX_N: usize = 100_000;

/// Predicted Cholesky fill per unknown up to which `auto` solves directly. 2-D grids sit
/// at 42–55 entries per unknown (n = 9·10⁴ … 10⁶), where a factorisation and solve beat
/// CG + IC(0) by 3.2x–10x, growing with n; 3-D 7-point grids at 280–660
/// (n = 2.7·10⁴ … 1.25·10⁵), where CG + IC(0) was 16x–27x faster
/// (`cargo bench --bench direct_crossover`).
pub const AUTO_DIRECT_MAX_FILL_PER_UNKNOWN: f64 = 120.0;

/// Largest predicted Cholesky factor (stored entries) `auto` factorises: 2.5·10⁸, 2 GB
/// of values (about a 2-D grid of 4·10⁶ unknowns, extrapolating the 55 entries per
/// unknown measured at 10⁶; not measured at that size).
pub const AUTO_DIRECT_MAX_FILL: usize = 250_000_000;

/// Why `auto` should solve `an` directly, or `None` when an iterative method should:
/// a predicted factor of at most [`AUTO_DIRECT_MAX_FILL_PER_UNKNOWN`] entries per unknown
/// and [`AUTO_DIRECT_MAX_FILL`] in all (2-D-like fill); or, without a prediction, or for a
/// matrix that is neither SPD-like nor diagonally dominant with a positive diagonal, at
/// most [`AUTO_DIRECT_MAX_N`] unknowns (and a factor within [`AUTO_DIRECT_MAX_FILL`]). A
/// dominant nonsymmetric matrix with 3-D-like fill goes to GMRES/GCRO-DR + ILU(0): on a
/// 3-D upwind convection–diffusion (n = 8·10³ … 6.4·10⁴) sparse LU was 30x–63x slower
/// than GMRES(40) + ILU(0) (`cargo bench --bench direct_crossover -- 3dconv 20 30 40`).
/// A 3-D Helmholtz operator with a positive diagonal is symmetric, so `auto` runs CG on
/// it, finds it indefinite and retries with MINRES + |Jacobi|: 0.10 s at n = 2.7·10⁴,
/// against 2.2 s for LU and 4.8 s for GMRES(40) + ILU(0) (`-- 3dhelm 30`). What stays
/// direct here (nonsymmetric and not dominant, or symmetric with a non-positive
/// diagonal) was not measured in 3-D.
pub fn direct_pays(an: &MatrixAnalysis) -> Option<String> {
    let small = an.n <= AUTO_DIRECT_MAX_N;
    let Some(fill) = an.cholesky_fill else {
        return small.then(|| format!("n = {} ≤ {AUTO_DIRECT_MAX_N}", an.n));
    };
    let per = fill as f64 / an.n.max(1) as f64;
    if per <= AUTO_DIRECT_MAX_FILL_PER_UNKNOWN && fill <= AUTO_DIRECT_MAX_FILL {
        return Some(format!(
            "predicted factor {fill} entries, {per:.0} per unknown (≤ {AUTO_DIRECT_MAX_FILL_PER_UNKNOWN}: 2-D-like fill)"
        ));
    }
    let (spd_like, dominant) = (an.spd_like(), an.dominant_positive());
    (small && !spd_like && !dominant && fill <= AUTO_DIRECT_MAX_FILL).then(|| {
        format!(
            "n = {} ≤ {AUTO_DIRECT_MAX_N}, neither SPD nor diagonally dominant: a direct solve is the robust choice (predicted fill {per:.0} per unknown)",
            an.n
        )
    })
}

/// Why [`direct_pays`] said no, for plan reasons: the predicted fill, or the size when
/// no fill was predicted, and the diagonal dominance that made a small non-SPD matrix
/// safe for a Krylov method.
pub fn iterative_pays(an: &MatrixAnalysis) -> String {
    let size = match an.cholesky_fill {
        Some(fill) if fill > AUTO_DIRECT_MAX_FILL => {
            format!("predicted factor {fill} entries (> {AUTO_DIRECT_MAX_FILL})")
        }
        Some(fill) => format!(
            "predicted factor {:.0} entries per unknown (> {AUTO_DIRECT_MAX_FILL_PER_UNKNOWN}: 3-D-like fill)",
            fill as f64 / an.n.max(1) as f64
        ),
        None => format!("n = {} > {AUTO_DIRECT_MAX_N}", an.n),
    };
    let (spd_like, dominant) = (an.spd_like(), an.dominant_positive());
    if an.n <= AUTO_DIRECT_MAX_N && !spd_like && dominant {
        format!("{size}, diagonally dominant with a positive diagonal")
    } else {
        size
    }
}

/// Unknowns from which a diagonally dominant SPD-like matrix with 3-D-like fill gets CG +
/// smoothed-aggregation AMG instead of CG + IC(0). IC(0)'s iterations grow like h⁻¹ and
/// AMG's stay flat (16 → 17 per system from darcy3d 30³ to 60³), but one AMG cycle costs
/// ~3.5 IC(0) applications and its setup is redone per system: on darcy3d sequences
/// (warm-started, tol 1e-8, 2 threads; `benches/seq3d_peers.sh` and `solve-seq`), CG +
/// IC(0) was 2.2x faster at 30³ and 1.33x at 60³ (n = 2.2·10⁵), CG + AMG 1.11x faster at
/// 80³ (n = 5.1·10⁵); the crossover interpolates to ~4·10⁵.
pub const AUTO_AMG_MIN_N: usize = 400_000;

/// Unknowns from which a diagonally dominant SPD-like matrix with 2-D-like fill gets CG +
/// AMG instead of the sparse direct solve: on 2-D Darcy sequences (20 systems, 2 threads)
/// the two tied at 256² (1.44 s / 1.43 s), and CG + AMG from zero was 1.31x / 1.34x /
/// 1.37x faster than Cholesky with a reused analysis at 384² / 512² / 1024².
pub const AUTO_AMG_MIN_N_2D: usize = 100_000;

/// Why `auto` should run CG + AMG on `an`, or `None`: SPD-like and diagonally dominant
/// (an M-matrix-like operator, where smoothed aggregation is reliable — not a Helmholtz
/// operator, whose positive diagonal does not make it definite) with at least
/// [`AUTO_AMG_MIN_N_2D`] unknowns when the predicted fill is 2-D-like (AMG against the
/// direct solve) or [`AUTO_AMG_MIN_N`] otherwise (AMG against IC(0)).
pub fn amg_pays(an: &MatrixAnalysis) -> Option<String> {
    if !(an.spd_like() && an.diagonally_dominant) {
        return None;
    }
    let two_d = an
        .cholesky_fill
        .is_some_and(|f| f as f64 / an.n.max(1) as f64 <= AUTO_DIRECT_MAX_FILL_PER_UNKNOWN);
    let (min, against) = if two_d {
        (
            AUTO_AMG_MIN_N_2D,
            "2-D-like fill, where AMG beats the direct solve",
        )
    } else {
        (AUTO_AMG_MIN_N, "where AMG's flat iteration count beats IC(0)")
    };
    (an.n >= min).then(|| {
        format!(
            "n = {} ≥ {min}, diagonally dominant SPD-like ({against}): CG + AMG",
            an.n
        )
    })
}

/// Unknowns from which `auto` solves a nonsymmetric sequence with GCRO-DR(m + k, k)
/// (recycling) instead of GMRES(m), both sorted, warm-started and ILU(0)-preconditioned.
/// On convdiff3d sequences (tol 1e-8, 2 threads, `benches/seq3d_peers.sh`) recycling
/// cut the iterations by 11% (30³), 15% (60³) and 16% (80³) but cost 1.38x, 1.18x and
/// 1.10x per iteration: GMRES was 1.24x faster at n = 2.7·10⁴, the two tied at
/// 2.2·10⁵ (GMRES 1% ahead), GCRO-DR was 1.09x faster at 5.1·10⁵.
pub const AUTO_RECYCLE_MIN_N: usize = 250_000;

/// CG's preconditioner when none is named: AMG where [`amg_pays`], IC(0) otherwise, with
/// the reason.
pub fn cg_precond(an: &MatrixAnalysis) -> (PrecondKind, String) {
    match amg_pays(an) {
        Some(why) => (PrecondKind::Amg, why),
        None => (
            PrecondKind::Ic0,
            format!(
                "IC(0) (AMG on diagonally dominant matrices from {AUTO_AMG_MIN_N} unknowns, {AUTO_AMG_MIN_N_2D} with 2-D-like fill)"
            ),
        ),
    }
}

/// The preconditioner a method gets when none is named: IC(0) for CG ([`cg_precond`]:
/// AMG on large systems), Jacobi on `|diag|`
/// for MINRES (none when a diagonal entry is zero), ILU(0) for GMRES, GCRO-DR and
/// BiCGStab.
pub fn default_precond(method: Method, an: &MatrixAnalysis) -> PrecondKind {
    match method {
        Method::Cg => cg_precond(an).0,
        Method::Minres if an.zero_diagonal => PrecondKind::None,
        Method::Minres => PrecondKind::Jacobi,
        Method::Gmres | Method::Gcrodr | Method::Bicgstab => PrecondKind::Ilu0,
        Method::Direct | Method::Auto => PrecondKind::None,
    }
}

/// Chooses method and preconditioner. Under `auto`: CG + AMG when [`amg_pays`]; a
/// direct solve when [`direct_pays`]; otherwise CG + IC(0) for symmetric matrices with
/// a positive diagonal, MINRES + |Jacobi| for other symmetric ones, GMRES(m) + ILU(0) for
/// nonsymmetric ones.
pub fn plan(an: &MatrixAnalysis, config: &SolveConfig) -> SolvePlan {
    let amg = (config.method == Method::Auto).then(|| amg_pays(an)).flatten();
    let direct = (config.method == Method::Auto && amg.is_none())
        .then(|| direct_pays(an))
        .flatten();
    let (method, reason) = match config.method {
        Method::Auto if amg.is_some() => (Method::Cg, amg.unwrap_or_default()),
        Method::Auto if direct.is_some() => (
            Method::Direct,
            format!("{}: sparse direct solve", direct.unwrap_or_default()),
        ),
        Method::Auto if an.spd_like() => (
            Method::Cg,
            format!(
                "{}; symmetric with positive diagonal: CG (falls back to MINRES if not definite)",
                iterative_pays(an)
            ),
        ),
        Method::Auto if an.symmetric => (
            Method::Minres,
            format!(
                "{}; symmetric with non-positive diagonal entries: MINRES",
                iterative_pays(an)
            ),
        ),
        Method::Auto => (
            Method::Gmres,
            format!("{}; nonsymmetric: GMRES", iterative_pays(an)),
        ),
        m => (m, "chosen by the user".into()),
    };
    let mut plan = SolvePlan {
        method,
        precond: config.precond.unwrap_or_else(|| default_precond(method, an)),
        reason,
    };
    if method == Method::Cg && config.precond.is_none() && !an.positive_diagonal {
        // neither IC(0) nor Jacobi can be positive definite with a non-positive diagonal
        plan.precond = PrecondKind::None;
        plan.reason
            .push_str("; non-positive diagonal: CG unpreconditioned");
    }
    plan
}

/// The preconditioner the published strategies (`independent`, `skr`) get when none is
/// named: none when the first matrix is SPD-like and diagonally dominant (Gershgorin then
/// keeps it positive definite, and unpreconditioned GMRES/GCRO-DR converge: the Darcy and
/// Poisson families, as in the SKR paper's Darcy runs); ILU(0) otherwise (a Helmholtz
/// operator, indefinite, where unpreconditioned restarted methods stall — the paper
/// preconditioned it too, with additive Schwarz — and nonsymmetric operators).
pub fn baseline_precond(first: &MatrixAnalysis) -> PrecondKind {
    if first.spd_like() && first.diagonally_dominant {
        PrecondKind::None
    } else {
        PrecondKind::Ilu0
    }
}

/// What `auto` runs when CG breaks down on a system (a direction of non-positive
/// curvature: the matrix is symmetric with a positive diagonal but not positive
/// definite, as a Helmholtz operator): MINRES with Jacobi on `|diag|`. The CPU retries
/// the system with it (and a sequence's chain keeps it from there on); the GPU, which
/// has no MINRES, retries with device GMRES + Jacobi instead (`GPU_BREAKDOWN_RETRY`).
pub const BREAKDOWN_RETRY: (Method, PrecondKind) = (Method::Minres, PrecondKind::Jacobi);

/// The preconditioners an automatic choice falls back to, in order, when the chosen one
/// cannot be built (IC(0) or ILU(0) meeting a bad pivot).
pub const PRECOND_FALLBACKS: [PrecondKind; 2] = [PrecondKind::Jacobi, PrecondKind::None];

/// Builds the preconditioner of a plan. With an automatic choice, a failed
/// build falls back to Jacobi, then to none (noted in the plan's reason);
/// with an explicit choice the failure is returned.
pub fn build_precond(plan: &mut SolvePlan, a: &CsrMatrix, explicit: bool) -> Result<SharedPrecond> {
    Ok(build_precond_keeping_amg(plan, a, explicit)?.0)
}

/// [`build_precond`], also handing back the AMG hierarchy when that is what was built,
/// so that a sequence can [`Amg::refresh`] it for the next matrix of the same pattern.
pub fn build_precond_keeping_amg(
    plan: &mut SolvePlan,
    a: &CsrMatrix,
    explicit: bool,
) -> Result<(SharedPrecond, Option<Arc<Amg>>)> {
    let kind = plan.precond;
    let build = |k: PrecondKind| -> solvent_linalg::Result<(SharedPrecond, Option<Arc<Amg>>)> {
        Ok(match k {
            PrecondKind::None => (None, None),
            // MINRES needs a positive definite M: Jacobi on |diag|
            PrecondKind::Jacobi if plan.method == Method::Minres => (
                Some(Arc::new(Jacobi::new_abs(a)?) as Arc<dyn Preconditioner>),
                None,
            ),
            PrecondKind::Amg => {
                let h = Arc::new(Amg::new(a)?);
                (Some(h.clone() as Arc<dyn Preconditioner>), Some(h))
            }
            k => (Some(Arc::from(precond::build(k, a)?)), None),
        })
    };
    match build(kind) {
        Ok(p) => Ok(p),
        Err(e) if explicit => Err(e.into()),
        Err(e) => {
            for fallback in PRECOND_FALLBACKS {
                if fallback == kind {
                    continue;
                }
                if let Ok(p) = build(fallback) {
                    plan.reason.push_str(&format!(
                        "; {} failed ({e}), using {}",
                        kind.as_str(),
                        fallback.as_str()
                    ));
                    plan.precond = fallback;
                    return Ok(p);
                }
            }
            Err(e.into())
        }
    }
}

/// A sparse factorisation of `a`: Cholesky when `a` is SPD-like and Cholesky succeeds,
/// LU otherwise (a symmetric matrix that turns out indefinite goes to LU).
pub fn factorise(a: &CsrMatrix) -> Result<DirectSolver> {
    let an = analyse(a);
    if an.spd_like() {
        if let Ok(d) = DirectSolver::new(a, DirectKind::Cholesky) {
            return Ok(d);
        }
    }
    Ok(DirectSolver::new(a, DirectKind::Lu)?)
}
