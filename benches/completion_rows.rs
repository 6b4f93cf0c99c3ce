//! One row's work in each completion row solver, timed per kernel on one thread, side by
//! side with its yardstick in one run: rows of n = 400 observations drawn from a
//! 5000-row factor, at ranks 16 and 64.
//!
//! - ALS: gathering the rows (`gather_rows`), the register-tiled Gram kernel
//!   (`gram_tiled`: lower triangle of BᵀB and Bᵀm) and, as the yardstick, faer's
//!   triangular matmul and a matrix–vector product on the same gathered rows (the same
//!   two results; checked equal).
//! - altmin: gathering by columns (`gather_cols`), then four normal-equation products
//!   (about what a residual and three CG iterations cost) on the gathered columns
//!   (`cols_normal_apply`, one row's columns kept hot), against the same four products
//!   reading the rows where they lie (`normal_apply`, rotating over the rows): compare
//!   gather columns + gathered products with in place.
//!
//! Run: `cargo bench --bench completion_rows` (prints µs per row and GFLOP/s).

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, MatRef, Par};
use solvent::solvers::completion::kernels;
use std::hint::black_box;
use std::time::Instant;

/// Seconds per call of `f`, the fastest of five rounds of `reps` calls.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let (factor_rows, n, rows) = (5000usize, 400usize, 500usize);
    println!("one thread; rows of {n} observations of a {factor_rows}-row factor; µs per row (GFLOP/s)");
    println!("| rank | gather rows | Gram: tiled | Gram: faer | gather columns | 4 products: gathered | 4 products: in place |");
    println!("|---|---|---|---|---|---|---|");
    for k in [16usize, 64] {
        let f: Vec<f64> = (0..factor_rows * k)
            .map(|t| ((t * 7919 + 13) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let idxs: Vec<Vec<u32>> = (0..rows)
            .map(|_| {
                let mut v: Vec<u32> = (0..n).map(|_| (next() % factor_rows as u64) as u32).collect();
                v.sort_unstable();
                v
            })
            .collect();
        let val: Vec<f64> = (0..n).map(|t| t as f64 * 0.01).collect();
        let p: Vec<f64> = (0..k).map(|c| 0.5 - c as f64 * 0.01).collect();
        let (mut g, mut rhs, mut q, mut s) = (vec![0.0; k * k], vec![0.0; k], vec![0.0; k], vec![0.0; n]);
        let mut buf = Vec::new();
        let mut r = 0;
        let mut row = || {
            r = (r + 1) % rows;
            &idxs[r]
        };
        let gather_rows = time(rows, || kernels::gather_rows(black_box(row()), &f, k, &mut buf));
        let gather_cols = time(rows, || kernels::gather_cols(black_box(row()), &f, k, &mut buf));
        let in_place = time(rows, || {
            let idx = row();
            for _ in 0..4 {
                kernels::normal_apply(black_box(idx), &f, k, 0.1, &p, &mut q);
                black_box(&q);
            }
        });
        kernels::gather_cols(&idxs[0], &f, k, &mut buf);
        let gathered = time(rows, || {
            for _ in 0..4 {
                kernels::cols_normal_apply(black_box(&buf), k, 0.1, &p, &mut s, &mut q);
                black_box(&q);
            }
        });
        kernels::gather_rows(&idxs[0], &f, k, &mut buf);
        let tiled = time(rows, || {
            g.fill(0.0);
            rhs.fill(0.0);
            kernels::gram_tiled(black_box(&buf), &val, k, &mut g, &mut rhs);
            black_box((&g, &rhs));
        });
        let kp = kernels::padded_width(k);
        let mut full = faer::Mat::<f64>::zeros(k, k);
        let mut bv = faer::Mat::<f64>::zeros(k, 1);
        let vm = MatRef::from_column_major_slice(&val[..], n, 1);
        let faer = time(rows, || {
            // B is n × kp row-major: as a column-major kp × n matrix its columns are the
            // gathered rows; its first k rows are the factor columns
            let b = MatRef::from_column_major_slice(black_box(&buf[..]), kp, n).subrows(0, k);
            matmul(
                full.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                b,
                BlockStructure::Rectangular,
                b.transpose(),
                BlockStructure::Rectangular,
                1.0,
                Par::Seq,
            );
            faer::linalg::matmul::matmul(bv.as_mut(), Accum::Replace, b, vm, 1.0, Par::Seq);
            black_box((&full, &bv));
        });
        // the two compute the same lower triangle and right-hand side
        for r in 0..k {
            assert!((rhs[r] - bv[(r, 0)]).abs() <= 1e-9 * (1.0 + bv[(r, 0)].abs()));
            for c in 0..=r {
                assert!((g[r * k + c] - full[(r, c)]).abs() <= 1e-9 * (1.0 + full[(r, c)].abs()));
            }
        }
        let gram_flops = (n * k * (k + 1) + 2 * n * k) as f64; // n·k(k+1)/2 + n·k multiply-adds
        let product_flops = (4 * 4 * n * k) as f64; // 4 products of 2nk multiply-adds
        let us = |t: f64| t * 1e6;
        println!(
            "| {k} | {:.1} | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.1} | {:.1} ({:.1}) | {:.1} ({:.1}) |",
            us(gather_rows),
            us(tiled),
            gram_flops / tiled / 1e9,
            us(faer),
            gram_flops / faer / 1e9,
            us(gather_cols),
            us(gathered),
            product_flops / gathered / 1e9,
            us(in_place),
            product_flops / in_place / 1e9,
        );
    }
}
