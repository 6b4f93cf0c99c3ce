use super::*;
use crate::cg::{pcg, PcgStop};
use crate::precond::test_support::laplacian;
use crate::precond::Ic0;
use crate::vector::dot;

/// −∇·(a∇u) on an m³ grid by 7-point finite volumes with harmonic-mean faces and a
/// smooth coefficient of contrast about 20 (SPD), unscaled.
fn diffusion3d(m: usize) -> CsrMatrix {
    let coef = |i: isize, j: isize, k: isize| {
        let (x, y, z) = (i as f64 / m as f64, j as f64 / m as f64, k as f64 / m as f64);
        (1.5 * (6.0 * x).sin() * (5.0 * y).cos() + 1.5 * (4.0 * z).sin()).exp()
    };
    let harm = |p: f64, q: f64| 2.0 * p * q / (p + q);
    let idx = |i: usize, j: usize, k: usize| (i * m + j) * m + k;
    let mut t = Vec::new();
    for i in 0..m {
        for j in 0..m {
            for k in 0..m {
                let (ii, jj, kk) = (i as isize, j as isize, k as isize);
                let c = coef(ii, jj, kk);
                let mut diag = 0.0;
                for (di, dj, dk) in [
                    (-1, 0, 0),
                    (1, 0, 0),
                    (0, -1, 0),
                    (0, 1, 0),
                    (0, 0, -1),
                    (0, 0, 1),
                ] {
                    let (ni, nj, nk) = (ii + di, jj + dj, kk + dk);
                    let w = harm(c, coef(ni, nj, nk));
                    diag += w;
                    let inside = |v: isize| (0..m as isize).contains(&v);
                    if inside(ni) && inside(nj) && inside(nk) {
                        t.push((idx(i, j, k), idx(ni as usize, nj as usize, nk as usize), -w));
                    }
                }
                t.push((idx(i, j, k), idx(i, j, k), diag));
            }
        }
    }
    CsrMatrix::from_triplets(m * m * m, m * m * m, &t).unwrap()
}

/// PCG iterations to a relative residual of 1e-8 from zero, b = 1.
fn pcg_iterations(a: &CsrMatrix, m: &dyn Preconditioner) -> usize {
    let n = a.nrows();
    let (mut x, mut r, mut work) = (vec![0.0; n], vec![1.0; n], vec![0.0; 3 * n]);
    let stop = 1e-16 * n as f64;
    let mut pre = |r: &[f64], z: &mut [f64]| m.apply(r, z);
    let out = pcg(
        &mut x,
        &mut r,
        &mut work,
        stop,
        2000,
        |p: &[f64], q: &mut [f64]| -> std::result::Result<(), ()> {
            a.mul_vec(p, q);
            Ok(())
        },
        Some(&mut pre),
    )
    .unwrap();
    assert_eq!(out.stop, PcgStop::Converged);
    // the true residual agrees
    let mut ax = vec![0.0; n];
    a.mul_vec(&x, &mut ax);
    let res: f64 = ax.iter().map(|v| (1.0 - v) * (1.0 - v)).sum::<f64>().sqrt();
    assert!(res <= 1e-7 * (n as f64).sqrt(), "true residual {res}");
    out.iterations
}

#[test]
fn a_hierarchy_with_one_level_is_the_direct_solve() {
    let a = laplacian(8, 0.1);
    let amg = Amg::with_options(
        &a,
        AmgOptions {
            max_coarse: 64,
            ..AmgOptions::default()
        },
    )
    .unwrap();
    assert_eq!(amg.level_sizes(), vec![64]);
    let b: Vec<f64> = (0..64).map(|i| (i as f64 * 0.3).sin()).collect();
    let mut z = vec![0.0; 64];
    amg.apply(&b, &mut z);
    let mut az = vec![0.0; 64];
    a.mul_vec(&z, &mut az);
    assert!(az.iter().zip(&b).all(|(u, v)| (u - v).abs() < 1e-12));
}

/// Upwind convection–diffusion on an m × m grid (nonsymmetric, diagonally dominant).
fn convdiff2d(m: usize) -> CsrMatrix {
    let mut t = Vec::new();
    for i in 0..m {
        for j in 0..m {
            let k = i * m + j;
            // diffusion 1 per face, convection 0.8 to the east and 0.3 to the north
            t.push((k, k, 4.0 + 0.8 + 0.3));
            if j > 0 {
                t.push((k, k - 1, -1.0 - 0.8));
            }
            if j + 1 < m {
                t.push((k, k + 1, -1.0));
            }
            if i > 0 {
                t.push((k, k - m, -1.0 - 0.3));
            }
            if i + 1 < m {
                t.push((k, k + m, -1.0));
            }
        }
    }
    CsrMatrix::from_triplets(m * m, m * m, &t).unwrap()
}

#[test]
fn a_nonsymmetric_matrix_gets_an_lu_coarse_solve_and_a_nonsymmetric_cycle() {
    // one level: the cycle is the coarse direct solve, which must solve A itself
    let a = convdiff2d(12);
    let amg = Amg::new(&a).unwrap();
    assert_eq!(amg.level_sizes(), vec![144]);
    assert!(!amg.is_symmetric());
    let b: Vec<f64> = (0..144).map(|i| (i as f64 * 0.7).cos()).collect();
    let mut z = vec![0.0; 144];
    amg.apply(&b, &mut z);
    let mut az = vec![0.0; 144];
    a.mul_vec(&z, &mut az);
    assert!(az.iter().zip(&b).all(|(u, v)| (u - v).abs() < 1e-10));
    // several levels: the nonsymmetric coarsest operator is LU-factorised (its solve
    // must invert it, not the matrix of its lower triangle)
    let big = convdiff2d(40);
    let amg = Amg::with_options(
        &big,
        AmgOptions {
            max_coarse: 60,
            ..AmgOptions::default()
        },
    )
    .unwrap();
    assert!(amg.level_sizes().len() >= 3, "{:?}", amg.level_sizes());
    let n = *amg.level_sizes().last().unwrap();
    let mut last = big.clone();
    for l in &amg.levels {
        last =
            crate::sparse_product::spgemm(&l.r, &crate::sparse_product::spgemm(&l.a, &l.p).unwrap()).unwrap();
    }
    assert!(!last.is_symmetric(1e-10));
    let bc: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
    let mut xc = vec![0.0; n];
    amg.coarse.solve(&bc, &mut xc).unwrap();
    let mut axc = vec![0.0; n];
    last.mul_vec(&xc, &mut axc);
    assert!(axc
        .iter()
        .zip(&bc)
        .all(|(u, v)| (u - v).abs() < 1e-9 * v.abs().max(1.0)));
}

#[test]
fn prolongator_and_galerkin_operator_match_their_dense_formulas() {
    let a = diffusion3d(7);
    let amg = Amg::with_options(
        &a,
        AmgOptions {
            max_coarse: 10,
            ..AmgOptions::default()
        },
    )
    .unwrap();
    assert!(amg.levels.len() >= 2, "{:?}", amg.level_sizes());
    let l0 = &amg.levels[0];
    let n = a.nrows();
    // every row aggregated (all are coupled), each aggregate non-empty
    assert!(l0.agg.iter().all(|&c| (c as usize) < l0.count));
    // T: unit columns; P = (I − ω D⁻¹ A) T with ω from the same estimate
    let rho = smoother::spectral_radius(&a, &l0.inv_diag, amg.options.spectral_steps);
    let omega = 4.0 / (3.0 * rho);
    let mut t = faer::Mat::<f64>::zeros(n, l0.count);
    let w = prolong::tentative_weights(&l0.agg, l0.count);
    for i in 0..n {
        t[(i, l0.agg[i] as usize)] = w[i];
    }
    let tt = t.transpose() * &t;
    for c in 0..l0.count {
        assert!((tt[(c, c)] - 1.0).abs() < 1e-12);
    }
    let ad = a.to_dense();
    let mut s = faer::Mat::<f64>::identity(n, n);
    for i in 0..n {
        for j in 0..n {
            s[(i, j)] -= omega * ad[(i, j)] / ad[(i, i)];
        }
    }
    let p = &s * &t;
    let pd = l0.p.to_dense();
    let scale = p.norm_max();
    assert!((&pd - &p).norm_max() <= 1e-13 * scale);
    assert!((l0.r.to_dense() - p.transpose()).norm_max() <= 1e-13 * scale);
    let ac = p.transpose() * &ad * &p;
    let next = &amg.levels[1].a;
    assert!((next.to_dense() - &ac).norm_max() <= 1e-12 * ac.norm_max());
    // the coarse operator of an SPD matrix is SPD: symmetric here, definite below
    assert!(next.is_symmetric(1e-12));
    // Chebyshev bounds bracket the estimate
    assert!(l0.smoother.lo < rho && rho < l0.smoother.hi);
}

#[test]
fn the_spectral_radius_estimate_is_close_to_the_dense_one_and_never_above_gershgorin() {
    for a in [diffusion3d(6), laplacian(9, 0.0)] {
        let inv: Vec<f64> = a.diagonal().iter().map(|d| 1.0 / d).collect();
        let n = a.nrows();
        // D^(-1/2) A D^(-1/2) densely: its largest eigenvalue is ρ(D⁻¹A)
        let ad = a.to_dense();
        let b = faer::Mat::<f64>::from_fn(n, n, |i, j| ad[(i, j)] * (inv[i] * inv[j]).sqrt());
        let eig = b.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
        let rho = eig.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let est = smoother::spectral_radius(&a, &inv, 15);
        assert!(est <= rho * (1.0 + 1e-10) && est >= 0.97 * rho, "{est} vs {rho}");
    }
    // at a size where 15 steps are far from exact, the Chebyshev margin still covers ρ
    // (a 200-step estimate as the reference)
    let a = diffusion3d(20);
    let inv: Vec<f64> = a.diagonal().iter().map(|d| 1.0 / d).collect();
    let (est, reference) = (
        smoother::spectral_radius(&a, &inv, 15),
        smoother::spectral_radius(&a, &inv, 200),
    );
    assert!(
        est <= reference * (1.0 + 1e-12) && 1.1 * est > reference,
        "{est} vs {reference}"
    );
}

#[test]
fn the_cycle_is_a_symmetric_positive_definite_operator() {
    let a = diffusion3d(10);
    let amg = Amg::with_options(
        &a,
        AmgOptions {
            max_coarse: 20,
            ..AmgOptions::default()
        },
    )
    .unwrap();
    assert!(amg.level_sizes().len() >= 3, "{:?}", amg.level_sizes());
    let n = a.nrows();
    let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64 / 101.0) - 0.4).collect();
    let y: Vec<f64> = (0..n).map(|i| ((i * 53 % 89) as f64 / 89.0) - 0.6).collect();
    let (mut mx, mut my) = (vec![0.0; n], vec![0.0; n]);
    amg.apply(&x, &mut mx);
    amg.apply(&y, &mut my);
    let (xy, yx) = (dot(&y, &mx), dot(&x, &my));
    assert!((xy - yx).abs() <= 1e-10 * xy.abs().max(1.0), "{xy} vs {yx}");
    assert!(dot(&x, &mx) > 0.0 && dot(&y, &my) > 0.0);
    // applying twice gives the same bits (the reused workspace leaves no trace)
    let mut again = vec![0.0; n];
    amg.apply(&x, &mut again);
    assert_eq!(again, mx);
}

#[test]
fn cg_with_amg_needs_about_as_many_iterations_on_every_grid() {
    // 3-D variable-coefficient diffusion: 12³ → 24³ (8x the unknowns)
    let (small, large) = (diffusion3d(12), diffusion3d(24));
    let it_small = pcg_iterations(&small, &Amg::new(&small).unwrap());
    let it_large = pcg_iterations(&large, &Amg::new(&large).unwrap());
    assert!(
        (it_large as f64) < 1.5 * it_small as f64,
        "AMG-CG iterations {it_small} → {it_large}"
    );
    // while IC(0)'s grow like h⁻¹
    let ic_small = pcg_iterations(&small, &Ic0::new(&small).unwrap());
    let ic_large = pcg_iterations(&large, &Ic0::new(&large).unwrap());
    assert!(
        ic_large as f64 > 1.5 * ic_small as f64,
        "IC(0) {ic_small} → {ic_large}"
    );
    assert!(it_large < ic_large, "AMG {it_large} vs IC(0) {ic_large}");
    // 2-D Poisson, 32² → 128²
    let (a2, b2) = (laplacian(32, 0.0), laplacian(128, 0.0));
    let (i2, j2) = (
        pcg_iterations(&a2, &Amg::new(&a2).unwrap()),
        pcg_iterations(&b2, &Amg::new(&b2).unwrap()),
    );
    assert!((j2 as f64) < 1.5 * i2 as f64, "2-D AMG-CG iterations {i2} → {j2}");
}

#[test]
fn refresh_reuses_the_aggregates_and_equals_a_fresh_build_at_theta_zero() {
    let a = diffusion3d(9);
    let mut b = a.clone();
    // new values on the same pattern: scale the operator row-symmetrically
    let rp = b.row_ptr().to_vec();
    let ci = b.col_idx().to_vec();
    let s: Vec<f64> = (0..b.nrows())
        .map(|i| 1.0 + 0.5 * ((i as f64) * 0.1).sin())
        .collect();
    for i in 0..b.nrows() {
        for p in rp[i] as usize..rp[i + 1] as usize {
            b.values_mut()[p] *= s[i] * s[ci[p] as usize];
        }
    }
    let opts = AmgOptions {
        max_coarse: 30,
        ..AmgOptions::default()
    };
    let first = Amg::with_options(&a, opts).unwrap();
    let refreshed = first.refresh(&b).unwrap();
    let fresh = Amg::with_options(&b, opts).unwrap();
    assert_eq!(refreshed.level_sizes(), fresh.level_sizes());
    let r: Vec<f64> = (0..b.nrows()).map(|i| (i as f64).cos()).collect();
    let (mut z1, mut z2) = (vec![0.0; r.len()], vec![0.0; r.len()]);
    refreshed.apply(&r, &mut z1);
    fresh.apply(&r, &mut z2);
    assert_eq!(z1, z2);
    // and differs from the old hierarchy
    let mut z0 = vec![0.0; r.len()];
    first.apply(&r, &mut z0);
    assert_ne!(z0, z1);
    // another pattern is refused
    let other = diffusion3d(8);
    assert!(first.refresh(&other).is_err());
}

#[test]
fn bad_input_is_named() {
    let a = CsrMatrix::from_triplets(3, 3, &[(0, 0, 1.0), (0, 1, -1.0), (1, 0, -1.0), (2, 2, 1.0)]).unwrap();
    let opts = AmgOptions {
        max_coarse: 1,
        ..AmgOptions::default()
    };
    assert!(matches!(
        Amg::with_options(&a, opts),
        Err(LinalgError::ZeroPivot { row: 1, .. })
    ));
    let bad = AmgOptions {
        theta: 1.5,
        ..AmgOptions::default()
    };
    assert!(Amg::with_options(&laplacian(4, 0.0), bad).is_err());
    let rect = CsrMatrix::from_triplets(2, 3, &[(0, 0, 1.0)]).unwrap();
    assert!(Amg::new(&rect).is_err());
}
