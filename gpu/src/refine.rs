//! Mixed-precision iterative refinement: the device solves correction equations in its
//! precision (f32 on any adapter, f64 where offered), the CPU keeps x and computes the
//! true residual b − Ax in f64, until ‖b − Ax‖/‖b‖ ≤ tol. With f32 kernels each round
//! gains about five digits, so 1e-10 takes two or three rounds.

use crate::cg::{attainable, cg_batch, CgSettings, CgState};
use crate::context::{GpuContext, Precision};
use crate::error::{GpuError, Result};
use crate::gcrodr::{GcroDrSettings, GpuGcroDr};
use crate::gmres::{gmres, gmres_batch, GmresSettings};
use crate::matrix::{check_finite, GpuMatrix};
use solvent_linalg::CsrMatrix;
use std::sync::Arc;

/// Krylov method on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuMethod {
    /// Jacobi-PCG (SPD matrices; batches).
    Cg,
    /// Jacobi right-preconditioned GMRES(m).
    Gmres,
    /// Jacobi right-preconditioned GCRO-DR(m, k), recycling across refinement rounds
    /// and, through [`solve_recycled`], across a sequence.
    Gcrodr,
}

/// What a refined solve should reach.
#[derive(Clone, Copy, Debug)]
pub struct RefineSettings {
    /// Target on the true relative residual ‖b − Ax‖/‖b‖ (computed in f64).
    pub tol: f64,
    /// Limit on device iterations over all rounds (per system).
    pub max_iters: usize,
    /// Method.
    pub method: GpuMethod,
    /// GMRES / GCRO-DR basis size m.
    pub restart: usize,
    /// GCRO-DR recycled vectors k (< m).
    pub recycle: usize,
    /// Jacobi preconditioning.
    pub jacobi: bool,
    /// Device precision.
    pub precision: Precision,
    /// Most refinement rounds.
    pub max_rounds: usize,
    /// Stop (not converged) at the first check after this instant: between rounds, and
    /// inside a round at the device solvers' read-backs.
    pub deadline: Option<std::time::Instant>,
}

impl RefineSettings {
    /// Defaults for `method` at `tol` in `precision`.
    pub fn new(method: GpuMethod, tol: f64, precision: Precision) -> Self {
        Self {
            tol,
            max_iters: 20_000,
            method,
            restart: 40,
            recycle: 20,
            jacobi: true,
            precision,
            max_rounds: 8,
            deadline: None,
        }
    }
}

/// Outcome of one system's refined solve.
#[derive(Clone, Debug)]
pub struct SystemOutcome {
    /// The solution (f64).
    pub x: Vec<f64>,
    /// Device iterations over all rounds.
    pub iterations: usize,
    /// True ‖b − Ax‖/‖b‖ in f64.
    pub relres: f64,
    /// Refinement rounds (device solves).
    pub rounds: usize,
    /// Whether `relres ≤ tol`.
    pub converged: bool,
    /// Why it stopped short, when it did (or, after a caller's retry, what it did).
    pub note: Option<String>,
    /// CG broke down on a direction of non-positive curvature: the matrix is not
    /// positive definite, and a method for indefinite systems is the way on.
    pub indefinite: bool,
}

fn residual(a: &CsrMatrix, vals: &[f64], x: &[f64], b: &[f64], r: &mut [f64]) {
    let rp = a.row_ptr();
    let ci = a.col_idx();
    for i in 0..b.len() {
        let mut acc = 0.0;
        for k in rp[i] as usize..rp[i + 1] as usize {
            acc += vals[k] * x[ci[k] as usize];
        }
        r[i] = b[i] - acc;
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Inner relative tolerance for a round: what is still missing, floored at what the
/// device precision attains.
fn inner_tol(s: &RefineSettings, rnorm: f64, bnorm: f64) -> f64 {
    (0.5 * s.tol * bnorm / rnorm).clamp(attainable(s.precision), 0.5)
}

/// Solves one system `A x = b` on the device with refinement.
pub fn solve(ctx: &Arc<GpuContext>, a: &CsrMatrix, b: &[f64], s: &RefineSettings) -> Result<SystemOutcome> {
    let mut single = SingleSolve::new(ctx, a, b, s)?;
    while !single.done() {
        single.round(a, b)?;
    }
    Ok(single.into_outcome())
}

/// One system's refinement state: x and r = b − A x in f64, and the outcome so far.
/// [`Refinement::round_with`] runs one device solve of the correction equation; the caller
/// decides when to stop ([`Refinement::done`]).
#[derive(Clone, Debug)]
pub struct Refinement {
    x: Vec<f64>,
    r: Vec<f64>,
    bnorm: f64,
    settings: RefineSettings,
    outcome: SystemOutcome,
}

impl Refinement {
    /// From x = 0.
    pub fn new(b: &[f64], settings: &RefineSettings) -> Self {
        let bnorm = norm(b);
        Self {
            x: vec![0.0; b.len()],
            r: b.to_vec(),
            bnorm,
            settings: *settings,
            outcome: SystemOutcome {
                x: Vec::new(),
                iterations: 0,
                relres: if bnorm > 0.0 { 1.0 } else { 0.0 },
                rounds: 0,
                converged: bnorm == 0.0,
                note: None,
                indefinite: false,
            },
        }
    }

    /// Whether refinement is over: converged, out of rounds or iterations, past the
    /// deadline, or stopped with a note (stalled, CG breakdown).
    pub fn done(&self) -> bool {
        let (o, s) = (&self.outcome, &self.settings);
        o.converged
            || o.note.is_some()
            || o.rounds >= s.max_rounds
            || o.iterations >= s.max_iters
            || crate::cg::past(s.deadline)
    }

    /// One round: `inner(r, tol, max_iters, round)` solves `A d = r` on the device to
    /// relative `tol` and returns `(d, iterations, converged, broke_down)`; then x += d and
    /// r = b − A x in f64. A round that converged on the device but no longer reduces the
    /// true residual ends refinement with a "stalled" note; a CG breakdown with an
    /// "indefinite" one.
    pub fn round_with(
        &mut self,
        a: &CsrMatrix,
        b: &[f64],
        inner: impl FnOnce(&[f64], f64, usize, usize) -> Result<(Vec<f64>, usize, bool, bool)>,
    ) -> Result<()> {
        let s = &self.settings;
        // the device sees r/‖r‖ (no under- or overflow in f32 whatever the scale of b)
        let rnorm = norm(&self.r);
        let tol = inner_tol(s, rnorm, self.bnorm);
        let unit: Vec<f64> = self.r.iter().map(|v| v / rnorm).collect();
        let o = &mut self.outcome;
        let budget = s.max_iters.saturating_sub(o.iterations).max(1);
        let (d, its, inner_converged, broke) = inner(&unit, tol, budget, o.rounds)?;
        o.iterations += its;
        o.rounds += 1;
        for (xi, di) in self.x.iter_mut().zip(&d) {
            *xi += rnorm * di;
        }
        residual(a, a.values(), &self.x, b, &mut self.r);
        let prev = o.relres;
        o.relres = norm(&self.r) / self.bnorm;
        o.converged = o.relres <= s.tol;
        if !o.converged {
            if broke {
                o.note = Some("CG broke down (pᵀAp ≤ 0): the matrix is not positive definite".into());
                o.indefinite = true;
            } else if o.relres > 0.9 * prev && inner_converged {
                o.note = Some(format!(
                    "refinement stalled at {:.2e} (the device precision cannot resolve this system)",
                    o.relres
                ));
            }
        }
        Ok(())
    }

    /// The outcome so far (its `x` is empty; see [`Refinement::x`]).
    pub fn outcome(&self) -> &SystemOutcome {
        &self.outcome
    }

    /// The current iterate.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The outcome with the iterate.
    pub fn into_outcome(self) -> SystemOutcome {
        SystemOutcome {
            x: self.x,
            ..self.outcome
        }
    }
}

/// The device side of one system's solve.
enum Inner {
    Cg(GpuMatrix),
    Gmres(GpuMatrix),
    Gcrodr(GpuMatrix, Box<GpuGcroDr>),
}

/// One system on the device with refinement, a round at a time: what
/// `solvent_solvers`' run loop drives (one step per round), and what [`solve`] runs to
/// the end.
pub struct SingleSolve {
    inner: Inner,
    state: Refinement,
}

impl SingleSolve {
    /// Uploads `a` and prepares the method of `settings` (x = 0).
    pub fn new(ctx: &Arc<GpuContext>, a: &CsrMatrix, b: &[f64], settings: &RefineSettings) -> Result<Self> {
        if b.len() != a.nrows() || a.nrows() != a.ncols() {
            return Err(GpuError::Shape(format!(
                "a {}×{} matrix with a right-hand side of length {}",
                a.nrows(),
                a.ncols(),
                b.len()
            )));
        }
        check_finite("right-hand side", b)?;
        let dev = GpuMatrix::new(ctx, a, settings.precision)?;
        let inner = match settings.method {
            GpuMethod::Cg => Inner::Cg(dev),
            GpuMethod::Gmres => Inner::Gmres(dev),
            GpuMethod::Gcrodr => {
                let solver = GpuGcroDr::new(
                    ctx,
                    a.nrows(),
                    settings.restart,
                    settings.recycle.min(settings.restart.saturating_sub(1)),
                    settings.precision,
                )?;
                Inner::Gcrodr(dev, Box::new(solver))
            }
        };
        Ok(Self {
            inner,
            state: Refinement::new(b, settings),
        })
    }

    /// Whether refinement is over ([`Refinement::done`]).
    pub fn done(&self) -> bool {
        self.state.done()
    }

    /// One refinement round on the device (`a` and `b` as given to [`SingleSolve::new`]).
    pub fn round(&mut self, a: &CsrMatrix, b: &[f64]) -> Result<()> {
        let s = self.state.settings;
        match &mut self.inner {
            Inner::Cg(dev) => self.state.round_with(a, b, |r, tol, max_iters, _| {
                let cs = CgSettings {
                    tol,
                    max_iters,
                    jacobi: s.jacobi,
                    check_every: 16,
                    deadline: s.deadline,
                };
                let res = cg_batch(dev, r, &cs)?;
                let st = res.state[0];
                Ok((
                    res.x,
                    res.iterations[0],
                    st == CgState::Converged,
                    st == CgState::Breakdown,
                ))
            }),
            Inner::Gmres(dev) => self.state.round_with(a, b, |r, tol, max_iters, _| {
                let gs = GmresSettings {
                    tol,
                    max_iters,
                    restart: s.restart,
                    jacobi: s.jacobi,
                    deadline: s.deadline,
                };
                let res = gmres(dev, r, &gs)?;
                Ok((res.x, res.iterations, res.converged, false))
            }),
            Inner::Gcrodr(dev, solver) => self.state.round_with(a, b, |r, tol, max_iters, round| {
                let gs = GcroDrSettings {
                    tol,
                    max_iters,
                    jacobi: s.jacobi,
                    deadline: s.deadline,
                };
                // recycling across rounds: the first round starts with no space
                let res = solver.solve(dev, r, &gs, round > 0)?;
                Ok((res.x, res.iterations, res.converged, false))
            }),
        }
    }

    /// The refinement state (outcome so far, iterate).
    pub fn state(&self) -> &Refinement {
        &self.state
    }

    /// The outcome with the solution.
    pub fn into_outcome(self) -> SystemOutcome {
        self.state.into_outcome()
    }
}

/// Solves a batch `A_s x_s = b_s` (one value set per system over `pattern`, or one for
/// all) with device CG (SPD) or GMRES and refinement; systems that meet `tol` drop out of later rounds
/// (their right-hand side becomes zero, which the kernels skip at no iteration cost).
pub fn solve_batch(
    ctx: &Arc<GpuContext>,
    pattern: &CsrMatrix,
    values: &[f64],
    rhs: &[f64],
    s: &RefineSettings,
) -> Result<Vec<SystemOutcome>> {
    if s.method == GpuMethod::Gcrodr {
        return Err(GpuError::Setting(
            "batched device solves use CG (SPD systems) or GMRES; GCRO-DR runs a sequence one system at a time"
                .into(),
        ));
    }
    let n = pattern.nrows();
    let nnz = pattern.nnz();
    if n == 0 || rhs.is_empty() || !rhs.len().is_multiple_of(n) {
        return Err(GpuError::Shape(format!(
            "right-hand sides of {} values for systems of order {n}",
            rhs.len()
        )));
    }
    check_finite("right-hand side", rhs)?;
    let dev = GpuMatrix::batch(ctx, pattern, values, s.precision)?;
    let systems = rhs.len() / n.max(1);
    let shared = dev.batch_len() == 1;
    let vals = |i: usize| {
        if shared {
            values
        } else {
            &values[i * nnz..(i + 1) * nnz]
        }
    };
    let mut x = vec![0.0; rhs.len()];
    let mut r = rhs.to_vec();
    let bnorm: Vec<f64> = rhs.chunks(n).map(norm).collect();
    let mut out: Vec<SystemOutcome> = bnorm
        .iter()
        .map(|&bn| SystemOutcome {
            x: Vec::new(),
            iterations: 0,
            relres: if bn > 0.0 { 1.0 } else { 0.0 },
            rounds: 0,
            converged: bn == 0.0,
            note: None,
            indefinite: false,
        })
        .collect();
    let mut used = 0usize;
    for _round in 0..s.max_rounds {
        if crate::cg::past(s.deadline) {
            break;
        }
        let active: Vec<usize> = (0..systems)
            .filter(|&i| !out[i].converged && out[i].note.is_none())
            .collect();
        if active.is_empty() || used >= s.max_iters {
            break;
        }
        // one tolerance for the round: the tightest any active system needs
        let tol = active
            .iter()
            .map(|&i| inner_tol(s, norm(&r[i * n..(i + 1) * n]), bnorm[i]))
            .fold(0.5, f64::min);
        // each active system's residual goes to the device scaled to unit norm (no under-
        // or overflow in f32); finished systems get zero, which the kernels skip
        let mut round_rhs = r.clone();
        let mut scale = vec![0.0; systems];
        for i in 0..systems {
            let ri = &mut round_rhs[i * n..(i + 1) * n];
            if out[i].converged || out[i].note.is_some() {
                ri.fill(0.0);
            } else {
                scale[i] = norm(ri);
                ri.iter_mut().for_each(|v| *v /= scale[i]);
            }
        }
        // (solutions, iterations per system, batch iterations, per-system: inner converged, broke down)
        let (dx, its, batch_its, conv, broke): (Vec<f64>, Vec<usize>, usize, Vec<bool>, Vec<bool>) =
            match s.method {
                GpuMethod::Cg => {
                    let cs = CgSettings {
                        tol,
                        max_iters: s.max_iters - used,
                        jacobi: s.jacobi,
                        check_every: 16,
                        deadline: s.deadline,
                    };
                    let res = cg_batch(&dev, &round_rhs, &cs)?;
                    let conv = res.state.iter().map(|&st| st == CgState::Converged).collect();
                    let broke = res.state.iter().map(|&st| st == CgState::Breakdown).collect();
                    (res.x, res.iterations, res.batch_iterations, conv, broke)
                }
                _ => {
                    let gs = GmresSettings {
                        tol,
                        max_iters: s.max_iters - used,
                        restart: s.restart,
                        jacobi: s.jacobi,
                        deadline: s.deadline,
                    };
                    let res = gmres_batch(&dev, &round_rhs, &gs)?;
                    let its: Vec<usize> = res.iter().map(|r| r.iterations).collect();
                    let most = its.iter().copied().max().unwrap_or(0);
                    let conv = res.iter().map(|r| r.converged).collect();
                    let x = res.into_iter().flat_map(|r| r.x).collect();
                    (x, its, most, conv, vec![false; systems])
                }
            };
        used += batch_its;
        for &i in &active {
            let o = &mut out[i];
            o.iterations += its[i];
            o.rounds += 1;
            let xi = &mut x[i * n..(i + 1) * n];
            for (a, d) in xi.iter_mut().zip(&dx[i * n..(i + 1) * n]) {
                *a += scale[i] * d;
            }
            residual(
                pattern,
                vals(i),
                xi,
                &rhs[i * n..(i + 1) * n],
                &mut r[i * n..(i + 1) * n],
            );
            let prev = o.relres;
            o.relres = norm(&r[i * n..(i + 1) * n]) / bnorm[i];
            o.converged = o.relres <= s.tol;
            if !o.converged {
                if broke[i] {
                    o.note = Some("CG broke down (pᵀAp ≤ 0): the matrix is not positive definite".into());
                    o.indefinite = true;
                } else if conv[i] && o.relres > 0.9 * prev {
                    o.note = Some(format!(
                        "refinement stalled at {:.2e} (the device precision cannot resolve this system)",
                        o.relres
                    ));
                }
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        o.x = x[i * n..(i + 1) * n].to_vec();
    }
    Ok(out)
}

/// Solves `A x = b` with device GCRO-DR and refinement, starting from the space `solver`
/// holds (left from the previous system of a sequence: re-targeted to `A` first when
/// `new_matrix`, used as is otherwise) and leaving the refreshed space in it for the next
/// system.
pub fn solve_recycled(
    solver: &mut GpuGcroDr,
    a: &CsrMatrix,
    b: &[f64],
    s: &RefineSettings,
    new_matrix: bool,
) -> Result<SystemOutcome> {
    check_finite("right-hand side", b)?;
    let ctx = solver.context().clone();
    let dev = GpuMatrix::new(&ctx, a, s.precision)?;
    let mut state = Refinement::new(b, s);
    while !state.done() {
        state.round_with(a, b, |r, tol, max_iters, round| {
            let gs = GcroDrSettings {
                tol,
                max_iters,
                jacobi: s.jacobi,
                deadline: s.deadline,
            };
            // only the first round can meet a new matrix (re-target the space there)
            let res = solver.solve(&dev, r, &gs, round > 0 || !new_matrix)?;
            Ok((res.x, res.iterations, res.converged, false))
        })?;
    }
    Ok(state.into_outcome())
}
