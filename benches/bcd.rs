//! Block coordinate descent: the paper's results and linear-time message passing, side by side
//! in one run (Nutini, Laradji & Schmidt 2022).
//!
//! 1. Synthetic least squares, 1000 × 10000 (the paper's set, seed 0), blocks of 5:
//!    `f − f*` after 500 iterations for cyclic/random gradient updates on fixed blocks against
//!    the greedy rules with variable blocks and matrix updates.
//! 2. Label propagation on a 50 × 50 lattice (2%, 5%, 10% of the nodes labelled ±1): `f − f*`
//!    after 500 iterations (exact updates) for red–black, tree-partition and greedy-tree blocks.
//!    `f − f* = ½(x − x*)ᵀQ(x − x*)` with `x*` from a sparse Cholesky solve (no cancellation).
//! 3. Message passing on forest blocks growing 4x at a time: comb-shaped forests of lattices
//!    (label propagation's blocks) and random trees (every step a cache miss): time per solve
//!    and the ratio (linear time: ≈ 4).
//!
//! `cargo bench --bench bcd`

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use solvent::linalg::direct::{DirectKind, DirectSolver};
use solvent::linalg::CsrMatrix;
use solvent::problems::bcd::{
    CoordinateProblem, Glm, LabelPropagation, Loss, Penalty, SyntheticConfig, SyntheticKind,
};
use solvent::solvers::bcd::message_passing::{Forest, ForestScratch};
use solvent::solvers::bcd::{Bcd, Partition, Rule, Update};
use solvent::solvers::{run, Options, TraceSchedule};
use std::time::Instant;

fn least_squares() {
    let (a, y, _) = SyntheticConfig::paper(1000, 10_000, SyntheticKind::LeastSquares, 0)
        .generate()
        .unwrap();
    let n = a.nrows();
    // f* = (1/2n)‖y − A Aᵀ(AAᵀ)⁻¹ y‖² (the least-squares residual of an underdetermined set)
    let d = a.to_dense();
    let aat = &d * d.transpose();
    let yv = Mat::from_fn(n, 1, |i, _| y[i]);
    let z = aat.llt(Side::Lower).expect("AAᵀ is positive definite").solve(&yv);
    let fit = &aat * &z;
    let fstar: f64 = (0..n).map(|i| (y[i] - fit[(i, 0)]).powi(2)).sum::<f64>() / (2.0 * n as f64);
    let p = Glm::new(a, y, Loss::Squared, 0.0, Penalty::None).unwrap();
    let f0 = p.objective(&vec![0.0; p.dim()], &p.new_cache(&vec![0.0; p.dim()]));
    println!(
        "least squares 1000 × 10000 (nnz {}), blocks of 5, f(0) − f* = {:.3e}, f* = {fstar:.3e}",
        p.design().nnz(),
        f0 - fstar
    );
    println!("| partition | rule | update | f − f* after 500 its | seconds |");
    println!("|---|---|---|---|---|");
    for (part, rule, upd) in [
        (Partition::Order, Rule::Cyclic, Update::Gradient),
        (Partition::Order, Rule::Random, Update::Gradient),
        (Partition::Order, Rule::Lipschitz, Update::Gradient),
        (Partition::Sort, Rule::Gsl, Update::Gradient),
        (Partition::Order, Rule::Gsq, Update::Matrix),
        (Partition::Variable, Rule::Gs, Update::Gradient),
        (Partition::Variable, Rule::Gsl, Update::Matrix),
        (Partition::Variable, Rule::Gsd, Update::Matrix),
        (Partition::Variable, Rule::Gsq, Update::Matrix),
    ] {
        // the textbook rules: a full scan every iteration
        let mut bcd = Bcd::new(rule, upd).partition(part).block_size(5).rescan(1);
        let opts = Options::default()
            .tol(1e-300)
            .max_iters(500)
            .trace(TraceSchedule::Off);
        let out = run(&p, &mut bcd, &opts).unwrap();
        let f = out.report.metrics.objective.unwrap();
        println!(
            "| {part:?} | {rule:?} | {upd:?} | {:.3e} | {:.2} |",
            f - fstar,
            out.report.elapsed_s
        );
    }
}

fn lattice() {
    println!("\nlabel propagation, 50 × 50 lattice, exact block updates: f − f* after 500 iterations");
    println!("| labelled | red–black (cyclic) | tree partition (cyclic) | greedy tree (GS) | red–black / tree | red–black / greedy tree |");
    println!("|---|---|---|---|---|---|");
    for frac in [0.02, 0.05, 0.1] {
        let lp = LabelPropagation::lattice(50, frac, 0).unwrap();
        let q = lp.problem.matrix();
        let solver = DirectSolver::new(q, DirectKind::Cholesky).unwrap();
        let mut xs = vec![0.0; q.nrows()];
        solver.solve(lp.problem.linear(), &mut xs).unwrap();
        let gap = |x: &[f64]| {
            let e: Vec<f64> = x.iter().zip(&xs).map(|(a, b)| a - b).collect();
            let mut qe = vec![0.0; e.len()];
            q.mul_vec(&e, &mut qe);
            0.5 * e.iter().zip(&qe).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut row = Vec::new();
        for (part, rule) in [
            (Partition::RedBlack, Rule::Cyclic),
            (Partition::Tree, Rule::Cyclic),
            (Partition::GreedyTree, Rule::Gs),
        ] {
            let mut bcd = Bcd::new(rule, Update::Exact)
                .partition(part)
                .block_size(usize::MAX);
            let opts = Options::default()
                .tol(1e-300)
                .max_iters(500)
                .trace(TraceSchedule::Off);
            let out = run(&lp.problem, &mut bcd, &opts).unwrap();
            row.push(gap(&out.state.x).max(1e-300));
        }
        println!(
            "| {:.0}% | {:.3e} | {:.3e} | {:.3e} | {:.1e} | {:.1e} |",
            frac * 100.0,
            row[0],
            row[1],
            row[2],
            row[0] / row[1],
            row[0] / row[2]
        );
    }
}

/// A random tree on m nodes (each node joins a random earlier one), diagonally dominant: the
/// cache-hostile case (every step of the elimination jumps to a random row).
fn random_tree(m: usize, seed: u64) -> (CsrMatrix, Vec<usize>) {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as usize
    };
    let mut trip = Vec::with_capacity(3 * m);
    for v in 1..m {
        let u = next() % v;
        trip.push((u, v, -1.0));
        trip.push((v, u, -1.0));
    }
    let mut deg = vec![1.0; m];
    for &(u, _, _) in &trip {
        deg[u] += 1.0;
    }
    for (v, d) in deg.iter().enumerate() {
        trip.push((v, v, *d));
    }
    (CsrMatrix::from_triplets(m, m, &trip).unwrap(), (0..m).collect())
}

/// The lattice Laplacian + I on a side × side grid and one of its two comb-shaped forests
/// (column 0 and the even rows): the blocks of label propagation.
fn lattice_comb(side: usize) -> (CsrMatrix, Vec<usize>) {
    let n = side * side;
    let mut trip = Vec::with_capacity(5 * n);
    for r in 0..side {
        for c in 0..side {
            let v = r * side + c;
            let mut deg = 1.0;
            for (rr, cc) in [
                (r.wrapping_sub(1), c),
                (r + 1, c),
                (r, c.wrapping_sub(1)),
                (r, c + 1),
            ] {
                if rr < side && cc < side {
                    trip.push((v, rr * side + cc, -1.0));
                    deg += 1.0;
                }
            }
            trip.push((v, v, deg));
        }
    }
    let block = (0..n)
        .filter(|&v| {
            let (r, c) = (v / side, v % side);
            c == 0 || (r % 2 == 0 && c != side - 1)
        })
        .collect();
    (CsrMatrix::from_triplets(n, n, &trip).unwrap(), block)
}

/// Median milliseconds of (build + solve, solve alone) over 7 runs.
fn time_forest(q: &CsrMatrix, block: &[usize]) -> (f64, f64) {
    let rhs: Vec<f64> = (0..block.len()).map(|i| (i as f64).sin()).collect();
    let mut scratch = ForestScratch::default();
    let (mut both, mut solve) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let mut x = rhs.clone();
        let t = Instant::now();
        let f = Forest::build(q, block, &mut scratch).expect("a forest");
        let t1 = Instant::now();
        assert!(f.solve_with(&mut x, &mut scratch));
        both.push(t.elapsed().as_secs_f64() * 1e3);
        solve.push(t1.elapsed().as_secs_f64() * 1e3);
    }
    both.sort_by(f64::total_cmp);
    solve.sort_by(f64::total_cmp);
    (both[3], solve[3])
}

fn message_passing() {
    println!("\nmessage passing on a forest block (build + solve), median of 7:");
    println!(
        "| block | nodes | ms build + solve | ratio | ms solve (fixed blocks reuse the build) | ratio |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, sizes) in [
        ("lattice comb", [350usize, 700, 1400]),
        ("random tree", [250_000, 1_000_000, 4_000_000]),
    ] {
        let mut prev: Option<(f64, f64)> = None;
        for m in sizes {
            let (q, block) = if name == "random tree" {
                random_tree(m, 1)
            } else {
                lattice_comb(m)
            };
            let (both, solve) = time_forest(&q, &block);
            let ratio =
                |a: f64, b: Option<f64>| b.map(|b| format!("{:.2}", a / b)).unwrap_or_else(|| "–".into());
            println!(
                "| {name} | {} | {both:.1} | {} | {solve:.1} | {} |",
                block.len(),
                ratio(both, prev.map(|p| p.0)),
                ratio(solve, prev.map(|p| p.1))
            );
            prev = Some((both, solve));
        }
    }
}

fn main() {
    least_squares();
    lattice();
    message_passing();
}
