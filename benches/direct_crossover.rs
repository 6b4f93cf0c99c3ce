//! Where a sparse direct solve stops beating a preconditioned Krylov method, and what
//! `auto` picks: Darcy on 2-D grids (5-point, `a = exp(GRF)`) and 3-D 7-point operators
//! at growing n. Per matrix: the predicted Cholesky fill (symbolic analysis only), one
//! factorisation plus solve, and the Krylov method to tol 1e-8 from zero, side by side
//! in one run — CG + IC(0) and CG + AMG (setup included) against Cholesky for the SPD
//! ones, GMRES(40) + ILU(0) against LU for the others.
//!
//! Run: `cargo bench --bench direct_crossover -- [2d GRID…] [3d SIDE…] [3dhard SIDE…]
//! [3dconv SIDE…] [3dhelm SIDE…] [3ddarcy SIDE…]` (default: `2d 300 600 1000 3d 30 50
//! 70`). `3ddarcy` is the darcy3d family's first sample, `3d` is a
//! mild variable-coefficient diffusion, `3dhard` one with channels of contrast 10⁶,
//! `3dconv` an upwind convection–diffusion (cell Péclet 0.5; nonsymmetric, diagonally
//! dominant), `3dhelm` a Laplacian shifted to be indefinite (not dominant).

use solvent::linalg::direct::{cholesky_fill, DirectKind, DirectSolver};
use solvent::linalg::precond::{Amg, Ic0, Ilu0};
use solvent::linalg::vector::relative_residual;
use solvent::linalg::CsrMatrix;
use solvent::prelude::*;
use solvent::problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use solvent::solvers::krylov::{solve_system, SolveConfig};
use solvent::solvers::TraceSchedule;
use std::sync::Arc;
use std::time::Instant;

/// −∇·(c∇u) on an m³ grid (7-point, harmonic-mean faces). Mild: c = 1 + 0.9·sin pattern
/// (contrast 19). `hard`: c = 10³ where a smooth sum of sines plus 0.3 of a per-cell
/// hash is positive, 10⁻³ elsewhere (contrast 10⁶, connected channels with rough
/// edges) — the case where CG + IC(0) needs the most iterations (a lognormal field of
/// contrast 10⁴, smooth or rough, cost it 64–127 iterations; this one up to 575).
fn diffusion3d(m: usize, hard: bool) -> CsrMatrix {
    let id = |i: usize, j: usize, k: usize| (i * m + j) * m + k;
    let h = std::f64::consts::TAU / m as f64;
    let c = |i: usize, j: usize, k: usize| {
        if hard {
            let (x, y, z) = (i as f64 * h, j as f64 * h, k as f64 * h);
            let smooth =
                ((2.0 * x + y).sin() + (3.0 * y - z).cos() + (x + 4.0 * z).sin() * (2.0 * y).cos()) / 3.0;
            let mut hsh = (id(i, j, k) as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            hsh ^= hsh >> 29;
            let rough = (hsh % 2001) as f64 / 1000.0 - 1.0;
            if smooth + 0.3 * rough > 0.0 {
                1e3
            } else {
                1e-3
            }
        } else {
            1.0 + 0.9 * ((i * 7 + j * 3 + k * 5) as f64 * 0.37).sin()
        }
    };
    let mut t = Vec::with_capacity(7 * m * m * m);
    for i in 0..m {
        for j in 0..m {
            for k in 0..m {
                let here = c(i, j, k);
                let mut diag = 0.0;
                let nbrs = [
                    (i.wrapping_sub(1), j, k),
                    (i + 1, j, k),
                    (i, j.wrapping_sub(1), k),
                    (i, j + 1, k),
                    (i, j, k.wrapping_sub(1)),
                    (i, j, k + 1),
                ];
                for (a, b, d) in nbrs {
                    // Dirichlet outside the grid: the face still counts on the diagonal
                    let inside = a < m && b < m && d < m;
                    let there = if inside { c(a, b, d) } else { here };
                    let face = 2.0 * here * there / (here + there);
                    diag += face;
                    if inside {
                        t.push((id(i, j, k), id(a, b, d), -face));
                    }
                }
                t.push((id(i, j, k), id(i, j, k), diag));
            }
        }
    }
    CsrMatrix::from_triplets(m * m * m, m * m * m, &t).expect("3-D matrix")
}

/// `−Δu + β·∇u − σu` on an m³ grid (7-point Laplacian, first-order upwind convection
/// along β = (p, p/2, p/4) in grid units, so `p` is the cell Péclet number), scaled by
/// h². `σ > 0` makes it indefinite (Helmholtz-like, shift σ·h²).
fn nonsym3d(m: usize, p: f64, sigma_h2: f64) -> CsrMatrix {
    let id = |i: usize, j: usize, k: usize| (i * m + j) * m + k;
    let beta = [p, p / 2.0, p / 4.0];
    let mut t = Vec::with_capacity(7 * m * m * m);
    for i in 0..m {
        for j in 0..m {
            for k in 0..m {
                let row = id(i, j, k);
                let mut diag = 6.0 - sigma_h2;
                for (d, &bd) in beta.iter().enumerate() {
                    diag += bd; // upwind: β_d (u_here − u_behind)
                    let idx = [i, j, k];
                    for (step, w) in [(usize::MAX, -1.0 - bd), (1, -1.0)] {
                        let mut nb = idx;
                        nb[d] = nb[d].wrapping_add(step);
                        if nb[d] < m {
                            t.push((row, id(nb[0], nb[1], nb[2]), w));
                        }
                    }
                }
                t.push((row, row, diag));
            }
        }
    }
    CsrMatrix::from_triplets(m * m * m, m * m * m, &t).expect("3-D nonsymmetric matrix")
}

/// What `solve --method auto` runs on `a` (the same rule as `datagen --strategy auto`),
/// and its time to tol 1e-8 (analysis and fill prediction included).
fn auto_pick(a: &CsrMatrix, b: &[f64]) -> String {
    let problem = LinearSystemProblem::new(a.clone(), b.to_vec()).expect("problem");
    let opts = Options::default()
        .tol(1e-8)
        .max_iters(20_000)
        .trace(TraceSchedule::Off);
    let t = Instant::now();
    let s = solve_system(&problem, &SolveConfig::default(), &opts, &mut []).expect("auto");
    let secs = t.elapsed().as_secs_f64();
    let method = s.report.solver.clone();
    let ok = if s.report.status.is_converged() {
        ""
    } else {
        ", not converged"
    };
    format!("{method} {secs:.3}{ok}")
}

/// One factorisation and solve of `a` against a preconditioned Krylov method from zero to
/// tol 1e-8: Cholesky against CG + IC(0) for SPD matrices, LU against GMRES(40) + ILU(0)
/// for the others; then what `auto` runs. Prints one table row.
fn measure(label: &str, a: &CsrMatrix, b: &[f64], kind: DirectKind) {
    let n = a.nrows();
    let t = Instant::now();
    let fill = cholesky_fill(a).expect("symbolic");
    let symbolic_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let d = DirectSolver::new(a, kind).expect("factorisation");
    let mut x = vec![0.0; n];
    d.solve(b, &mut x).expect("solve");
    let direct_s = t.elapsed().as_secs_f64();
    let direct_res = relative_residual(a, &x, b);
    drop(d);
    let t = Instant::now();
    let problem = LinearSystemProblem::new(a.clone(), b.to_vec()).expect("problem");
    let opts = Options::default()
        .tol(1e-8)
        .max_iters(20_000)
        .trace(TraceSchedule::Off);
    let (factor, krylov, out) = match kind {
        DirectKind::Cholesky => {
            let pc = Arc::new(Ic0::new(a).expect("ic0"));
            let out = run(&problem, &mut Cg::new().preconditioner(pc), &opts).expect("cg");
            ("Cholesky", "CG + IC(0)", out.report)
        }
        DirectKind::Lu => {
            let pc = Arc::new(Ilu0::new(a).expect("ilu0"));
            let out = run(&problem, &mut Gmres::new().restart(40).preconditioner(pc), &opts).expect("gmres");
            ("LU", "GMRES(40) + ILU(0)", out.report)
        }
    };
    let it_s = t.elapsed().as_secs_f64();
    // CG + AMG (setup included) beside IC(0) for SPD matrices
    let amg = (kind == DirectKind::Cholesky).then(|| {
        let t = Instant::now();
        let pc = Arc::new(Amg::new(a).expect("amg"));
        let out = run(&problem, &mut Cg::new().preconditioner(pc), &opts).expect("cg + amg");
        format!(
            "{:.3} ({} its{})",
            t.elapsed().as_secs_f64(),
            out.report.iterations,
            if out.report.status.is_converged() {
                ""
            } else {
                ", not converged"
            }
        )
    });
    println!(
        "| {label} | {n} | {fill} | {:.1} | {symbolic_s:.3} | {factor} {direct_s:.3} ({direct_res:.0e}) | {krylov} {it_s:.3} ({} its{}) | {} | {:.2}x | {} |",
        fill as f64 / n as f64,
        out.iterations,
        if out.status.is_converged() { "" } else { ", not converged" },
        amg.unwrap_or_else(|| "—".into()),
        it_s / direct_s,
        auto_pick(a, b)
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let args = if args.is_empty() {
        "2d 300 600 1000 3d 30 50 70"
            .split(' ')
            .map(String::from)
            .collect()
    } else {
        args
    };
    println!("| grid | n | Cholesky fill | fill / n | symbolic s | direct s (residual) | iterative s | CG + AMG s | iterative / direct | auto: solver s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut dim: &str = "2d";
    for a in &args {
        if ["2d", "3d", "3dhard", "3dconv", "3dhelm", "3ddarcy"].contains(&a.as_str()) {
            dim = a;
            continue;
        }
        let m: usize = a.parse().expect("grid size");
        if dim == "3dconv" || dim == "3dhelm" {
            // cell Péclet 0.5 convection; the Helmholtz-like shift puts 17 / 69 / 178
            // of the Laplacian's eigenvalues below zero at 20³ / 30³ / 40³
            let (p, shift) = if dim == "3dconv" { (0.5, 0.0) } else { (0.0, 0.35) };
            let a = nonsym3d(m, p, shift);
            let b = vec![1.0; a.nrows()];
            measure(&format!("3-D {dim} {m}³"), &a, &b, DirectKind::Lu);
        } else if dim == "3ddarcy" {
            let s = PdeSampler::new(PdeFamily::Darcy3d, FamilyConfig::new(m, 0)).expect("sampler");
            let smp = s.sample(0).expect("sample");
            measure(&format!("3-D Darcy {m}³"), &smp.a, &smp.b, DirectKind::Cholesky);
        } else if dim == "2d" {
            let s = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(m, 0)).expect("sampler");
            let smp = s.sample(0).expect("sample");
            measure(&format!("2-D Darcy {m}²"), &smp.a, &smp.b, DirectKind::Cholesky);
        } else {
            let hard = dim == "3dhard";
            let a = diffusion3d(m, hard);
            let b = vec![1.0 / ((m + 1) * (m + 1)) as f64; a.nrows()];
            let what = if hard { "channels, contrast 10⁶" } else { "mild" };
            measure(
                &format!("3-D diffusion {m}³ ({what})"),
                &a,
                &b,
                DirectKind::Cholesky,
            );
        }
    }
}
