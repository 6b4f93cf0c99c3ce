//! GCRO-DR(m, k): GMRES with deflated restarting and subspace recycling
//! (Parks, de Sturler, Mackey, Johnson, Maiti, SISC 2006), right-preconditioned.
//!
//! Each cycle runs `m − k` Arnoldi steps of the projected operator
//! `(I − C Cᵀ) A M⁻¹`, minimises the residual over `x + M⁻¹ [U, V]` and
//! refreshes `(U, C)` from the cycle's harmonic Ritz vectors. The pair
//! survives the solve ([`GcroDr::take_recycle`]) so the next system of a
//! sequence starts with the slow modes already deflated.
//!
//! Cost: `C` and `V` share one basis block, so an Arnoldi step is one CGS2
//! pass over `kk + j + 1` vectors — the same as a GMRES(m) step at the same
//! basis size (but GCRO-DR's basis never starts below `k + 1` vectors, so an
//! average step orthogonalises ~1.5x as many vectors as GMRES(m)'s). Each
//! refresh costs three tall-skinny matrix products (faer) and an `m × m`
//! eigenproblem — about as much as the cycle's Arnoldi steps at n = 10⁴ —
//! which is why [`GcroDr::refresh_every`] exists; a new operator costs a
//! retarget (`k` SpMVs and preconditioner applications, CGS2).

use super::arnoldi::{append_basis_vector, arnoldi_step, ArnoldiWork};
use super::recycle::{harmonic_ritz_refresh, retarget_in_place, CycleData, RecycleSpace, SmallCycle};
use super::{apply_precond, check_system, initial_x, residual_metrics, rhs_scale, SharedPrecond};
use crate::{Metrics, Result, Solver, SolverError, Step};
use solvent_linalg::gram_schmidt::{combine, project, subtract, Basis};
use solvent_linalg::vector::{axpy, norm2, scale, sub_from};
use solvent_linalg::Preconditioner;
use solvent_problems::LinearSystem;
use std::sync::Arc;

/// Output buffers of the recycle-space refresh, reused across cycles.
#[derive(Clone, Debug, Default)]
struct RefreshBuffers {
    u: Vec<f64>,
    c: Vec<f64>,
}

/// The length-n buffers of a solve (`[C V]`, `U`, two work vectors, the refresh
/// outputs: ~3k + m + 3 vectors), kept by the solver between solves of one size so a
/// sequence neither allocates nor page-faults them again (that, and copying the
/// recycled space in and out, was ~6% of a Helmholtz sequence's time at n = 10⁴).
#[derive(Clone, Debug, Default)]
struct Workspace {
    cv: Basis,
    u: Vec<f64>,
    w: Vec<f64>,
    z: Vec<f64>,
    buf: RefreshBuffers,
}

impl Workspace {
    fn new(n: usize, m: usize, k: usize) -> Self {
        Self {
            cv: Basis::zeros(n, m + 1),
            u: vec![0.0; n * k],
            w: vec![0.0; n],
            z: vec![0.0; n],
            buf: RefreshBuffers {
                u: vec![0.0; n * k],
                c: vec![0.0; n * k],
            },
        }
    }
    fn fits(&self, n: usize, m: usize, k: usize) -> bool {
        self.cv.n() == n && self.cv.capacity() == m + 1 && self.u.len() == n * k && self.buf.u.len() == n * k
    }
}

/// GCRO-DR(m, k) solver. `m` is the total basis size per cycle (as in
/// GMRES(m)); `k < m` vectors are recycled.
pub struct GcroDr {
    m: usize,
    k: usize,
    precond: SharedPrecond,
    recycle: Option<RecycleSpace>,
    retarget: bool,
    refresh_every: usize,
    last_recycled_at_start: usize,
    /// Buffers of the last solve, for the next one of the same size.
    spare: Option<Workspace>,
    /// The space consumed by the last solve, whose buffers hold the next one.
    spent: Option<RecycleSpace>,
}

/// A clone has the settings and the recycled space, not the reusable buffers (up to
/// `(m + 4k + 3)·n` values: a clone is new work, not a copy of spare memory).
impl Clone for GcroDr {
    fn clone(&self) -> Self {
        Self {
            m: self.m,
            k: self.k,
            precond: self.precond.clone(),
            recycle: self.recycle.clone(),
            retarget: self.retarget,
            refresh_every: self.refresh_every,
            last_recycled_at_start: self.last_recycled_at_start,
            spare: None,
            spent: None,
        }
    }
}

impl Default for GcroDr {
    fn default() -> Self {
        Self {
            m: 40,
            k: 20,
            precond: None,
            recycle: None,
            retarget: true,
            refresh_every: 1,
            last_recycled_at_start: 0,
            spare: None,
            spent: None,
        }
    }
}

impl GcroDr {
    /// GCRO-DR(40, 20), unpreconditioned, nothing recycled yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the basis size `m` per cycle.
    pub fn restart(mut self, m: usize) -> Self {
        self.m = m;
        self
    }
    /// Sets the number `k` of recycled vectors.
    pub fn recycle_dim(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// With a right preconditioner.
    pub fn preconditioner(mut self, m: Arc<dyn Preconditioner>) -> Self {
        self.precond = Some(m);
        self
    }
    /// How often the recycled space is refreshed from the cycle's harmonic
    /// Ritz vectors: `1` every cycle (Parks et al.), `c` every `c`-th cycle and
    /// after the first full cycle of each solve, `0` only at the end of the solve
    /// (for the next system). Cycles
    /// without a recycled space always refresh. A refresh costs three
    /// `n × m × k` matrix products, comparable to the `m − k` Arnoldi steps
    /// of a cycle, so refreshing less often trades iterations for time.
    pub fn refresh_every(mut self, cycles: usize) -> Self {
        self.refresh_every = cycles;
        self
    }
    /// Replaces the preconditioner (`None`: identity).
    pub fn set_preconditioner(&mut self, m: SharedPrecond) {
        self.precond = m;
    }
    /// Starts the next solve from a recycled space. With `same_operator`
    /// the space is used as is (the matrix and preconditioner are those it
    /// was built with); otherwise it is re-orthonormalised against the new
    /// operator at `init` (`k` SpMVs and a thin QR).
    pub fn with_recycle(&mut self, space: Option<RecycleSpace>, same_operator: bool) {
        self.recycle = space;
        self.retarget = !same_operator;
    }
    /// The space left by the last solve (moved out).
    pub fn take_recycle(&mut self) -> Option<RecycleSpace> {
        self.recycle.take()
    }
    /// Lets go of the length-n buffers kept for the next solve of the same size.
    pub fn release_buffers(&mut self) {
        self.spare = None;
        self.spent = None;
    }
    /// The recycle dimension in use by the next solve.
    pub fn recycled_dim(&self) -> usize {
        self.recycle.as_ref().map_or(0, RecycleSpace::dim)
    }
}

/// GCRO-DR iterate, basis and cycle factors.
#[derive(Clone, Debug)]
pub struct GcroDrState {
    /// The iterate at the last restart (up to date after the run ends).
    pub x: Vec<f64>,
    n: usize,
    /// `[C (kk columns), V (m − kk + 1 columns)]`.
    cv: Basis,
    /// `U`, column-major, `kk` of `k` columns used.
    u: Vec<f64>,
    kk: usize,
    /// `1/‖u_i‖`.
    d: Vec<f64>,
    /// Rotated Hessenberg part, `(m+1) × m` column-major.
    h: Vec<f64>,
    /// Unrotated copy for the harmonic Ritz problem.
    hraw: Vec<f64>,
    /// `B = Cᵀ A M⁻¹ V`, `k × m` column-major.
    b: Vec<f64>,
    cs: Vec<f64>,
    sn: Vec<f64>,
    g: Vec<f64>,
    j: usize,
    steps: usize,
    cycle_done: bool,
    w: Vec<f64>,
    z: Vec<f64>,
    hcol: Vec<f64>,
    scratch: Vec<f64>,
    bnorm: f64,
    /// Completed cycles.
    pub cycles: usize,
    /// Recycled vectors at the start of the solve.
    pub recycled_at_start: usize,
    /// Seconds spent refreshing the recycled space (harmonic Ritz, products).
    pub refresh_s: f64,
    /// Refreshes of the recycled space during this solve.
    pub refreshes: usize,
    buf: RefreshBuffers,
}

impl GcroDr {
    fn ld(&self) -> usize {
        self.m + 1
    }

    /// `y` solving the rotated triangular system of the current cycle.
    fn solve_small(&self, s: &GcroDrState) -> Vec<f64> {
        solvent_linalg::small::solve_triangular(&s.h, self.ld(), &s.g, s.j)
    }

    /// Adds the current cycle's correction `M⁻¹ (V y − U B y)` to `x`. Without a
    /// preconditioner both products go straight into `x`; with one, `t` and `z`
    /// (length n) hold `V y − U B y` and its preconditioned image.
    fn add_correction(&self, s: &GcroDrState, x: &mut [f64], t: &mut [f64], z: &mut [f64]) {
        let (n, kk) = (s.n, s.kk);
        let y = self.solve_small(s);
        // (B y)_i = Σ_l B[i, l] y_l
        let mut by = vec![0.0; kk];
        for (l, yl) in y.iter().enumerate() {
            for (i, bi) in by.iter_mut().enumerate() {
                *bi += s.b[l * self.k + i] * yl;
            }
        }
        let v = &s.cv.first(kk + s.j)[kk * n..];
        let u = &s.u[..kk * n];
        match &self.precond {
            None => {
                let neg: Vec<f64> = y.iter().map(|c| -c).collect();
                subtract(v, n, &neg, x);
                subtract(u, n, &by, x);
            }
            Some(pc) => {
                combine(v, n, &y, t);
                subtract(u, n, &by, t);
                pc.apply(t, z);
                axpy(1.0, z, x);
            }
        }
    }

    /// Ends the current cycle: folds its correction into `x` and, when due
    /// (or `last`), refreshes `(U, C)` from its harmonic Ritz vectors.
    fn end_cycle(&self, s: &mut GcroDrState, last: bool) {
        if s.j == 0 {
            return;
        }
        let (mut x, mut t, mut z) = (
            std::mem::take(&mut s.x),
            std::mem::take(&mut s.w),
            std::mem::take(&mut s.z),
        );
        self.add_correction(s, &mut x, &mut t, &mut z);
        (s.x, s.w, s.z) = (x, t, z);
        // at the end of a solve, refresh only when no refresh happened during
        // it (otherwise the space is at most refresh_every − 1 cycles old)
        let periodic = self.refresh_every > 0 && (s.cycles + 1).is_multiple_of(self.refresh_every);
        // the first full cycle of a solve refreshes too: a solve of one or two cycles
        // (GMRES(40) + ILU(0) on 3-D convection–diffusion needs ~50 steps) would
        // otherwise refresh only from its short last cycle, whose few harmonic Ritz
        // vectors recycle poorly (+6% iterations on convdiff3d 30³ with refresh every 4)
        let first_full = self.refresh_every > 0 && s.refreshes == 0 && s.j == s.steps;
        let due =
            s.kk == 0 || periodic || first_full || (last && (self.refresh_every == 0 || s.refreshes == 0));
        if !due {
            s.j = 0;
            s.g.fill(0.0);
            s.cycles += 1;
            return;
        }
        let cyc = CycleData {
            n: s.n,
            cv: s.cv.first(s.kk + s.j + 1),
            u: &s.u[..s.kk * s.n],
            small: SmallCycle {
                kk: s.kk,
                j: s.j,
                d: &s.d[..s.kk],
                b: &s.b,
                ldb: self.k,
                h: &s.hraw,
                ldh: self.ld(),
            },
        };
        let t = std::time::Instant::now();
        let mut buf = std::mem::take(&mut s.buf);
        if let Some(kept) = harmonic_ritz_refresh(&cyc, self.k, &mut buf.u, &mut buf.c) {
            // the new U replaces the old whole: swap the buffers instead of copying
            std::mem::swap(&mut s.u, &mut buf.u);
            s.cv.first_mut(kept).copy_from_slice(&buf.c[..kept * s.n]);
            set_recycled(s, kept);
        }
        s.buf = buf;
        s.refreshes += 1;
        s.refresh_s += t.elapsed().as_secs_f64();
        s.j = 0;
        s.g.fill(0.0);
        s.cycles += 1;
    }

    /// Starts a cycle from the true residual, projected off `C`.
    fn start_cycle<P: LinearSystem + ?Sized>(&self, problem: &P, s: &mut GcroDrState) {
        let (n, kk) = (s.n, s.kk);
        {
            let (cs, r) = s.cv.split_at_col(kk);
            problem.operator().apply(&s.x, r);
            sub_from(problem.rhs(), r);
            if kk > 0 {
                // x += M⁻¹ U Cᵀ r,  r −= C Cᵀ r
                let mut h = vec![0.0; kk];
                project(cs, n, r, &mut h);
                subtract(cs, n, &h, r);
                combine(&s.u[..kk * n], n, &h, &mut s.w);
                apply_precond(&self.precond, &s.w, &mut s.z);
                axpy(1.0, &s.z, &mut s.x);
            }
        }
        let r = s.cv.col_mut(kk);
        let beta = norm2(r);
        if beta > 0.0 {
            scale(1.0 / beta, r);
        }
        s.g.fill(0.0);
        s.g[0] = beta;
        s.j = 0;
        s.steps = self.m - kk;
        s.cycle_done = beta == 0.0;
    }
}

/// Puts `space` into the state's `U` and the leading columns of its basis, and sets
/// the recycled dimension and `U`'s column scaling.
fn install(s: &mut GcroDrState, k: usize, u: &[f64], c: &[f64]) {
    let n = s.n;
    s.u[..k * n].copy_from_slice(&u[..k * n]);
    s.cv.first_mut(k).copy_from_slice(&c[..k * n]);
    set_recycled(s, k);
}

/// `kk = k` and `d_i = 1/‖u_i‖` for the first `k` columns of the state's `U`.
fn set_recycled(s: &mut GcroDrState, k: usize) {
    let n = s.n;
    for i in 0..k {
        let nu = norm2(&s.u[i * n..(i + 1) * n]);
        s.d[i] = if nu > 0.0 { 1.0 / nu } else { 1.0 };
    }
    s.kk = k;
}

impl<P: LinearSystem + ?Sized> Solver<P> for GcroDr {
    type State = GcroDrState;
    fn name(&self) -> String {
        format!("gcrodr({},{})", self.m, self.k)
    }
    fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "restart": self.m,
            "recycle": self.k,
            "preconditioner": super::precond_name(&self.precond),
            "side": "right",
            "orthogonalisation": "cgs2",
            "recycled_at_start": self.last_recycled_at_start,
            "refresh_every": self.refresh_every,
        })
    }
    fn init(&mut self, problem: &P) -> Result<GcroDrState> {
        if self.m < 2 {
            return Err(SolverError::setting(
                "restart",
                self.m,
                "GCRO-DR needs a basis of at least 2 vectors",
            ));
        }
        if self.k == 0 || self.k >= self.m {
            return Err(SolverError::setting(
                "recycle",
                self.k,
                format!(
                    "the recycle dimension must be between 1 and restart − 1 = {}",
                    self.m - 1
                ),
            ));
        }
        let n = check_system(problem, &self.precond)?;
        let (m, k) = (self.m, self.k);
        let ws = match self.spare.take() {
            Some(ws) if ws.fits(n, m, k) => ws,
            _ => Workspace::new(n, m, k),
        };
        let mut s = GcroDrState {
            x: initial_x(problem),
            n,
            cv: ws.cv,
            u: ws.u,
            kk: 0,
            d: vec![0.0; k],
            h: vec![0.0; (m + 1) * m],
            hraw: vec![0.0; (m + 1) * m],
            b: vec![0.0; k * m],
            cs: vec![0.0; m],
            sn: vec![0.0; m],
            g: vec![0.0; m + 1],
            j: 0,
            steps: m,
            cycle_done: false,
            w: ws.w,
            z: ws.z,
            hcol: vec![0.0; m + 1],
            scratch: vec![0.0; m + 1],
            bnorm: rhs_scale(problem.rhs()),
            cycles: 0,
            recycled_at_start: 0,
            refresh_s: 0.0,
            refreshes: 0,
            buf: ws.buf,
        };
        if let Some(mut space) = self.recycle.take() {
            if space.len() == n {
                // a space from outside (no C yet) or cut to a smaller k needs a new C
                let mut retarget = self.retarget || space.needs_retarget();
                if space.dim() > k {
                    // the recycle dimension shrank: keep the leading k vectors
                    space.truncate(k);
                    retarget = true;
                }
                let dim = space.dim();
                if retarget {
                    // U moves into the state (a swap), C = A M⁻¹ U is computed straight
                    // into the basis and orthonormalised there
                    space.swap_u(&mut s.u);
                    s.u.resize(n * k, 0.0);
                    let kept = retarget_in_place(
                        n,
                        dim,
                        &mut s.u,
                        s.cv.first_mut(dim),
                        problem.operator(),
                        &self.precond,
                    );
                    set_recycled(&mut s, kept);
                } else {
                    install(&mut s, dim, space.u(), space.c());
                }
                self.spent = Some(space);
            }
        }
        s.recycled_at_start = s.kk;
        self.last_recycled_at_start = s.kk;
        self.start_cycle(problem, &mut s);
        Ok(s)
    }
    fn step(&mut self, problem: &P, s: &mut GcroDrState) -> Result<Step> {
        if s.cycle_done || s.j == s.steps {
            self.end_cycle(s, false);
            self.start_cycle(problem, s);
            if s.cycle_done {
                return Ok(Step::Continue { estimate: Some(0.0) });
            }
        }
        let (j, kk, ld) = (s.j, s.kk, self.ld());
        let col = kk + j;
        let hn = arnoldi_step(
            problem.operator(),
            &self.precond,
            &mut s.cv,
            col,
            ArnoldiWork {
                w: &mut s.w,
                z: &mut s.z,
                hcol: &mut s.hcol,
                scratch: &mut s.scratch,
            },
        );
        if !hn.is_finite() {
            return Ok(Step::Breakdown(format!(
                "non-finite Arnoldi vector at iteration {} of cycle {}",
                j + 1,
                s.cycles + 1
            )));
        }
        s.b[j * self.k..j * self.k + kk].copy_from_slice(&s.hcol[..kk]);
        let raw = &mut s.hraw[j * ld..(j + 1) * ld];
        raw[..=j].copy_from_slice(&s.hcol[kk..=col]);
        raw[j + 1] = hn;
        let colh = &mut s.h[j * ld..(j + 1) * ld];
        colh[..=j].copy_from_slice(&s.hcol[kk..=col]);
        colh[j + 1] = hn;
        let Some(r) = solvent_linalg::small::rotate_column(colh, j, &mut s.cs, &mut s.sn, &mut s.g) else {
            return Ok(Step::Breakdown(
                "zero column in the Hessenberg matrix (singular operator?)".into(),
            ));
        };
        if !append_basis_vector(&mut s.cv, col, &s.w, hn, r) {
            s.cycle_done = true;
        }
        s.j = j + 1;
        if s.j == s.steps {
            s.cycle_done = true;
        }
        Ok(Step::Continue {
            estimate: Some(s.g[s.j].abs() / s.bnorm),
        })
    }
    fn metrics(&self, problem: &P, s: &GcroDrState) -> Metrics {
        if s.j == 0 {
            return residual_metrics(problem, &s.x);
        }
        let mut x = s.x.clone();
        // the work vectors only serve the preconditioned path
        let len = if self.precond.is_some() { s.n } else { 0 };
        let (mut t, mut z) = (vec![0.0; len], vec![0.0; len]);
        self.add_correction(s, &mut x, &mut t, &mut z);
        residual_metrics(problem, &x)
    }
    fn finalize(&mut self, _problem: &P, s: &mut GcroDrState) -> Result<()> {
        if s.cv.capacity() == 0 {
            // finalized already: its buffers went back to the solver, x is final
            return Ok(());
        }
        self.end_cycle(s, true);
        let (n, kk) = (s.n, s.kk);
        self.recycle = (kk > 0).then(|| {
            // U leaves by a swap (the state gets the spent space's buffer), C is copied
            let mut space = self.spent.take().unwrap_or_else(|| RecycleSpace::empty(n));
            space.refill(n, kk, &mut s.u, s.cv.first(kk));
            space
        });
        // the state keeps x; its length-n buffers wait for the next solve
        let mut u = std::mem::take(&mut s.u);
        u.resize(n * self.k, 0.0);
        self.spare = Some(Workspace {
            cv: std::mem::take(&mut s.cv),
            u,
            w: std::mem::take(&mut s.w),
            z: std::mem::take(&mut s.z),
            buf: std::mem::take(&mut s.buf),
        });
        Ok(())
    }
}

super::has_solution!(GcroDrState);
