//! Where a sparse direct solve stops beating preconditioned CG: Darcy on 2-D grids
//! (5-point, `a = exp(GRF)`) and a 3-D 7-point variable-coefficient diffusion, at growing
//! n. Per matrix: the predicted Cholesky fill (symbolic analysis only), one factorisation
//! plus solve, and CG + IC(0) to tol 1e-8 from zero, side by side in one run.
//!
//! Run: `cargo bench --bench direct_crossover -- [2d GRID…] [3d SIDE…]`
//! (default: `2d 300 600 1000 3d 30 50 70`).

use solvent::linalg::direct::{cholesky_fill, DirectKind, DirectSolver};
use solvent::linalg::precond::Ic0;
use solvent::linalg::vector::relative_residual;
use solvent::linalg::CsrMatrix;
use solvent::prelude::*;
use solvent::problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use solvent::solvers::TraceSchedule;
use std::sync::Arc;
use std::time::Instant;

/// −∇·(c∇u) on an m³ grid (7-point, harmonic-mean faces), c = 1 + 0.9·sin pattern.
fn diffusion3d(m: usize) -> CsrMatrix {
    let id = |i: usize, j: usize, k: usize| (i * m + j) * m + k;
    let c = |i: usize, j: usize, k: usize| 1.0 + 0.9 * ((i * 7 + j * 3 + k * 5) as f64 * 0.37).sin();
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

fn measure(label: &str, a: &CsrMatrix, b: &[f64]) {
    let n = a.nrows();
    let t = Instant::now();
    let fill = cholesky_fill(a).expect("symbolic");
    let symbolic_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let d = DirectSolver::new(a, DirectKind::Cholesky).expect("cholesky");
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
    let pc = Arc::new(Ic0::new(a).expect("ic0"));
    let out = run(&problem, &mut Cg::new().preconditioner(pc), &opts).expect("cg");
    let cg_s = t.elapsed().as_secs_f64();
    println!(
        "| {label} | {n} | {fill} | {:.1} | {symbolic_s:.3} | {direct_s:.3} ({direct_res:.0e}) | {cg_s:.3} ({} its) | {:.2}x |",
        fill as f64 / n as f64,
        out.report.iterations,
        cg_s / direct_s
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
    println!("| grid | n | Cholesky fill | fill / n | symbolic s | direct s (residual) | CG + IC(0) s | CG / direct |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut dim = "2d";
    for a in &args {
        if a == "2d" || a == "3d" {
            dim = if a == "2d" { "2d" } else { "3d" };
            continue;
        }
        let m: usize = a.parse().expect("grid size");
        if dim == "2d" {
            let s = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::new(m, 0)).expect("sampler");
            let smp = s.sample(0).expect("sample");
            measure(&format!("2-D Darcy {m}²"), &smp.a, &smp.b);
        } else {
            let a = diffusion3d(m);
            let b = vec![1.0 / ((m + 1) * (m + 1)) as f64; a.nrows()];
            measure(&format!("3-D diffusion {m}³"), &a, &b);
        }
    }
}
