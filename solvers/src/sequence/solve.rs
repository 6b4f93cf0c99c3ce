//! The sequence loop: order, then solve each system carrying what the plan says.

use super::plan::{OrderKind, SeqMethod, SequencePlan};
use super::source::SystemSource;
use crate::krylov::ordering::{extreme_start, greedy_nearest_neighbour, projected_chunk_order};
use crate::krylov::{DeflatedCg, GcroDr, HasSolution, Method, SharedPrecond, SolvePlan};
use crate::{Options, Report, Result, SolverError, Status, TraceSchedule};
use serde::Serialize;
use solvent_linalg::direct::DirectSolver;
use solvent_linalg::precond::{Amg, PrecondKind};
use solvent_linalg::vector::{axpy, dot, relative_residual, sub_from};
use solvent_linalg::CsrMatrix;
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystemProblem;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// How a system's matrix relates to the previous one of its chain, in solve order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MatrixChange {
    /// The first system of its chain (no predecessor: nothing carried in).
    First,
    /// Bit-for-bit the same matrix.
    Identical,
    /// Same sparsity pattern, values changed by this relative Frobenius norm.
    SamePattern {
        /// `‖A_i − A_prev‖_F / ‖A_prev‖_F`.
        relative: f64,
    },
    /// A different sparsity pattern.
    NewPattern,
}

impl MatrixChange {
    pub(crate) fn between(prev: Option<&CsrMatrix>, a: &CsrMatrix) -> Self {
        let Some(p) = prev else { return Self::First };
        if p.nrows() != a.nrows() || p.row_ptr() != a.row_ptr() || p.col_idx() != a.col_idx() {
            return Self::NewPattern;
        }
        if p.values() == a.values() {
            return Self::Identical;
        }
        let (mut d, mut s) = (0.0, 0.0);
        for (x, y) in p.values().iter().zip(a.values()) {
            d += (x - y) * (x - y);
            s += x * x;
        }
        Self::SamePattern {
            relative: (d / s.max(f64::MIN_POSITIVE)).sqrt(),
        }
    }
    fn relative(self) -> f64 {
        match self {
            Self::Identical => 0.0,
            Self::SamePattern { relative } => relative,
            _ => f64::INFINITY,
        }
    }
}

/// The outcome for one system (deserialisable, so that records solved in another process
/// — an MPI rank — can be gathered into one report).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SystemRecord {
    /// Index in the original (sample) order.
    pub index: usize,
    /// Position in the solve order.
    pub position: usize,
    /// Krylov iterations (0 for a direct solve).
    pub iterations: usize,
    /// Seconds building the preconditioner or factorising (0 when reused).
    pub setup_s: f64,
    /// Seconds in the solve itself (warm start, retargeting, iterations).
    pub solve_s: f64,
    /// Seconds producing the system (assembly or reading).
    pub assembly_s: f64,
    /// True `‖b − A x‖ / ‖b‖` of the returned solution, recomputed.
    pub relres: f64,
    /// Whether `relres ≤ tol`.
    pub converged: bool,
    /// How the run ended.
    pub status: Status,
    /// How the matrix differs from the previous one of its chain, in solve order.
    pub change: MatrixChange,
    /// Whether the preconditioner or factor was reused from the chain's previous system.
    pub reused: bool,
    /// `‖b − A x₀‖ / ‖b‖` of the starting guess (1 from zero).
    pub initial_relres: f64,
    /// CG broke down on this system (the matrix is not positive definite) and it was
    /// solved again with MINRES + |Jacobi|, as were the rest of its chain (only under
    /// [`SequencePlan::minres_on_breakdown`]); `iterations` and the seconds count both
    /// runs.
    pub switched_to_minres: bool,
    /// What fell back on this system and why: the CG breakdown above, or a
    /// preconditioner chosen by `auto` that could not be built
    /// ([`SequencePlan::precond_fallback`]).
    pub fallback: Option<String>,
}

/// The outcome of a sequence.
#[derive(Clone, Debug, Serialize)]
pub struct SequenceReport {
    /// The plan that ran.
    pub plan: SequencePlan,
    /// Solve order (original indices).
    pub order: Vec<usize>,
    /// Seconds computing the order (features included).
    pub ordering_s: f64,
    /// Per system, in the original order.
    pub systems: Vec<SystemRecord>,
    /// Sum of iterations.
    pub total_iterations: usize,
    /// Sum of setup and solve seconds (the cost of solving, without assembly).
    pub solve_s: f64,
    /// Sum of assembly seconds.
    pub assembly_s: f64,
    /// Wall-clock seconds of the whole call.
    pub wall_s: f64,
    /// Wall-clock seconds of producing and solving the systems (the call without the
    /// ordering): about `assembly_s + solve_s` with one chain, less with several.
    pub solve_wall_s: f64,
    /// Original indices of systems that did not converge.
    pub failed: Vec<usize>,
}

impl SequenceReport {
    /// One line for humans.
    pub fn summary(&self) -> String {
        format!(
            "{} systems: {} iterations, solve {:.3} s (+ ordering {:.3} s, assembly {:.3} s), {} not converged{}{}",
            self.systems.len(),
            self.total_iterations,
            self.solve_s,
            self.ordering_s,
            self.assembly_s,
            self.failed.len(),
            self.chains_note(),
            self.fallback_note()
        )
    }
    /// When some chain switched from CG to MINRES, or a preconditioner chosen by `auto`
    /// fell back, a note saying so (`", CG found the matrix indefinite (1 of 2 chains):
    /// MINRES + |Jacobi| from there"`); empty otherwise. The per-system `fallback` says why.
    pub fn fallback_note(&self) -> String {
        let mut note = String::new();
        match self.systems.iter().filter(|r| r.switched_to_minres).count() {
            0 => {}
            c => note.push_str(&format!(
                ", CG found the matrix indefinite ({c} of {} chains): MINRES + |Jacobi| from there",
                self.plan.chains
            )),
        }
        let precond = self
            .systems
            .iter()
            .filter(|r| !r.switched_to_minres && r.fallback.is_some())
            .count();
        if precond > 0 {
            note.push_str(&format!(
                ", the preconditioner fell back on {precond} of {} systems (see the report's fallback)",
                self.systems.len()
            ));
        }
        note
    }
    /// Adds the records of systems solved elsewhere — the other pieces of the same
    /// sequence ([`solve_sequence_piece`] in other processes) — so that this report
    /// covers them all: records in the original order, totals and failures recomputed,
    /// wall-clock times the longest of the pieces'. A system already present is an error.
    pub fn absorb(&mut self, records: Vec<SystemRecord>, wall_s: f64, solve_wall_s: f64) -> Result<()> {
        let k = self.order.len();
        let mut seen = vec![false; k];
        for r in self.systems.iter().chain(&records) {
            if r.index >= k || std::mem::replace(&mut seen[r.index], true) {
                return Err(SolverError::setting(
                    "records",
                    r.index,
                    format!("a record outside the {k} systems or given twice"),
                ));
            }
        }
        self.systems.extend(records);
        self.systems.sort_by_key(|r| r.index);
        self.total_iterations = self.systems.iter().map(|r| r.iterations).sum();
        self.solve_s = self.systems.iter().map(|r| r.setup_s + r.solve_s).sum();
        self.assembly_s = self.systems.iter().map(|r| r.assembly_s).sum();
        self.failed = self
            .systems
            .iter()
            .filter(|r| !r.converged)
            .map(|r| r.index)
            .collect();
        self.wall_s = self.wall_s.max(wall_s);
        self.solve_wall_s = self.solve_wall_s.max(solve_wall_s);
        Ok(())
    }
    /// With several chains, the wall-clock time beside the summed per-system seconds
    /// (`", 1.234 s wall on 2 chains at once (assembly included)"`); empty with one.
    pub fn chains_note(&self) -> String {
        if self.plan.chains > 1 {
            format!(
                ", {:.3} s wall on {} chains at once (assembly included)",
                self.solve_wall_s, self.plan.chains
            )
        } else {
            String::new()
        }
    }
}

/// Computes the solve order of `source` under `kind`.
pub(crate) fn order_systems(source: &dyn SystemSource, kind: OrderKind) -> Result<Vec<usize>> {
    let k = source.len();
    if kind == OrderKind::Given || k < 3 {
        return Ok((0..k).collect());
    }
    let feats: Vec<Vec<f64>> = (0..k).map(|i| source.features(i)).collect::<Result<_>>()?;
    let d = feats[0].len();
    if let Some(i) = feats.iter().position(|f| f.len() != d) {
        return Err(SolverError::Sequence {
            system: source.label(i),
            message: format!(
                "{} ordering parameters, {} has {d}",
                feats[i].len(),
                source.label(0)
            ),
        });
    }
    for (i, f) in feats.iter().enumerate() {
        if let Some(j) = f.iter().position(|v| !v.is_finite()) {
            return Err(SolverError::Sequence {
                system: source.label(i),
                message: format!(
                    "ordering parameter {j} is {}: the parameters that sort the sequence must be finite",
                    f[j]
                ),
            });
        }
    }
    let refs: Vec<&[f64]> = feats.iter().map(Vec::as_slice).collect();
    Ok(match kind {
        OrderKind::Projected => projected_chunk_order(&refs, 512, 0),
        _ => greedy_nearest_neighbour(&refs, extreme_start(&refs)),
    })
}

/// Per-chain carried state.
struct Carry {
    prev: Option<CsrMatrix>,
    prev_x: Option<Vec<f64>>,
    direct: Option<DirectSolver>,
    precond: SharedPrecond,
    /// The matrix the preconditioner was built for.
    precond_for: Option<CsrMatrix>,
    /// The AMG hierarchy behind `precond`, when it is one: a later system on the
    /// same pattern refreshes its values and keeps its aggregates.
    amg: Option<Arc<Amg>>,
    gcrodr: GcroDr,
    dcg: DeflatedCg,
    /// CG broke down on an earlier system of this chain: MINRES from then on.
    minres: bool,
}

/// `α x_prev` with `α = argmin ‖b − α A x_prev‖` (one SpMV): never worse
/// than starting from zero.
fn warm_guess(a: &CsrMatrix, b: &[f64], prev: &[f64]) -> Vec<f64> {
    let mut ax = vec![0.0; b.len()];
    a.mul_vec(prev, &mut ax);
    let den = dot(&ax, &ax);
    let alpha = if den > 0.0 { dot(b, &ax) / den } else { 0.0 };
    if alpha == 0.0 || !alpha.is_finite() {
        return vec![0.0; b.len()];
    }
    prev.iter().map(|v| alpha * v).collect()
}

impl Carry {
    fn new(plan: &SequencePlan) -> Self {
        Self {
            prev: None,
            prev_x: None,
            direct: None,
            precond: None,
            precond_for: None,
            amg: None,
            gcrodr: GcroDr::new()
                .restart(plan.restart)
                .recycle_dim(plan.recycle.max(1))
                .refresh_every(plan.refresh_every),
            dcg: DeflatedCg::new().deflation_dim(plan.recycle.max(1)),
            minres: false,
        }
    }
}

/// The callback a sequence reports each solved system to.
pub type OnDone<'a> = dyn FnMut(&SystemRecord, &[f64]) -> Result<()> + Send + 'a;

/// What the chains of one sequence share.
struct Shared<'a, 'b> {
    /// The size of the first system in solve order; every other must match it.
    n0: OnceLock<usize>,
    /// The earliest chain (in solve order) that failed: the chains after it stop before
    /// their next system, those before it go on, so the error returned — the earliest
    /// chain's — does not depend on timing.
    failed_chain: AtomicUsize,
    /// Set when a chain panicked: every chain stops (the panic goes on at the join).
    abort: AtomicBool,
    on_done: Mutex<&'a mut OnDone<'b>>,
}

impl Shared<'_, '_> {
    fn should_stop(&self, chain: usize) -> bool {
        self.abort.load(Ordering::Relaxed) || chain > self.failed_chain.load(Ordering::Relaxed)
    }
}

/// Sets [`Shared::abort`] if its chain's thread unwinds.
struct AbortOnPanic<'s, 'a, 'b>(&'s Shared<'a, 'b>);

impl Drop for AbortOnPanic<'_, '_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abort.store(true, Ordering::Relaxed);
        }
    }
}

/// `order` cut into `chains` contiguous pieces of near-equal length (at most one per
/// system), each with the position of its first system.
fn chain_segments(order: &[usize], chains: usize) -> Vec<(usize, &[usize])> {
    let (k, p) = (order.len(), chains.clamp(1, order.len().max(1)));
    (0..p)
        .map(|c| {
            let (s, e) = (c * k / p, (c + 1) * k / p);
            (s, &order[s..e])
        })
        .collect()
}

/// Solves every system of `source` as `plan` says, calling `on_done` with
/// each record and solution as it finishes. A system that does not converge
/// is recorded (its last iterate passed on) and the sequence goes on;
/// unusable input (a size mismatch, an unreadable system) stops it with an
/// error naming the system.
///
/// With one chain ([`SequencePlan::chains`]) the systems are solved, and
/// reported, in solve order. With several (at most one per system), the solve
/// order is cut into that many contiguous pieces solved at once, one thread
/// each; `on_done` is called (one call at a time) in each piece's order, the
/// pieces interleaved. An error in a chain stops the chains after it in solve
/// order before their next system; those before it go on, so the error
/// returned is the first in solve order whatever the timing. (Which systems
/// after it were solved and reported before the stop does depend on timing.)
///
/// No per-iteration trace is kept (`options`' trace schedule is replaced by
/// [`TraceSchedule::Off`]): the records carry what a sequence reports, and
/// measuring iterates along solves of ~100 iterations — each measurement
/// forms the iterate and a true residual — cost 10% of GCRO-DR's time.
pub fn solve_sequence(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    solve_sequence_in(source, plan, options, None, None, on_done)
}

/// Piece `piece` of `pieces`: orders the whole sequence as [`solve_sequence`] does, cuts
/// the solve order into `pieces` contiguous pieces exactly as `plan.chains = pieces`
/// would, and solves only piece `piece` (one chain, on this thread). Every piece of a
/// sequence solved this way — in other processes, on other machines — gives the records
/// and solutions the one-process run with `pieces` chains gives for those systems, so
/// the pieces put together are that run's results. The report covers the piece's
/// systems (its `order` is the whole solve order, its plan's `chains` is `pieces`).
/// CPU only.
pub fn solve_sequence_piece(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    piece: usize,
    pieces: usize,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    check_piece(source.len(), plan, piece, pieces)?;
    solve_sequence_in(source, plan, options, Some((piece, pieces)), None, on_done)
}

/// The solve order of `source` under `plan` (the order [`solve_sequence`] computes
/// first): what one process computes and sends to the others, which then solve their
/// piece with [`solve_sequence_piece_ordered`] without reading every system's features.
pub fn sequence_order(source: &dyn SystemSource, plan: &SequencePlan) -> Result<Vec<usize>> {
    order_systems(source, plan.order)
}

/// [`solve_sequence_piece`] with the solve order given (from [`sequence_order`], computed
/// once elsewhere) instead of computed here; it must be a permutation of the systems.
pub fn solve_sequence_piece_ordered(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    order: Vec<usize>,
    piece: usize,
    pieces: usize,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    let k = source.len();
    let mut seen = vec![false; k];
    if order.len() != k
        || order
            .iter()
            .any(|&i| i >= k || std::mem::replace(&mut seen[i], true))
    {
        return Err(SolverError::setting(
            "order",
            format!("{} entries", order.len()),
            format!("the solve order must be a permutation of the {k} systems"),
        ));
    }
    check_piece(k, plan, piece, pieces)?;
    solve_sequence_in(source, plan, options, Some((piece, pieces)), Some(order), on_done)
}

/// Checks that `piece` of `pieces` exists for `k` systems and that the plan runs on the CPU.
fn check_piece(k: usize, plan: &SequencePlan, piece: usize, pieces: usize) -> Result<()> {
    if pieces == 0 || pieces > k.max(1) {
        return Err(SolverError::setting(
            "pieces",
            pieces,
            format!("must be between 1 and the number of systems ({k})"),
        ));
    }
    if piece >= pieces {
        return Err(SolverError::setting(
            "piece",
            piece,
            format!("must be below the number of pieces ({pieces})"),
        ));
    }
    if !matches!(plan.backend, super::plan::Backend::Cpu) {
        return Err(SolverError::setting(
            "device",
            "gpu",
            "a piece of a sequence is solved on the CPU (the GPU solves batches of the whole sequence)",
        ));
    }
    Ok(())
}

fn solve_sequence_in(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    piece: Option<(usize, usize)>,
    given_order: Option<Vec<usize>>,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    options.validate()?;
    #[cfg(feature = "gpu")]
    if let super::plan::Backend::Gpu(gpu) = &plan.backend {
        return crate::device::solve_sequence(gpu, source, plan, options, on_done);
    }
    let options = &options.clone().trace(TraceSchedule::Off);
    let wall = Instant::now();
    let k = source.len();
    let t = Instant::now();
    let order = match given_order {
        Some(order) => order,
        None => order_systems(source, plan.order)?,
    };
    let ordering_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let shared = Shared {
        n0: OnceLock::new(),
        failed_chain: AtomicUsize::new(usize::MAX),
        abort: AtomicBool::new(false),
        on_done: Mutex::new(on_done),
    };
    let segments = match piece {
        Some((_, pieces)) => chain_segments(&order, pieces),
        None => chain_segments(&order, plan.chains),
    };
    // one chain runs on a thread of rayon's pool, so that its parallel kernels (SpMV,
    // dots, AMG) fork from a worker: called from another thread each of them handed its
    // work to the pool and slept on a latch until it came back, 10–16% of a GMRES +
    // ILU(0) sequence at n = 2.7·10⁴ in futex wake-ups; with no other chain queued,
    // nothing can be stolen into it
    let results = if let Some((c, _)) = piece {
        let shared = &shared;
        vec![rayon::scope(|_| {
            solve_chain(source, plan, options, c, segments[c], shared)
        })]
    } else if segments.len() == 1 {
        let shared = &shared;
        vec![rayon::scope(|_| {
            solve_chain(source, plan, options, 0, segments[0], shared)
        })]
    } else {
        // every chain checks sizes against the first system in solve order, assembled
        // once more here so the check does not depend on which chain starts first
        if let Some(&first) = order.first() {
            let (a, _) = source.system(first)?;
            shared.n0.get_or_init(|| a.nrows());
        }
        solve_chains_in_parallel(source, plan, options, &segments, &shared)?
    };
    let solve_wall_s = t.elapsed().as_secs_f64();
    let mut records: Vec<Option<SystemRecord>> = vec![None; k];
    // the first error in solve order wins (chains stopped by it return what they did)
    for chain in results {
        for rec in chain? {
            let i = rec.index;
            records[i] = Some(rec);
        }
    }
    let systems: Vec<SystemRecord> = records.into_iter().flatten().collect();
    let mut plan = plan.clone();
    plan.chains = segments.len();
    Ok(SequenceReport {
        plan,
        total_iterations: systems.iter().map(|r| r.iterations).sum(),
        solve_s: systems.iter().map(|r| r.setup_s + r.solve_s).sum(),
        assembly_s: systems.iter().map(|r| r.assembly_s).sum(),
        failed: systems.iter().filter(|r| !r.converged).map(|r| r.index).collect(),
        order,
        ordering_s,
        systems,
        wall_s: wall.elapsed().as_secs_f64(),
        solve_wall_s,
    })
}

/// Runs [`solve_chain`] on every segment, one scoped thread each, and returns their
/// results in chain order (a chain's panic goes on here, after the others stopped).
///
/// Each chain has a thread of its own rather than a task on rayon's pool: a pool
/// thread waiting in a parallel kernel may steal a queued chain and run it inside the
/// first one's stack (serialising them, and deadlocking when the report callback
/// holds its lock); the cost is a hand-over into the pool per parallel kernel, which
/// one chain (below) does not pay.
fn solve_chains_in_parallel(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    segments: &[(usize, &[usize])],
    shared: &Shared<'_, '_>,
) -> Result<Vec<Result<Vec<SystemRecord>>>> {
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(segments.len());
        for (c, &seg) in segments.iter().enumerate() {
            let spawned = std::thread::Builder::new()
                .name(format!("sequence chain {c}"))
                .spawn_scoped(scope, move || {
                    let _guard = AbortOnPanic(shared);
                    solve_chain(source, plan, options, c, seg, shared)
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // the chains already running stop before their next system
                    shared.abort.store(true, Ordering::Relaxed);
                    for h in handles {
                        // their results are dropped: the failed start is the error
                        if let Err(panic) = h.join() {
                            std::panic::resume_unwind(panic);
                        }
                    }
                    return Err(SolverError::setting(
                        "chains",
                        segments.len(),
                        format!("could not start the thread of chain {c}: {e}"),
                    ));
                }
            }
        }
        Ok(handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect())
    })
}

/// Solves chain `chain`: the systems `seg.1` (original indices, in solve order, the
/// first at position `seg.0`), carrying state from each to the next. Returns the
/// records of the systems it solved — all of them, or those before an earlier chain
/// failed — or, on its own failure, the error (after telling later chains to stop).
fn solve_chain(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    chain: usize,
    (first, systems): (usize, &[usize]),
    shared: &Shared<'_, '_>,
) -> Result<Vec<SystemRecord>> {
    let mut carry = Carry::new(plan);
    let mut records = Vec::with_capacity(systems.len());
    for (p, &i) in systems.iter().enumerate() {
        // an interrupted sequence solves no more systems (the one running stopped too)
        if shared.should_stop(chain) || options.is_interrupted() {
            break;
        }
        let rec = solve_position(source, plan, options, &mut carry, i, first + p, shared);
        match rec {
            Ok(rec) => records.push(rec),
            Err(e) => {
                shared.failed_chain.fetch_min(chain, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
    Ok(records)
}

/// Produces, checks, solves and reports system `i` (at `position` in the solve order).
fn solve_position(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    carry: &mut Carry,
    i: usize,
    position: usize,
    shared: &Shared<'_, '_>,
) -> Result<SystemRecord> {
    let t = Instant::now();
    let (a, b) = source.system(i)?;
    let assembly_s = t.elapsed().as_secs_f64();
    let n = *shared.n0.get_or_init(|| a.nrows());
    check_shape(source, i, &a, &b, n)?;
    let change = MatrixChange::between(carry.prev.as_ref(), &a);
    let (x, mut rec) = solve_one(carry, plan, options, a, b, change).map_err(|e| match e {
        e @ SolverError::Sequence { .. } => e,
        // a factorisation or preconditioner that fails names the system it failed on
        e => SolverError::Sequence {
            system: source.label(i),
            message: e.to_string(),
        },
    })?;
    rec.index = i;
    rec.position = position;
    rec.assembly_s = assembly_s;
    rec.converged = rec.relres <= options.get_tol();
    {
        // poisoned: another chain panicked in the callback, and that panic goes on at
        // the join; this chain reports nothing more
        let Ok(mut report) = shared.on_done.lock() else {
            return Err(SolverError::Sequence {
                system: source.label(i),
                message: "another chain panicked while reporting".into(),
            });
        };
        report(&rec, &x)?;
    }
    if plan.warm_start {
        // only a converged solution is a trustworthy guess for a neighbour
        carry.prev_x = rec.converged.then_some(x);
    }
    Ok(rec)
}

/// The checks every system of a sequence passes before it is solved (on any device):
/// square, a right-hand side of matching length, the size `n0` of the first.
pub(crate) fn check_shape(
    source: &dyn SystemSource,
    i: usize,
    a: &CsrMatrix,
    b: &[f64],
    n0: usize,
) -> Result<()> {
    let bad = |message: String| SolverError::Sequence {
        system: source.label(i),
        message,
    };
    if a.nrows() != a.ncols() {
        return Err(bad(format!("matrix is {}×{}, not square", a.nrows(), a.ncols())));
    }
    if b.len() != a.nrows() {
        return Err(bad(format!(
            "right-hand side has {} entries, the matrix has {} rows",
            b.len(),
            a.nrows()
        )));
    }
    if a.nrows() != n0 {
        return Err(bad(format!(
            "{} unknowns, the sequence started with {n0} (all systems must have one size)",
            a.nrows()
        )));
    }
    Ok(())
}

fn record(iterations: usize, setup_s: f64, solve_s: f64, relres: f64, status: Status) -> SystemRecord {
    SystemRecord {
        index: 0,
        position: 0,
        iterations,
        setup_s,
        solve_s,
        assembly_s: 0.0,
        relres,
        converged: false,
        status,
        change: MatrixChange::First,
        reused: false,
        initial_relres: 1.0,
        switched_to_minres: false,
        fallback: None,
    }
}

fn solve_one(
    carry: &mut Carry,
    plan: &SequencePlan,
    options: &Options,
    a: CsrMatrix,
    b: Vec<f64>,
    change: MatrixChange,
) -> Result<(Vec<f64>, SystemRecord)> {
    let tol = options.get_tol();
    let (x, mut rec) = match plan.method {
        SeqMethod::Direct => {
            let t = Instant::now();
            let reused = change == MatrixChange::Identical && carry.direct.is_some();
            if !reused {
                let refactored = match (&mut carry.direct, change) {
                    (Some(d), MatrixChange::SamePattern { .. }) => d.refactor(&a).is_ok(),
                    _ => false,
                };
                if !refactored {
                    carry.direct = Some(crate::policy::factorise(&a)?);
                }
            }
            let setup_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let d = carry.direct.as_ref().expect("factorised above");
            let mut x = vec![0.0; b.len()];
            d.solve(&b, &mut x)?;
            // up to two steps of iterative refinement if rounding left x above tol
            let mut relres = relative_residual(&a, &x, &b);
            for _ in 0..2 {
                if relres <= tol || !relres.is_finite() {
                    break;
                }
                let mut r = vec![0.0; b.len()];
                a.mul_vec(&x, &mut r);
                sub_from(&b, &mut r);
                let mut dx = vec![0.0; b.len()];
                d.solve(&r, &mut dx)?;
                axpy(1.0, &dx, &mut x);
                relres = relative_residual(&a, &x, &b);
            }
            let status = if relres <= tol {
                Status::Converged {
                    criterion: crate::Criterion::RelativeResidual,
                    value: relres,
                    tol,
                }
            } else {
                Status::Stalled {
                    detail: format!("direct solve left a relative residual of {relres:.2e}"),
                }
            };
            let mut rec = record(0, setup_s, t.elapsed().as_secs_f64(), relres, status);
            rec.reused = reused;
            carry.prev = Some(a);
            (x, rec)
        }
        SeqMethod::Krylov { .. } | SeqMethod::GcroDr | SeqMethod::DeflatedCg => {
            let t = Instant::now();
            let x0 = match (&carry.prev_x, plan.warm_start) {
                (Some(px), true) => Some(warm_guess(&a, &b, px)),
                _ => None,
            };
            let mut problem = LinearSystemProblem::new(a, b)?;
            let initial_relres = match &x0 {
                Some(x0) => relative_residual(problem.a(), x0, problem.b()),
                None => 1.0,
            };
            if let Some(x0) = x0 {
                problem = problem.with_initial_guess(x0)?;
            }
            let warm_s = t.elapsed().as_secs_f64();
            let mut run = run_krylov(carry, plan, options, &problem, change)?;
            let mut switched = false;
            if plan.minres_on_breakdown
                && !carry.minres
                && plan.method == (SeqMethod::Krylov { method: Method::Cg })
            {
                if let Status::Breakdown { reason } = &run.report.status {
                    // a direction of non-positive curvature: not positive definite; MINRES
                    // for this system and the rest of the chain, the CG attempt's cost kept
                    let why = format!("CG broke down ({reason}): solved again with MINRES + |Jacobi|");
                    carry.minres = true;
                    carry.precond_for = None;
                    switched = true;
                    let again = run_krylov(carry, plan, options, &problem, change)?;
                    let notes = [run.note.take(), Some(why), again.note.clone()];
                    run = KrylovRun {
                        iterations: run.iterations + again.iterations,
                        setup_s: run.setup_s + again.setup_s,
                        solve_s: run.solve_s + again.solve_s,
                        note: Some(notes.into_iter().flatten().collect::<Vec<_>>().join("; ")),
                        ..again
                    };
                }
            }
            let (x, report, reuse) = (run.x, run.report, run.reused);
            let relres = relative_residual(problem.a(), &x, problem.b());
            let mut rec = record(
                run.iterations,
                run.setup_s,
                warm_s + run.solve_s,
                relres,
                report.status,
            );
            rec.reused = reuse;
            rec.switched_to_minres = switched;
            rec.fallback = run.note;
            rec.initial_relres = initial_relres;
            carry.prev = Some(problem.a().clone());
            (x, rec)
        }
    };
    rec.change = change;
    Ok((x, rec))
}

/// One Krylov solve of a sequence's system.
struct KrylovRun {
    x: Vec<f64>,
    report: Report,
    iterations: usize,
    setup_s: f64,
    solve_s: f64,
    reused: bool,
    /// What fell back, and why (a preconditioner that could not be built).
    note: Option<String>,
}

/// Builds (or reuses) the chain's preconditioner for `problem`'s matrix and runs the
/// plan's Krylov method on it — MINRES + |Jacobi| once the chain has switched after a
/// CG breakdown.
fn run_krylov(
    carry: &mut Carry,
    plan: &SequencePlan,
    options: &Options,
    problem: &LinearSystemProblem,
    change: MatrixChange,
) -> Result<KrylovRun> {
    let t = Instant::now();
    let a = problem.a();
    let reuse = plan.reuse_precond
        && carry.precond_for.is_some()
        && MatrixChange::between(carry.precond_for.as_ref(), a).relative() <= plan.reuse_tol;
    let (method, precond) = match plan.method {
        _ if carry.minres => crate::policy::BREAKDOWN_RETRY,
        SeqMethod::Krylov { method } => (method, plan.precond),
        SeqMethod::DeflatedCg => (Method::Cg, plan.precond),
        _ => (Method::Gcrodr, plan.precond),
    };
    let mut sp = SolvePlan {
        method,
        precond,
        reason: String::new(),
    };
    let mut note = None;
    if !reuse {
        // an AMG hierarchy on the same pattern keeps its aggregates (values only)
        let refreshed = match (&carry.amg, sp.precond) {
            (Some(h), PrecondKind::Amg) if !carry.minres => h.refresh(a).ok().map(Arc::new),
            _ => None,
        };
        if let Some(h) = refreshed {
            carry.precond = Some(h.clone() as Arc<dyn Preconditioner>);
            carry.amg = Some(h);
        } else {
            // MINRES's |Jacobi| after a switch is the engine's choice too
            let explicit = !(plan.precond_fallback || carry.minres);
            let (precond, amg) = crate::policy::build_precond_keeping_amg(&mut sp, a, explicit)?;
            carry.precond = precond;
            carry.amg = amg;
            if !sp.reason.is_empty() {
                note = Some(sp.reason.trim_start_matches("; ").to_string());
            }
        }
        // kept only when a later system may reuse the preconditioner
        carry.precond_for = plan.reuse_precond.then(|| a.clone());
    }
    let setup_s = if reuse { 0.0 } else { t.elapsed().as_secs_f64() };
    let t = Instant::now();
    let (x, report) = match plan.method {
        SeqMethod::GcroDr if !carry.minres => {
            let g = &mut carry.gcrodr;
            g.set_preconditioner(carry.precond.clone());
            let space = g.take_recycle();
            // same operator: identical matrix and the same preconditioner (or none)
            let same_precond = reuse || carry.precond.is_none();
            g.with_recycle(space, change == MatrixChange::Identical && same_precond);
            let out = crate::run(problem, g, options)?;
            (out.state.into_solution(), out.report)
        }
        SeqMethod::DeflatedCg if !carry.minres => {
            let d = &mut carry.dcg;
            d.set_preconditioner(carry.precond.clone());
            let out = crate::run(problem, d, options)?;
            (out.state.into_solution(), out.report)
        }
        _ => crate::krylov::run_method(
            problem,
            &sp,
            carry.precond.clone(),
            plan.restart,
            options,
            &mut [],
        )?,
    };
    Ok(KrylovRun {
        iterations: report.iterations,
        x,
        report,
        setup_s,
        solve_s: t.elapsed().as_secs_f64(),
        reused: reuse,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::krylov::MatrixAnalysis;
    use crate::policy::analyse;
    use crate::sequence::{resolve_plan, InMemorySource, SequenceConfig, Strategy};
    use solvent_linalg::precond::PrecondKind;
    use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};

    fn darcy(k: usize) -> InMemorySource {
        let s = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(24, 9)).unwrap();
        let (mut sys, mut feats) = (Vec::new(), Vec::new());
        for i in 0..k {
            let smp = s.sample(i).unwrap();
            sys.push((smp.a, smp.b));
            feats.push(s.features(i));
        }
        InMemorySource::new(sys, feats).unwrap()
    }

    #[test]
    fn auto_cg_on_an_indefinite_sequence_switches_to_minres_for_the_rest_of_the_chain() {
        // −Δu − σu with a positive diagonal but σ past the smallest eigenvalues: what
        // `auto` sends to CG + IC(0) when the fill is 3-D-like (symmetric, positive
        // diagonal), and indefinite
        let m = 20;
        let h2 = 1.0 / ((m + 1) * (m + 1)) as f64;
        let (mut sys, mut feats) = (Vec::new(), Vec::new());
        for i in 0..6 {
            let sigma = 200.0 + 10.0 * i as f64;
            let a = solvent_problems::generators::shifted_laplacian2d(m, sigma).unwrap();
            assert!(a.diagonal().iter().all(|&d| d > 0.0) && sigma * h2 < 4.0);
            sys.push((a, (0..m * m).map(|k| 1.0 + (k % 7) as f64).collect::<Vec<_>>()));
            feats.push(vec![sigma]);
        }
        let src = InMemorySource::new(sys, feats).unwrap();
        let an = analyse(&src.system(0).unwrap().0);
        let cfg = SequenceConfig::default();
        let mut plan = resolve_plan(
            &cfg,
            6,
            &MatrixAnalysis {
                cholesky_fill: Some(300 * m * m),
                ..an
            },
            false,
        )
        .unwrap();
        assert_eq!(plan.method, SeqMethod::Krylov { method: Method::Cg });
        assert!(plan.minres_on_breakdown, "{}", plan.reason);
        let o = Options::default().tol(1e-8).max_iters(5000);
        for chains in [1, 2] {
            plan.chains = chains;
            let rep = solve_sequence(&src, &plan, &o, &mut |rec, x| {
                let (a, b) = src.system(rec.index).unwrap();
                assert!(relative_residual(&a, x, &b) <= 1e-8, "system {}", rec.index);
                Ok(())
            })
            .unwrap();
            assert!(rep.failed.is_empty(), "{chains} chains: {:?}", rep.failed);
            assert!(rep
                .summary()
                .contains(&format!("({chains} of {chains} chains): MINRES")));
            // each chain's first system finds out, the rest start with MINRES
            let firsts: Vec<usize> = chain_segments(&rep.order, chains)
                .iter()
                .map(|(_, s)| s[0])
                .collect();
            for r in &rep.systems {
                assert_eq!(
                    r.switched_to_minres,
                    firsts.contains(&r.index),
                    "system {}",
                    r.index
                );
                if r.switched_to_minres {
                    let why = r.fallback.as_deref().unwrap_or_default();
                    assert!(
                        why.contains("CG broke down") && why.contains("not positive definite"),
                        "{why}"
                    );
                }
                assert!(r.iterations > 0);
            }
        }
        // without the switch, CG (or IC(0)) fails on the first system
        plan.minres_on_breakdown = false;
        plan.chains = 1;
        let out = solve_sequence(&src, &plan, &o, &mut |_, _| Ok(()));
        assert!(out.map_or(true, |r| !r.failed.is_empty()));
    }

    #[test]
    fn an_automatic_preconditioner_that_cannot_be_built_falls_back_and_a_named_one_is_an_error() {
        // convection–diffusion with rows 0 and 55 swapped: zero diagonal entries, so
        // neither ILU(0) nor Jacobi can be built, and unpreconditioned GCRO-DR still solves it
        let c = solvent_problems::generators::convection_diffusion2d(10, 0.05, 1.0, 0.5).unwrap();
        let n = c.nrows();
        let swap = |i: usize| match i {
            0 => 55,
            55 => 0,
            i => i,
        };
        let mut t = Vec::new();
        for i in 0..n {
            let (cols, vals) = c.row(i);
            t.extend(cols.iter().zip(vals).map(|(&j, &v)| (swap(i), j as usize, v)));
        }
        let a = CsrMatrix::from_triplets(n, n, &t).unwrap();
        assert!(a.diagonal().contains(&0.0));
        let sys = (0..3)
            .map(|k| {
                (
                    a.clone(),
                    (0..n).map(|i| 1.0 + ((i + k) % 5) as f64).collect::<Vec<_>>(),
                )
            })
            .collect();
        let src = InMemorySource::new(sys, vec![vec![0.0], vec![1.0], vec![2.0]]).unwrap();
        let mut plan = SequencePlan::skr(30, 10);
        plan.precond = PrecondKind::Ilu0;
        plan.precond_fallback = true;
        plan.reuse_precond = true;
        plan.reuse_tol = 0.05;
        let o = Options::default().tol(1e-9).max_iters(2000);
        let rep = solve_sequence(&src, &plan, &o, &mut |rec, x| {
            let (a, b) = src.system(rec.index).unwrap();
            assert!(relative_residual(&a, x, &b) <= 1e-9, "system {}", rec.index);
            Ok(())
        })
        .unwrap();
        assert!(rep.failed.is_empty());
        assert!(
            rep.summary()
                .contains("preconditioner fell back on 1 of 3 systems"),
            "{}",
            rep.summary()
        );
        for r in &rep.systems {
            let why = r.fallback.as_deref().unwrap_or_default();
            // built once (the matrix never changes, so only the first system builds)
            assert_eq!(why.contains("ilu0 failed"), r.position == 0, "{why}");
            assert!(!r.switched_to_minres);
        }
        plan.precond_fallback = false;
        let err = solve_sequence(&src, &plan, &o, &mut |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().to_lowercase().contains("pivot"), "{err}");
    }

    #[test]
    fn amg_preconditions_cg_and_gcrodr_along_a_sequence_with_fewer_iterations_than_ic0() {
        let src = darcy(6);
        let o = Options::default().tol(1e-9).max_iters(5000);
        let mut totals = Vec::new();
        for (method, precond) in [
            (SeqMethod::Krylov { method: Method::Cg }, PrecondKind::Amg),
            (SeqMethod::Krylov { method: Method::Cg }, PrecondKind::Ic0),
            (SeqMethod::GcroDr, PrecondKind::Amg),
        ] {
            let mut plan = SequencePlan::skr(30, 10);
            plan.method = method;
            plan.precond = precond;
            plan.warm_start = true;
            // a new matrix each time: AMG refreshes its hierarchy on the shared pattern
            plan.reuse_precond = true;
            plan.reuse_tol = 0.0;
            let rep = solve_sequence(&src, &plan, &o, &mut |rec, x| {
                let (a, b) = src.system(rec.index).unwrap();
                assert!(
                    relative_residual(&a, x, &b) <= 1e-9,
                    "{method:?} {precond:?} {}",
                    rec.index
                );
                Ok(())
            })
            .unwrap();
            assert!(rep.failed.is_empty() && rep.systems.iter().all(|r| r.converged && !r.reused));
            totals.push(rep.total_iterations);
        }
        assert!(
            totals[0] < totals[1],
            "CG iterations with AMG vs IC(0): {totals:?}"
        );
    }

    #[test]
    fn cg_with_amg_needs_about_as_many_iterations_on_every_darcy3d_grid() {
        // grid independence on the 3-D log-normal Darcy family: 10³ → 20³ (8x the
        // unknowns), where IC(0)'s iterations grow like h⁻¹
        let o = Options::default().tol(1e-8).max_iters(5000);
        let mut its = Vec::new();
        for (grid, precond) in [
            (10, PrecondKind::Amg),
            (20, PrecondKind::Amg),
            (10, PrecondKind::Ic0),
            (20, PrecondKind::Ic0),
        ] {
            let s = PdeSampler::new(PdeFamily::Darcy3d, FamilyConfig::new(grid, 4)).unwrap();
            let systems: Vec<_> = (0..3).map(|i| s.sample(i).unwrap()).map(|p| (p.a, p.b)).collect();
            let src = InMemorySource::new(systems, vec![vec![0.0]; 3]).unwrap();
            let mut plan = SequencePlan::independent(30);
            plan.method = SeqMethod::Krylov { method: Method::Cg };
            plan.precond = precond;
            let rep = solve_sequence(&src, &plan, &o, &mut |rec, x| {
                let (a, b) = src.system(rec.index).unwrap();
                assert!(relative_residual(&a, x, &b) <= 1e-8);
                Ok(())
            })
            .unwrap();
            assert!(rep.failed.is_empty() && rep.systems.iter().all(|r| r.converged));
            its.push(rep.total_iterations as f64);
        }
        assert!(
            its[1] < 1.5 * its[0],
            "CG + AMG iterations {} → {}",
            its[0],
            its[1]
        );
        assert!(
            its[3] > 1.5 * its[2],
            "CG + IC(0) iterations {} → {}",
            its[2],
            its[3]
        );
        assert!(its[1] < its[3]);
    }

    #[test]
    fn every_plan_solves_every_system_and_reports_in_sample_order() {
        let src = darcy(8);
        let o = Options::default().tol(1e-9).max_iters(5000);
        let an = analyse(&src.system(0).unwrap().0);
        let mut plans = vec![SequencePlan::independent(30), SequencePlan::skr(30, 10)];
        let mut warm = SequencePlan::skr(30, 10);
        warm.warm_start = true;
        plans.push(warm);
        let mut dcg = SequencePlan::skr(30, 6);
        dcg.method = SeqMethod::DeflatedCg;
        dcg.precond = PrecondKind::Ic0;
        dcg.reuse_precond = true;
        dcg.reuse_tol = 1.0; // reuse the first IC(0) for all: still SPD, still converges
        plans.push(dcg);
        let cfg = SequenceConfig {
            strategy: Strategy::Auto,
            precond: Some(PrecondKind::Ic0),
            ..SequenceConfig::default()
        };
        plans.push(resolve_plan(&cfg, 8, &an, false).unwrap());
        let mut iters = Vec::new();
        for plan in &plans {
            let mut seen = Vec::new();
            let rep = solve_sequence(&src, plan, &o, &mut |rec, x| {
                let (a, b) = src.system(rec.index).unwrap();
                assert!(
                    relative_residual(&a, x, &b) <= 1e-9,
                    "{:?} system {}",
                    plan.method,
                    rec.index
                );
                seen.push(rec.index);
                Ok(())
            })
            .unwrap();
            assert_eq!(seen, rep.order, "callbacks come in solve order");
            let mut sorted = rep.order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..8).collect::<Vec<_>>());
            for (i, r) in rep.systems.iter().enumerate() {
                assert_eq!(r.index, i);
                assert!(r.converged);
            }
            assert!(rep.failed.is_empty());
            iters.push(rep.total_iterations);
            if plan.method == SeqMethod::DeflatedCg {
                assert!(rep.systems.iter().filter(|r| r.reused).count() == 7);
            }
        }
        assert!(
            iters[1] < iters[0],
            "skr {} vs independent {}",
            iters[1],
            iters[0]
        );
    }

    #[test]
    fn parallel_chains_solve_their_pieces_as_separate_sequences() {
        let src = darcy(9);
        let o = Options::default().tol(1e-9).max_iters(5000);
        let mut plan = SequencePlan::skr(30, 10);
        plan.warm_start = true;
        plan.chains = 3;
        let solved = Mutex::new(vec![None; 9]);
        let mut calls = 0;
        let rep = solve_sequence(&src, &plan, &o, &mut |rec, x| {
            calls += 1;
            solved.lock().unwrap()[rec.index] = Some(x.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 9);
        let solved: Vec<Vec<f64>> = solved
            .into_inner()
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect();
        for (i, r) in rep.systems.iter().enumerate() {
            assert_eq!(r.index, i);
            assert!(r.converged);
            let (a, b) = src.system(i).unwrap();
            assert!(relative_residual(&a, &solved[i], &b) <= 1e-9);
        }
        // each piece of the order, solved alone as a one-chain sequence in that order,
        // gives the same iterations and the same solutions to the bit
        let pieces = chain_segments(&rep.order, 3);
        assert_eq!(pieces.len(), 3);
        for (first, piece) in pieces {
            let systems = piece.iter().map(|&i| src.system(i).unwrap()).collect();
            let alone = InMemorySource::new(systems, vec![vec![0.0]; piece.len()]).unwrap();
            let mut one = plan.clone();
            one.chains = 1;
            one.order = OrderKind::Given;
            let mut xs = Vec::new();
            let r1 = solve_sequence(&alone, &one, &o, &mut |_, x| {
                xs.push(x.to_vec());
                Ok(())
            })
            .unwrap();
            for (p, &i) in piece.iter().enumerate() {
                let rec = &rep.systems[i];
                assert_eq!(rec.position, first + p);
                assert_eq!(rec.iterations, r1.systems[p].iterations, "system {i}");
                assert_eq!(solved[i], xs[p], "system {i}");
            }
            // the first system of a chain starts cold
            assert_eq!(rep.systems[piece[0]].change, MatrixChange::First);
            assert_eq!(rep.systems[piece[0]].initial_relres, 1.0);
        }
        // more chains than systems: one system each
        plan.chains = 50;
        let small = darcy(4);
        let rep = solve_sequence(&small, &plan, &o, &mut |_, _| Ok(())).unwrap();
        assert!(rep
            .systems
            .iter()
            .all(|r| r.converged && r.change == MatrixChange::First));
        assert_eq!(rep.plan.chains, 4, "the report holds the chains that ran");
    }

    #[test]
    fn chain_segments_cut_the_order_into_contiguous_near_equal_pieces() {
        let order: Vec<usize> = (0..10).rev().collect();
        for chains in [0, 1, 3, 4, 10, 25] {
            let segs = chain_segments(&order, chains);
            assert_eq!(segs.len(), chains.clamp(1, 10));
            let mut joined = Vec::new();
            for (first, piece) in &segs {
                assert_eq!(*first, joined.len(), "a piece starts where the last ended");
                joined.extend_from_slice(piece);
            }
            assert_eq!(joined, order);
            let (lo, hi) = segs.iter().fold((usize::MAX, 0), |(lo, hi), (_, p)| {
                (lo.min(p.len()), hi.max(p.len()))
            });
            assert!(hi - lo <= 1, "{chains} chains: pieces of {lo}..{hi}");
        }
        let empty = chain_segments(&[], 4);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].1.is_empty());
    }

    #[test]
    fn the_first_bad_system_in_solve_order_is_the_error_whatever_the_timing() {
        // systems 1 (chain 0) and 4 (chain 1) are both bad; chain 1 usually reaches its
        // bad system first, but chain 0 is not stopped by it, so the error is system 1's
        let a = solvent_problems::generators::poisson2d(10).unwrap();
        let mut sys: Vec<_> = (0..6).map(|i| (a.clone(), vec![1.0 + i as f64; 100])).collect();
        sys[1].1.pop();
        sys[4].1.pop();
        let src = InMemorySource::new(sys, vec![vec![0.0]; 6]).unwrap();
        let mut plan = SequencePlan::independent(20);
        plan.chains = 2;
        for _ in 0..5 {
            let e = solve_sequence(&src, &plan, &Options::default(), &mut |_, _| Ok(())).unwrap_err();
            assert!(e.to_string().contains("system 1"), "{e}");
        }
        // a size that differs from the first system in solve order is named, not the first
        let b = solvent_problems::generators::poisson2d(9).unwrap();
        let mut sys: Vec<_> = (0..4).map(|_| (a.clone(), vec![1.0; 100])).collect();
        sys[2] = (b, vec![1.0; 81]);
        let src = InMemorySource::new(sys, vec![vec![0.0]; 4]).unwrap();
        for _ in 0..5 {
            let e = solve_sequence(&src, &plan, &Options::default(), &mut |_, _| Ok(())).unwrap_err();
            assert!(
                e.to_string()
                    .contains("system 2: 81 unknowns, the sequence started with 100"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_error_in_one_chain_is_the_sequences_error() {
        let a = solvent_problems::generators::poisson2d(10).unwrap();
        let mut sys: Vec<_> = (0..6).map(|i| (a.clone(), vec![1.0 + i as f64; 100])).collect();
        sys[4].1.pop();
        let src = InMemorySource::new(sys, vec![vec![0.0]; 6]).unwrap();
        let mut plan = SequencePlan::independent(20);
        plan.chains = 2;
        let e = solve_sequence(&src, &plan, &Options::default(), &mut |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("system 4"), "{e}");
        // a failing callback stops the sequence with its error
        let good: Vec<_> = (0..6).map(|i| (a.clone(), vec![1.0 + i as f64; 100])).collect();
        let src = InMemorySource::new(good, vec![vec![0.0]; 6]).unwrap();
        let e = solve_sequence(&src, &plan, &Options::default(), &mut |rec, _| {
            if rec.index == 1 {
                return Err(SolverError::Sequence {
                    system: "system 1".into(),
                    message: "cannot write".into(),
                });
            }
            Ok(())
        })
        .unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
    }

    #[test]
    fn a_constant_matrix_is_factorised_once_and_sizes_are_checked() {
        let a = solvent_problems::generators::poisson2d(10).unwrap();
        let sys: Vec<_> = (0..4).map(|i| (a.clone(), vec![1.0 + i as f64; 100])).collect();
        let src = InMemorySource::new(sys, vec![vec![0.0]; 4]).unwrap();
        let an = analyse(&a);
        let plan = resolve_plan(&SequenceConfig::default(), 4, &an, true).unwrap();
        assert_eq!(plan.method, SeqMethod::Direct);
        let rep = solve_sequence(&src, &plan, &Options::default(), &mut |_, _| Ok(())).unwrap();
        assert_eq!(rep.systems.iter().filter(|r| r.reused).count(), 3);
        assert!(rep
            .systems
            .iter()
            .skip(1)
            .all(|r| r.change == MatrixChange::Identical));
        // a system of another size is an error naming it
        let bad = InMemorySource::new(
            vec![(a.clone(), vec![1.0; 100]), (a, vec![1.0; 99])],
            vec![vec![0.0]; 2],
        )
        .unwrap();
        let e = solve_sequence(&bad, &plan, &Options::default(), &mut |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("system 1"), "{e}");
    }
}
