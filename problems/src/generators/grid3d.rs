//! Sparse matrices of 3-D PDEs on the unit cube, `m × m × m` interior grid
//! points, Dirichlet boundary, `h = 1/(m+1)`, lexicographic ordering
//! `k = (i·m + j)·m + l` with `l` fastest: point `(i, j, l)` sits at
//! `x = (l+1)h`, `y = (j+1)h`, `z = (i+1)h`. 7-point stencils scaled by `h²`
//! like the 2-D ones ([`super::poisson2d`]), so right sides are `h² f`.

use super::grid2d::DarcyCoefficient;
use crate::error::{ProblemError, Result};
use solvent_linalg::CsrMatrix;

fn check_grid3(m: usize) -> Result<()> {
    if m == 0 {
        return Err(ProblemError::Invalid("grid size must be at least 1".into()));
    }
    if m.checked_pow(3)
        .and_then(|n| n.checked_mul(7))
        .is_none_or(|nnz| nnz >= u32::MAX as usize)
    {
        return Err(ProblemError::Invalid(format!(
            "grid {m}×{m}×{m} is too large for u32 indices"
        )));
    }
    Ok(())
}

fn check_field(m: usize, what: &str, len: usize) -> Result<()> {
    if len != m * m * m {
        return Err(ProblemError::Invalid(format!(
            "{what} has {len} values, the {m}×{m}×{m} grid needs {}",
            m * m * m
        )));
    }
    Ok(())
}

/// Assembles a 7-point stencil whose coefficients at grid point `(i, j, l)` are
/// `(centre, −x, +x, −y, +y, −z, +z)` (neighbours `l∓1`, `j∓1`, `i∓1`);
/// neighbours on the boundary are dropped. Rows come out with sorted columns.
fn assemble3d(m: usize, stencil: impl Fn(usize, usize, usize) -> [f64; 7]) -> Result<CsrMatrix> {
    check_grid3(m)?;
    let (p, n) = (m * m, m * m * m);
    let mut row_ptr = Vec::with_capacity(n + 1);
    let mut col_idx = Vec::with_capacity(7 * n);
    let mut values = Vec::with_capacity(7 * n);
    row_ptr.push(0u32);
    for i in 0..m {
        for j in 0..m {
            for l in 0..m {
                let k = (i * m + j) * m + l;
                let [c, xm, xp, ym, yp, zm, zp] = stencil(i, j, l);
                // increasing columns: k−m², k−m, k−1, k, k+1, k+m, k+m²
                let entries = [
                    (i > 0, k.wrapping_sub(p), zm),
                    (j > 0, k.wrapping_sub(m), ym),
                    (l > 0, k.wrapping_sub(1), xm),
                    (true, k, c),
                    (l + 1 < m, k + 1, xp),
                    (j + 1 < m, k + m, yp),
                    (i + 1 < m, k + p, zp),
                ];
                for (inside, col, v) in entries {
                    if inside {
                        col_idx.push(col as u32);
                        values.push(v);
                    }
                }
                row_ptr.push(col_idx.len() as u32);
            }
        }
    }
    Ok(CsrMatrix::from_raw_parts(n, n, row_ptr, col_idx, values)?)
}

/// The 7-point Laplacian `−Δ` scaled by `h²` (diagonal 6, off-diagonals −1): SPD.
pub fn poisson3d(m: usize) -> Result<CsrMatrix> {
    assemble3d(m, |_, _, _| [6.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0])
}

/// `−Δ − σ` scaled by `h²` (diagonal `6 − σh²`): symmetric, and indefinite
/// once `σ` exceeds the smallest Laplacian eigenvalue `≈ 3π²`.
pub fn shifted_laplacian3d(m: usize, sigma: f64) -> Result<CsrMatrix> {
    let h = 1.0 / (m as f64 + 1.0);
    let d = 6.0 - sigma * h * h;
    assemble3d(m, |_, _, _| [d, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0])
}

/// `−∇·(a∇u)` by finite volumes scaled by `h²`, with harmonic-mean face
/// coefficients `2 a_P a_Q / (a_P + a_Q)` (SPD for positive `a`). `a(x, y, z)`
/// is sampled at the grid points, including the boundary points for the
/// boundary faces.
pub fn diffusion3d(m: usize, a: impl Fn(f64, f64, f64) -> f64) -> Result<CsrMatrix> {
    let h = 1.0 / (m as f64 + 1.0);
    let at = |t: isize| (t + 1) as f64 * h;
    diffusion_from3(m, |i, j, l| a(at(l), at(j), at(i)))
}

/// The harmonic-mean finite-volume stencil from a coefficient at grid point
/// `(i, j, l)`, each in `−1..=m` (−1 and m are boundary points).
fn diffusion_from3(m: usize, coef: impl Fn(isize, isize, isize) -> f64) -> Result<CsrMatrix> {
    check_grid3(m)?;
    let r = -1..=m as isize;
    for i in r.clone() {
        for j in r.clone() {
            for l in r.clone() {
                let v = coef(i, j, l);
                if !(v.is_finite() && v > 0.0) {
                    return Err(ProblemError::Invalid(format!(
                        "diffusion coefficient must be positive and finite, found {v} at grid point ({i}, {j}, {l})"
                    )));
                }
            }
        }
    }
    let harm = |p: f64, q: f64| 2.0 * p * q / (p + q);
    assemble3d(m, |i, j, l| {
        let (i, j, l) = (i as isize, j as isize, l as isize);
        let c = coef(i, j, l);
        let f = [
            harm(c, coef(i, j, l - 1)),
            harm(c, coef(i, j, l + 1)),
            harm(c, coef(i, j - 1, l)),
            harm(c, coef(i, j + 1, l)),
            harm(c, coef(i - 1, j, l)),
            harm(c, coef(i + 1, j, l)),
        ];
        [f.iter().sum(), -f[0], -f[1], -f[2], -f[3], -f[4], -f[5]]
    })
}

/// Darcy flow `−∇·(a∇u) = f`, `u = 0` on the boundary, on the `m³` interior
/// grid, with `a = coefficient(field)` given at the grid points (`m³` values,
/// `l` fastest, e.g. a [`super::GaussianRandomField3d`] sample); boundary faces
/// take the coefficient of their interior point. Harmonic-mean faces, scaled
/// by `h²` (so `f = 1` is the right-hand side `h²·1`): SPD.
pub fn darcy3d(m: usize, field: &[f64], coefficient: DarcyCoefficient) -> Result<CsrMatrix> {
    check_field(m, "Darcy field", field.len())?;
    let a: Vec<f64> = field.iter().map(|&g| coefficient.apply(g)).collect();
    let clamp = |k: isize| k.clamp(0, m as isize - 1) as usize;
    diffusion_from3(m, |i, j, l| a[(clamp(i) * m + clamp(j)) * m + clamp(l)])
}

/// `−εΔu + v·∇u` with a velocity field `(vx, vy, vz)` given at the grid points
/// (`m³` values each, `l` fastest) and first-order upwind convection, scaled by
/// `h²`: nonsymmetric, an M-matrix (weakly diagonally dominant by rows) for any
/// `ε > 0`.
pub fn convection_diffusion3d_field(
    m: usize,
    eps: f64,
    vx: &[f64],
    vy: &[f64],
    vz: &[f64],
) -> Result<CsrMatrix> {
    check_grid3(m)?;
    for (name, v) in [("vx", vx), ("vy", vy), ("vz", vz)] {
        check_field(m, &format!("velocity component {name}"), v.len())?;
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(ProblemError::Invalid(format!(
                "velocity value {k} of {name} is not finite"
            )));
        }
    }
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(ProblemError::Invalid(format!(
            "convection–diffusion needs ε > 0, found {eps}"
        )));
    }
    let h = 1.0 / (m as f64 + 1.0);
    assemble3d(m, |i, j, l| {
        let k = (i * m + j) * m + l;
        // upwind: a positive component draws from the neighbour behind it
        let up = |v: f64| (v.max(0.0) * h, (-v).max(0.0) * h);
        let (xm, xp) = up(vx[k]);
        let (ym, yp) = up(vy[k]);
        let (zm, zp) = up(vz[k]);
        [
            6.0 * eps + xm + xp + ym + yp + zm + zp,
            -eps - xm,
            -eps - xp,
            -eps - ym,
            -eps - yp,
            -eps - zm,
            -eps - zp,
        ]
    })
}

/// The divergence-free velocity `v = ∇ × A` of a periodic vector potential
/// `A = (ax, ay, az)` on an `m³` grid (`l` fastest; central differences,
/// wrapping around), scaled so that the largest speed `|v|` is `speed`.
/// Returns `[vx, vy, vz]`. The central divergence of the result vanishes on the
/// periodic grid (central differences commute).
pub fn velocity_from_vector_potential(
    m: usize,
    ax: &[f64],
    ay: &[f64],
    az: &[f64],
    speed: f64,
) -> Result<[Vec<f64>; 3]> {
    for (name, a) in [("ax", ax), ("ay", ay), ("az", az)] {
        check_field(m, &format!("vector potential {name}"), a.len())?;
    }
    let n = m * m * m;
    let idx = |i: usize, j: usize, l: usize| ((i % m) * m + (j % m)) * m + (l % m);
    // central differences along x (l), y (j), z (i), without the 1/h (the speed is rescaled)
    let dx = |f: &[f64], i, j, l| 0.5 * (f[idx(i, j, l + 1)] - f[idx(i, j, l + m - 1)]);
    let dy = |f: &[f64], i, j, l| 0.5 * (f[idx(i, j + 1, l)] - f[idx(i, j + m - 1, l)]);
    let dz = |f: &[f64], i, j, l| 0.5 * (f[idx(i + 1, j, l)] - f[idx(i + m - 1, j, l)]);
    let mut v = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    for i in 0..m {
        for j in 0..m {
            for l in 0..m {
                let k = idx(i, j, l);
                v[0][k] = dy(az, i, j, l) - dz(ay, i, j, l);
                v[1][k] = dz(ax, i, j, l) - dx(az, i, j, l);
                v[2][k] = dx(ay, i, j, l) - dy(ax, i, j, l);
            }
        }
    }
    let vmax = (0..n)
        .map(|k| (v[0][k].powi(2) + v[1][k].powi(2) + v[2][k].powi(2)).sqrt())
        .fold(0.0, f64::max);
    if vmax > 0.0 {
        let s = speed / vmax;
        v.iter_mut().flatten().for_each(|x| *x *= s);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generators::{GaussianRandomField3d, GrfParams};
    use std::f64::consts::PI;

    fn matvec(a: &CsrMatrix, x: &[f64]) -> Vec<f64> {
        (0..a.nrows())
            .map(|r| {
                let (cols, vals) = a.row(r);
                cols.iter().zip(vals).map(|(&c, &v)| v * x[c as usize]).sum()
            })
            .collect()
    }

    /// `sin(pπx) sin(qπy) sin(rπz)` at the interior points.
    fn mode(m: usize, p: f64, q: f64, r: f64) -> Vec<f64> {
        let h = 1.0 / (m as f64 + 1.0);
        let mut u = Vec::with_capacity(m * m * m);
        for i in 0..m {
            for j in 0..m {
                for l in 0..m {
                    let (x, y, z) = ((l + 1) as f64 * h, (j + 1) as f64 * h, (i + 1) as f64 * h);
                    u.push((p * PI * x).sin() * (q * PI * y).sin() * (r * PI * z).sin());
                }
            }
        }
        u
    }

    #[test]
    fn poisson3d_has_the_7_point_structure_and_the_known_eigenvectors() {
        let m = 5;
        let a = poisson3d(m).unwrap();
        let n = m * m * m;
        assert_eq!(a.nrows(), n);
        // 7 per row less one per boundary side: 6 sides of m² points each
        assert_eq!(a.nnz(), 7 * n - 6 * m * m);
        assert!(a.is_symmetric(0.0));
        for r in 0..n {
            let (cols, _) = a.row(r);
            assert!(cols.windows(2).all(|w| w[0] < w[1]), "row {r} sorted");
        }
        let centre = (2 * m + 2) * m + 2;
        assert_eq!(a.get(centre, centre), 6.0);
        for off in [1, m, m * m] {
            assert_eq!(a.get(centre, centre + off), -1.0);
            assert_eq!(a.get(centre, centre - off), -1.0);
        }
        let (_, v) = a.row(centre);
        assert_eq!(v.iter().sum::<f64>(), 0.0);
        // the discrete sine modes are eigenvectors, eigenvalue Σ 2 − 2cos(pπh); the
        // orientation matters: p runs along x = l, r along z = i
        let h = 1.0 / (m as f64 + 1.0);
        let lam = |p: f64| 2.0 - 2.0 * (p * PI * h).cos();
        for (p, q, r) in [(1.0, 1.0, 1.0), (1.0, 2.0, 3.0), (4.0, 1.0, 2.0)] {
            let u = mode(m, p, q, r);
            let au = matvec(&a, &u);
            let e = lam(p) + lam(q) + lam(r);
            for (x, y) in au.iter().zip(&u) {
                assert!((x - e * y).abs() < 1e-12, "mode ({p},{q},{r})");
            }
        }
        assert!(poisson3d(0).is_err());
        assert!(poisson3d(2000).is_err(), "too large for u32 indices");
    }

    #[test]
    fn poisson3d_solutions_converge_at_second_order() {
        // −Δu = 3π² u for u = sin(πx)sin(πy)sin(πz); the solution error falls ≈ 4x per halving of h
        let err = |m: usize| {
            let a = poisson3d(m).unwrap();
            let h = 1.0 / (m as f64 + 1.0);
            let u = mode(m, 1.0, 1.0, 1.0);
            let b: Vec<f64> = u.iter().map(|v| 3.0 * PI * PI * v * h * h).collect();
            let lu =
                solvent_linalg::direct::DirectSolver::new(&a, solvent_linalg::direct::DirectKind::Cholesky)
                    .unwrap();
            let mut x = vec![0.0; b.len()];
            lu.solve(&b, &mut x).unwrap();
            x.iter().zip(&u).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
        };
        let (e1, e2) = (err(7), err(15));
        assert!(
            e1 < 0.05 && e2 < e1 / 3.5,
            "errors {e1:.2e} (h = 1/8), {e2:.2e} (h = 1/16)"
        );
    }

    #[test]
    fn darcy3d_reduces_to_poisson_and_uses_harmonic_faces() {
        let m = 4;
        let p = poisson3d(m).unwrap();
        let d = darcy3d(m, &vec![0.0; m * m * m], DarcyCoefficient::LogNormal).unwrap();
        assert_eq!(d.values(), p.values(), "a = exp(0) = 1 is the Laplacian exactly");
        assert_eq!(d.col_idx(), p.col_idx());
        assert_eq!(diffusion3d(m, |_, _, _| 1.0).unwrap().values(), p.values());
        let g: Vec<f64> = (0..m * m * m).map(|k| ((k * 7) % 5) as f64 * 0.5 - 1.0).collect();
        let a = darcy3d(m, &g, DarcyCoefficient::LogNormal).unwrap();
        assert!(a.is_symmetric(1e-15));
        let c = |i: usize, j: usize, l: usize| g[(i * m + j) * m + l].exp();
        let hm = |p: f64, q: f64| 2.0 * p * q / (p + q);
        let k = (m + 2) * m + 1; // (1, 2, 1)
        assert!((a.get(k, k + 1) + hm(c(1, 2, 1), c(1, 2, 2))).abs() < 1e-14);
        assert!((a.get(k, k - m) + hm(c(1, 2, 1), c(1, 1, 1))).abs() < 1e-14);
        assert!((a.get(k, k + m * m) + hm(c(1, 2, 1), c(2, 2, 1))).abs() < 1e-14);
        // corner: three boundary faces of weight a_000
        let (_, v) = a.row(0);
        assert!((v.iter().sum::<f64>() - 3.0 * c(0, 0, 0)).abs() < 1e-12);
        let ch = solvent_linalg::direct::DirectSolver::new(&a, solvent_linalg::direct::DirectKind::Cholesky);
        assert!(ch.is_ok(), "SPD");
        assert!(darcy3d(m, &g[1..], DarcyCoefficient::LogNormal).is_err());
        assert!(diffusion3d(3, |x, _, _| x - 0.5).is_err());
    }

    #[test]
    fn shifted_laplacian3d_is_symmetric_with_the_shifted_diagonal() {
        let m = 6;
        let h = 1.0 / 7.0;
        let a = shifted_laplacian3d(m, 150.0).unwrap();
        assert!(a.is_symmetric(0.0));
        assert!((a.get(10, 10) - (6.0 - 150.0 * h * h)).abs() < 1e-15);
        // 150 lies between 3π²·(1+1+1) and the largest discrete eigenvalue: indefinite
        let lam_min = 3.0 * (2.0 - 2.0 * (PI * h).cos());
        assert!(150.0 * h * h > lam_min && 150.0 * h * h < 12.0);
    }

    #[test]
    fn the_curl_velocity_is_discretely_divergence_free() {
        let m = 10;
        let grf = GaussianRandomField3d::new(m, GrfParams::default(), 4).unwrap();
        let (ax, ay, az) = (grf.sample(0), grf.sample(1), grf.sample(2));
        let [vx, vy, vz] = velocity_from_vector_potential(m, &ax, &ay, &az, 2.0).unwrap();
        let speed = |k: usize| (vx[k].powi(2) + vy[k].powi(2) + vz[k].powi(2)).sqrt();
        let vmax = (0..m * m * m).map(speed).fold(0.0, f64::max);
        assert!((vmax - 2.0).abs() < 1e-12);
        let idx = |i: usize, j: usize, l: usize| ((i % m) * m + (j % m)) * m + (l % m);
        let mut worst = 0.0f64;
        for i in 0..m {
            for j in 0..m {
                for l in 0..m {
                    let div = (vx[idx(i, j, l + 1)] - vx[idx(i, j, l + m - 1)])
                        + (vy[idx(i, j + 1, l)] - vy[idx(i, j + m - 1, l)])
                        + (vz[idx(i + 1, j, l)] - vz[idx(i + m - 1, j, l)]);
                    worst = worst.max(div.abs());
                }
            }
        }
        assert!(worst < 1e-12, "divergence {worst}");
        // and not trivially: the one-sided (forward) divergence is not zero
        let fwd: f64 = (0..m * m * m)
            .map(|k| {
                let (i, j, l) = (k / (m * m), (k / m) % m, k % m);
                (vx[idx(i, j, l + 1)] - vx[k] + vy[idx(i, j + 1, l)] - vy[k] + vz[idx(i + 1, j, l)] - vz[k])
                    .abs()
            })
            .fold(0.0, f64::max);
        assert!(fwd > 1e-3);
        assert!(velocity_from_vector_potential(m, &ax[1..], &ay, &az, 1.0).is_err());
    }

    #[test]
    fn convection_diffusion3d_is_upwind_nonsymmetric_and_diagonally_dominant() {
        let m = 6;
        let n = m * m * m;
        let grf = GaussianRandomField3d::new(m, GrfParams::default(), 1).unwrap();
        let (ax, ay, az) = (grf.sample(0), grf.sample(1), grf.sample(2));
        let [vx, vy, vz] = velocity_from_vector_potential(m, &ax, &ay, &az, 1.0).unwrap();
        let a = convection_diffusion3d_field(m, 0.01, &vx, &vy, &vz).unwrap();
        assert!(!a.is_symmetric(1e-12));
        let mut strict = 0;
        for r in 0..n {
            let (cols, vals) = a.row(r);
            let mut off = 0.0;
            let mut diag = 0.0;
            for (&c, &v) in cols.iter().zip(vals) {
                if c as usize == r {
                    diag = v;
                } else {
                    assert!(v <= 0.0, "upwind off-diagonals are non-positive");
                    off += v.abs();
                }
            }
            assert!(diag > 0.0 && diag >= off - 1e-15, "row {r}: {diag} vs {off}");
            strict += usize::from(diag > off + 1e-12);
        }
        assert!(strict > 0, "boundary rows are strictly dominant");
        // a constant velocity along +x: the row draws from the −x neighbour only
        let h = 1.0 / (m as f64 + 1.0);
        let c = convection_diffusion3d_field(m, 0.1, &vec![1.0; n], &vec![0.0; n], &vec![0.0; n]).unwrap();
        let k = (2 * m + 2) * m + 2;
        assert!((c.get(k, k - 1) - (-0.1 - h)).abs() < 1e-15);
        assert!((c.get(k, k + 1) + 0.1).abs() < 1e-15);
        assert!((c.get(k, k) - (0.6 + h)).abs() < 1e-15);
        assert!(convection_diffusion3d_field(m, 0.0, &vx, &vy, &vz).is_err());
        let mut bad = vx.clone();
        bad[3] = f64::NAN;
        assert!(convection_diffusion3d_field(m, 0.01, &bad, &vy, &vz).is_err());
        assert!(convection_diffusion3d_field(m, 0.01, &vx[1..], &vy, &vz).is_err());
    }
}
